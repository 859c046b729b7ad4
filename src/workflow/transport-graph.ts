import type { NodeKind } from '../protocol/messages';
import type { ExecutorSpec } from './executor-spec';
import type { Lattice } from './lattice';
import type { Duration } from './duration';

export type { ExecutorSpec } from './executor-spec';

/** One task of a workflow, as the lattice function created it. */
export interface GraphNode {
  /** Integer id, in the order the lattice function created the nodes. */
  id: number;
  name: string;
  kind: NodeKind;
  /** The electron's function (kept for the inline executor) and its source (sent elsewhere). */
  fn?: (...args: any[]) => unknown;
  source?: string;
  /** For a sublattice node: the lattice it expands to. */
  lattice?: Lattice<any>;
  executor: ExecutorSpec | undefined;
  /** The electron's time limit as written (checked at dispatch). */
  timeLimit?: Duration;
  /** false: never reused by a redispatch. */
  reuse?: boolean;
  /** Arguments as written, with NodeOutput placeholders where outputs flow in. */
  args: unknown[];
  /** Unique ids of upstream nodes, in first-use order. */
  dependsOn: number[];
}

/**
 * The transport graph: the tasks of one dispatch and their data
 * dependencies, plus the lattice's return value as a template over outputs.
 */
export class TransportGraph {
  readonly nodes: GraphNode[] = [];
  returnTemplate: unknown = undefined;

  constructor(readonly graphId: number) {}

  addNode(node: Omit<GraphNode, 'id'>): GraphNode {
    const full: GraphNode = { ...node, id: this.nodes.length };
    this.nodes.push(full);
    return full;
  }

  /** Ids of every node downstream of `ids` (not including them). */
  downstreamOf(ids: Iterable<number>): Set<number> {
    const dependents = this.dependents();
    const out = new Set<number>();
    const stack = [...ids];
    while (stack.length) {
      const id = stack.pop()!;
      for (const d of dependents[id] ?? []) {
        if (!out.has(d)) {
          out.add(d);
          stack.push(d);
        }
      }
    }
    return out;
  }

  private dependentsCache: number[][] | undefined;
  dependents(): number[][] {
    if (!this.dependentsCache || this.dependentsCache.length !== this.nodes.length) {
      const deps: number[][] = this.nodes.map(() => []);
      for (const n of this.nodes) for (const u of n.dependsOn) deps[u].push(n.id);
      this.dependentsCache = deps;
    }
    return this.dependentsCache;
  }
}
