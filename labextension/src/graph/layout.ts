import dagre from '@dagrejs/dagre';

export const NODE_WIDTH = 200;
export const NODE_HEIGHT = 84;
const NODE_SEP = 24;
const RANK_SEP = 48;
const MARGIN = 16;

/**
 * Above this many nodes dagre's crossing minimisation and Brandes-Köpf placement
 * take longer than a second on a 2-core machine (measured: 1.3-36 s for 1,000
 * nodes depending on shape), so larger graphs get a linear-time layered layout
 * (longest-path ranks, one barycentre sweep) that keeps the first render fast.
 */
export const DAGRE_MAX_NODES = 300;

export interface LayoutInput {
  id: number;
  dependsOn: number[];
}
export interface Point {
  x: number;
  y: number;
}
/** Top-left corner of a node's box. */
export interface NodeBox extends Point {
  id: number;
}
export interface EdgeRoute {
  from: number;
  to: number;
  points: Point[];
}
export interface GraphLayout {
  boxes: Map<number, NodeBox>;
  edges: EdgeRoute[];
  width: number;
  height: number;
  engine: 'dagre' | 'layered';
}

/** Lay out a dispatch's DAG top to bottom: dependencies above their dependents. */
export function layoutGraph(nodes: LayoutInput[]): GraphLayout {
  return nodes.length <= DAGRE_MAX_NODES ? dagreLayout(nodes) : layeredLayout(nodes);
}

function knownEdges(nodes: LayoutInput[]): Array<[number, number]> {
  const ids = new Set(nodes.map(n => n.id));
  const edges: Array<[number, number]> = [];
  for (const n of nodes) {
    for (const d of n.dependsOn) {
      if (ids.has(d) && d !== n.id) {
        edges.push([d, n.id]);
      }
    }
  }
  return edges;
}

function dagreLayout(nodes: LayoutInput[]): GraphLayout {
  const g = new dagre.graphlib.Graph({ multigraph: false });
  g.setGraph({ rankdir: 'TB', nodesep: NODE_SEP, ranksep: RANK_SEP, marginx: MARGIN, marginy: MARGIN });
  g.setDefaultEdgeLabel(() => ({}));
  for (const n of nodes) {
    g.setNode(String(n.id), { width: NODE_WIDTH, height: NODE_HEIGHT });
  }
  const edges = knownEdges(nodes);
  for (const [a, b] of edges) {
    g.setEdge(String(a), String(b));
  }
  dagre.layout(g);
  const boxes = new Map<number, NodeBox>();
  for (const n of nodes) {
    const p = g.node(String(n.id)) as { x: number; y: number };
    boxes.set(n.id, { id: n.id, x: p.x - NODE_WIDTH / 2, y: p.y - NODE_HEIGHT / 2 });
  }
  const moved = orderRanks(nodes, boxes);
  const routes: EdgeRoute[] = edges.map(([a, b]) => {
    const e = g.edge(String(a), String(b)) as { points?: Point[] } | undefined;
    // dagre's route is kept only while both ends sit where dagre put them.
    const keep = e?.points && !moved.has(a) && !moved.has(b);
    return { from: a, to: b, points: keep ? e!.points!.map(p => ({ x: p.x, y: p.y })) : straight(boxes, a, b) };
  });
  const graph = g.graph() as { width?: number; height?: number };
  return {
    boxes,
    edges: routes,
    width: Math.max(graph.width ?? 0, NODE_WIDTH + 2 * MARGIN),
    height: Math.max(graph.height ?? 0, NODE_HEIGHT + 2 * MARGIN),
    engine: 'dagre'
  };
}

/**
 * Reading order within each rank: dagre's crossing minimisation leaves ties in
 * an arbitrary order (siblings came out right to left). Rank by rank, top down,
 * the rank's x positions are handed out again by the mean x of each node's
 * parents, then by node id, so siblings read left to right in id order and
 * children stay under their parents. Returns the ids that moved.
 */
