import { Downstream } from '../../labextension/src/graph/downstream';
import { REACH_MAX_NODES } from '../../labextension/src/graph/reachability';
import type { NodeView } from 'covalent-ts-protocol';
import { node } from './support/fake-kernel';

/** A chain 0 -> 1 -> ... -> n-1, all RUNNING. */
function chain(n: number): Map<number, NodeView> {
  const nodes = new Map<number, NodeView>();
  for (let i = 0; i < n; i++) nodes.set(i, node(i, { status: 'RUNNING', dependsOn: i > 0 ? [i - 1] : [] }));
  return nodes;
}

describe('Downstream (what cancelling a node also stops)', () => {
  it.each([
    ['small graph (bit sets)', 10],
    ['graph too large for the bit sets (walk)', REACH_MAX_NODES + 10]
  ])('%s: only unfinished tasks downstream, following status changes', (_name, n) => {
    const nodes = chain(n);
    const d = new Downstream();
    d.rebuild([...nodes.values()], id => nodes.get(id));
    expect(d.unfinished(n - 3)).toEqual([n - 2, n - 1]);
    const finished = { ...nodes.get(n - 1)!, status: 'COMPLETED' as const };
    nodes.set(n - 1, finished);
    d.update(finished);
    expect(d.unfinished(n - 3)).toEqual([n - 2]);
    expect(d.count(nodes.get(n - 3)!, true)).toBe(1);
    // A finished node stops nothing.
    expect(d.count(finished, true)).toBe(0);
  });

  it('says "not known" (-1) for a large graph unless asked to walk', () => {
    const nodes = chain(REACH_MAX_NODES + 10);
    const d = new Downstream();
    d.rebuild([...nodes.values()], id => nodes.get(id));
    expect(d.count(nodes.get(0)!, false)).toBe(-1);
    expect(d.count(nodes.get(0)!, true)).toBe(REACH_MAX_NODES + 9);
  });
});
