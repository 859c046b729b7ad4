import { DAGRE_MAX_NODES, layoutGraph, NODE_HEIGHT } from '../../labextension/src/graph/layout';

function chainOfLayers(n: number, width: number) {
  const nodes = [];
  for (let i = 0; i < n; i++) {
    nodes.push({ id: i, dependsOn: i >= width ? [i - width, i - width + ((i + 1) % width === 0 ? 0 : 1)] : [] });
  }
  return nodes;
}

describe('layoutGraph', () => {
  it('uses dagre for ordinary graphs and routes every edge', () => {
    const layout = layoutGraph(chainOfLayers(20, 4));
    expect(layout.engine).toBe('dagre');
    expect(layout.edges).toHaveLength(32);
    for (const e of layout.edges) {
      expect(layout.boxes.get(e.from)!.y + NODE_HEIGHT).toBeLessThanOrEqual(layout.boxes.get(e.to)!.y);
    }
  });

  it('lays out a 1,000-node graph in layers, fast, with no overlapping nodes', () => {
    const started = performance.now();
    const layout = layoutGraph(chainOfLayers(1000, 50));
    const took = performance.now() - started;
    expect(layout.engine).toBe('layered');
    expect(DAGRE_MAX_NODES).toBeLessThan(1000);
    expect(took).toBeLessThan(500);
    const seen = new Set<string>();
    for (const b of layout.boxes.values()) {
      const key = `${Math.round(b.x)},${Math.round(b.y)}`;
      expect(seen.has(key)).toBe(false);
      seen.add(key);
    }
    for (const e of layout.edges) {
      expect(layout.boxes.get(e.from)!.y).toBeLessThan(layout.boxes.get(e.to)!.y);
    }
  });

  it('draws siblings left to right in node-id order, under their parent', () => {
    const fan = [{ id: 0, dependsOn: [] }, ...[1, 2, 3, 4].map(id => ({ id, dependsOn: [0] })), { id: 5, dependsOn: [1, 2, 3, 4] }];
    for (const layout of [layoutGraph(fan)]) {
      const xs = [1, 2, 3, 4].map(id => layout.boxes.get(id)!.x);
      expect([...xs].sort((a, b) => a - b)).toEqual(xs);
      expect(new Set(xs).size).toBe(4);
    }
    // Two families side by side keep to their parents and, within each, to id order.
    const two = [
      { id: 0, dependsOn: [] },
      { id: 1, dependsOn: [] },
      { id: 2, dependsOn: [0] },
      { id: 3, dependsOn: [0] },
      { id: 4, dependsOn: [1] },
      { id: 5, dependsOn: [1] }
    ];
    const l = layoutGraph(two);
    const x = (id: number) => l.boxes.get(id)!.x;
    expect(x(0)).toBeLessThan(x(1));
    expect([x(2), x(3), x(4), x(5)]).toEqual([x(2), x(3), x(4), x(5)].sort((a, b) => a - b));
  });

  it('ignores dependencies on nodes it was not given', () => {
    const layout = layoutGraph([{ id: 1, dependsOn: [99] }]);
    expect(layout.edges).toHaveLength(0);
    expect(layout.boxes.get(1)).toBeDefined();
  });
});