function orderRanks(nodes: LayoutInput[], boxes: Map<number, NodeBox>): Set<number> {
  const ranks = new Map<number, number[]>();
  for (const n of nodes) {
    const y = Math.round(boxes.get(n.id)!.y);
    (ranks.get(y) ?? ranks.set(y, []).get(y)!).push(n.id);
  }
  const byId = new Map(nodes.map(n => [n.id, n]));
  const moved = new Set<number>();
  for (const y of [...ranks.keys()].sort((a, b) => a - b)) {
    const ids = ranks.get(y)!;
    const slots = ids.map(id => boxes.get(id)!.x).sort((a, b) => a - b);
    const parentX = (id: number): number => {
      const xs = byId.get(id)!.dependsOn.filter(d => boxes.has(d) && d !== id).map(d => boxes.get(d)!.x);
      return xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : -Infinity;
    };
    const keyed = ids.map(id => ({ id, px: parentX(id) }));
    keyed.sort((a, b) => a.px - b.px || a.id - b.id);
    keyed.forEach(({ id }, i) => {
      const box = boxes.get(id)!;
      if (box.x !== slots[i]) {
        box.x = slots[i];
        moved.add(id);
      }
    });
  }
  return moved;
}

function straight(boxes: Map<number, NodeBox>, a: number, b: number): Point[] {
  const pa = boxes.get(a)!;
  const pb = boxes.get(b)!;
  return [
    { x: pa.x + NODE_WIDTH / 2, y: pa.y + NODE_HEIGHT },
    { x: pb.x + NODE_WIDTH / 2, y: pb.y }
  ];
}

function layeredLayout(nodes: LayoutInput[]): GraphLayout {
  const byId = new Map(nodes.map(n => [n.id, n]));
  const rank = new Map<number, number>();
  // Iterative longest-path ranking; a cycle (which a DAG never has) is cut.
  const visiting = new Set<number>();
  const rankOf = (start: number): number => {
    const stack: number[] = [start];
    while (stack.length) {
      const id = stack[stack.length - 1];
      if (rank.has(id)) {
        stack.pop();
        continue;
      }
      visiting.add(id);
      const deps = (byId.get(id)?.dependsOn ?? []).filter(d => byId.has(d) && !rank.has(d) && !visiting.has(d));
      if (deps.length) {
        stack.push(...deps);
        continue;
      }
      let r = 0;
      for (const d of byId.get(id)?.dependsOn ?? []) {
        const rd = rank.get(d);
        if (rd !== undefined) {
          r = Math.max(r, rd + 1);
        }
      }
      rank.set(id, r);
      visiting.delete(id);
      stack.pop();
    }
    return rank.get(start)!;
  };
  const layers: number[][] = [];
  for (const n of nodes) {
    const r = rankOf(n.id);
    (layers[r] ??= []).push(n.id);
  }
  // One top-down barycentre sweep keeps children near their parents.
  const pos = new Map<number, number>();
  layers.forEach((layer, r) => {
    if (r > 0) {
      const bary = new Map<number, number>();
      for (const id of layer) {
        const ps = (byId.get(id)?.dependsOn ?? []).map(d => pos.get(d)).filter((p): p is number => p !== undefined);
        bary.set(id, ps.length ? ps.reduce((a, b) => a + b, 0) / ps.length : Number.MAX_SAFE_INTEGER);
      }
      layer.sort((a, b) => bary.get(a)! - bary.get(b)! || a - b);
    }
    layer.forEach((id, i) => pos.set(id, i / Math.max(1, layer.length - 1)));
  });
  const widest = Math.max(1, ...layers.map(l => l?.length ?? 0));
  const width = widest * (NODE_WIDTH + NODE_SEP) - NODE_SEP + 2 * MARGIN;
  const boxes = new Map<number, NodeBox>();
  layers.forEach((layer, r) => {
    const rowWidth = layer.length * (NODE_WIDTH + NODE_SEP) - NODE_SEP;
    const x0 = MARGIN + (width - 2 * MARGIN - rowWidth) / 2;
    layer.forEach((id, i) => {
      boxes.set(id, { id, x: x0 + i * (NODE_WIDTH + NODE_SEP), y: MARGIN + r * (NODE_HEIGHT + RANK_SEP) });
    });
  });
  const edges = knownEdges(nodes).map(([a, b]) => ({ from: a, to: b, points: straight(boxes, a, b) }));
  return {
    boxes,
    edges,
    width,
    height: layers.length * (NODE_HEIGHT + RANK_SEP) - RANK_SEP + 2 * MARGIN,
    engine: 'layered'
  };
}
