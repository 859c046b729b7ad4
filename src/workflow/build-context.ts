import { TransportGraph } from './transport-graph';

/**
 * While a lattice function runs to build its graph, electron calls add nodes
 * to the graph on top of this stack instead of running. Kept process-wide so
 * electrons from another copy of the library (a notebook cell's) join the
 * graph the kernel's copy is building.
 */
const STACK_KEY = Symbol.for('covalent-ts.buildStack');
const COUNTER_KEY = Symbol.for('covalent-ts.graphCounter');

function stack(): TransportGraph[] {
  const g = globalThis as any;
  if (!g[STACK_KEY]) g[STACK_KEY] = [];
  return g[STACK_KEY];
}

export function currentGraph(): TransportGraph | undefined {
  const s = stack();
  return s[s.length - 1];
}

/** An empty graph with an id of its own (outputs of different graphs never mix). */
export function newGraph(): TransportGraph {
  const g = globalThis as any;
  g[COUNTER_KEY] = (g[COUNTER_KEY] ?? 0) + 1;
  return new TransportGraph(g[COUNTER_KEY]);
}

/** Run `build` with a fresh graph on the stack; the lattice function must be synchronous. */
export function withNewGraph<T>(build: (graph: TransportGraph) => T): { graph: TransportGraph; value: T } {
  const graph = newGraph();
  const s = stack();
  s.push(graph);
  try {
    return { graph, value: build(graph) };
  } finally {
    s.pop();
  }
}
