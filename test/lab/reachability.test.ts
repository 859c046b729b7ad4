import { Reachability, REACH_MAX_NODES } from '../../labextension/src/graph/reachability';

/** Downstream sets by walking the graph: the reference the bit sets must agree with. */
function walk(parents: Map<number, number[]>, id: number): number[] {
  const children = new Map<number, number[]>();
  for (const [c, ps] of parents) for (const p of ps) children.set(p, [...(children.get(p) ?? []), c]);
  const seen = new Set<number>();
  const stack = [...(children.get(id) ?? [])];
  while (stack.length) {
    const n = stack.pop()!;
    if (!seen.has(n)) {
      seen.add(n);
      stack.push(...(children.get(n) ?? []));
    }
  }
  return [...seen].sort((a, b) => a - b);
}

describe('Reachability', () => {
  it('knows every node downstream of every other, across word boundaries', () => {
    // 100 nodes in layers of 10, each depending on two nodes of the layer above; ids not in topological order.
    const parents = new Map<number, number[]>();
    for (let i = 0; i < 100; i++) parents.set(i, i >= 10 ? [i - 10, i - 10 + ((i + 3) % 10 === 0 ? 0 : 1)] : []);
    const ids = [...parents.keys()].reverse();
    const r = Reachability.build(ids, id => parents.get(id)!)!;
    for (const id of ids) r.setCounted(id, true);
    for (const id of [0, 5, 31, 32, 63, 64, 95]) {
      expect(r.downstream(id)).toEqual(walk(parents, id));
      expect(r.countDownstream(id)).toBe(walk(parents, id).length);
    }
  });

  it('counts only the nodes marked (unfinished), and follows changes of the marks', () => {
    const parents = new Map([[0, []], [1, [0]], [2, [0]], [3, [1, 2]]] as Array<[number, number[]]>);
    const r = Reachability.build([0, 1, 2, 3], id => parents.get(id)!)!;
    for (const id of [1, 2, 3]) r.setCounted(id, true);
    expect(r.countDownstream(0)).toBe(3);
    expect(r.countDownstream(1)).toBe(1);
    r.setCounted(2, false);
    expect(r.downstream(0)).toEqual([1, 3]);
    expect(r.countDownstream(3)).toBe(0);
  });

  it('declines graphs too large for bit sets', () => {
    const ids = Array.from({ length: REACH_MAX_NODES + 1 }, (_, i) => i);
    expect(Reachability.build(ids, () => [])).toBeNull();
  });
});
