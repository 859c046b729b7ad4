import { isTerminal, type NodeView } from 'covalent-ts-protocol';
import { Reachability } from './reachability';

/**
 * What cancelling a node also stops: the tasks downstream of it that have not
 * finished (the cancel buttons' descriptions and the hover preview). Bit sets
 * answer in constant time up to REACH_MAX_NODES nodes; larger graphs walk the
 * dependents, and only on demand.
 */
export class Downstream {
  /** Rebuilds from the graph's nodes (after a layout). */
  rebuild(nodes: NodeView[], nodeOf: (id: number) => NodeView | undefined): void {
    this._nodeOf = nodeOf;
    this._children.clear();
    for (const n of nodes) {
      for (const d of n.dependsOn) {
        (this._children.get(d) ?? this._children.set(d, []).get(d)!).push(n.id);
      }
    }
    this._reach = Reachability.build(
      nodes.map(n => n.id),
      id => nodeOf(id)?.dependsOn ?? []
    );
    for (const n of nodes) {
      this._reach?.setCounted(n.id, !isTerminal(n.status));
    }
  }

  /** A node changed status: count it while it is unfinished. */
  update(n: NodeView): void {
    this._reach?.setCounted(n.id, !isTerminal(n.status));
  }

  /** The unfinished tasks downstream of `id`, in id order. */
  unfinished(id: number): number[] {
    if (this._reach) {
      return this._reach.downstream(id);
    }
    // A graph too large for the bit sets: walk it (only on hover or focus).
    const seen = new Set<number>();
    const stack = [...(this._children.get(id) ?? [])];
    while (stack.length) {
      const next = stack.pop()!;
      if (!seen.has(next) && next !== id) {
        seen.add(next);
        stack.push(...(this._children.get(next) ?? []));
      }
    }
    return [...seen]
      .filter(d => {
        const n = this._nodeOf(d);
        return !!n && !isTerminal(n.status);
      })
      .sort((a, b) => a - b);
  }

  /** How many unfinished tasks are downstream of `n`; -1 when not known without a walk (very large graphs). */
  count(n: NodeView, walk: boolean): number {
    if (isTerminal(n.status)) {
      return 0;
    }
    if (this._reach) {
      return this._reach.countDownstream(n.id);
    }
    return walk ? this.unfinished(n.id).length : -1;
  }

  /** Dependents of each node, from the last rebuild. */
  private _children = new Map<number, number[]>();
  /** Downstream sets of every node (null for very large graphs). */
  private _reach: Reachability | null = null;
  private _nodeOf: (id: number) => NodeView | undefined = () => undefined;
}
