import * as v8 from 'node:v8';
import type { ExecutorConfig } from '../executors/executor';
import type { NodeKind } from '../protocol/messages';
import type { NodeRow } from '../store/schema';
import { newGraph } from '../workflow/build-context';
import type { Duration } from '../workflow/duration';
import type { LatticeOptions } from '../workflow/lattice';
import { NodeOutput, outputsAsRefs, refsAsOutputs } from '../workflow/node-output';
import { jsonExact } from '../workflow/json-exact';
import { findUnserializable } from '../workflow/serializable';
import type { TransportGraph } from '../workflow/transport-graph';

/**
 * A dispatch's workflow as the store keeps it, so that `ct.redispatch` can
 * rebuild the transport graph without the lattice (after a kernel restart,
 * in another process): what the node rows do not hold already (their names,
 * kinds, edges and executor configurations). Electrons' sources are
 * self-contained (checked at dispatch), so they are enough to run them again.
 */
export interface StoredWorkflow {
  v: 1;
  /** The lattice's options that are not in the graph (its executor is already on every node). */
  taskPacking: boolean;
  timeLimit: Duration | null;
  /** Distinct function sources; `source[i]` points into it (-1: a sublattice). */
  sources: string[];
  source: number[];
  /**
   * Per node: its arguments, upstream outputs as `{ [OUTPUT_REF]: id }`. As
   * one JSON text (much cheaper than V8's serializer for 100,000 nodes) where
   * JSON says them exactly, else 0 and `otherArgs` has them: `[nodeId, args]`,
   * args null when they could not be stored.
   */
  argsJson: string;
  otherArgs: Array<[number, unknown[] | null]>;
  timeLimits: Array<Duration | null>;
  reuse: Array<boolean | null>;
  /** Per sublattice node: the name of the lattice it expands (null for electrons). */
  sublattice: Array<string | null>;
  /** The lattice's return value, outputs as refs; null when it could not be stored. */
  returns: { value: unknown } | null;
}

/** What a workflow rebuilt from the store lacks, per node, to run again. */
export interface RebuiltGraph {
  graph: TransportGraph;
  /** Nodes whose arguments were not stored (a function or class instance passed to an inline task). */
  argsMissing: Set<number>;
  taskPacking: boolean;
  timeLimit: Duration | undefined;
  /** Per node: the sublattice's lattice name, or null. */
  sublattice: Array<string | null>;
}

const storable = (v: unknown) => jsonExact(v) || findUnserializable(v) === null;

/** Encode a freshly built graph (null when it cannot be stored at all). */
export function encodeWorkflow(graph: TransportGraph, lattice: Readonly<Pick<LatticeOptions, 'taskPacking' | 'timeLimit'>>): Uint8Array | null {
  const sourceIndex = new Map<string, number>();
  const w: StoredWorkflow = {
    v: 1, taskPacking: lattice.taskPacking === true, timeLimit: lattice.timeLimit ?? null,
    sources: [], source: [], argsJson: '', otherArgs: [], timeLimits: [], reuse: [], sublattice: [], returns: null,
  };
  const jsonArgs: Array<unknown[] | 0> = [];
  for (const n of graph.nodes) {
    let s = -1;
    if (n.source !== undefined) {
      s = sourceIndex.get(n.source) ?? -1;
      if (s < 0) sourceIndex.set(n.source, (s = w.sources.push(n.source) - 1));
    }
    w.source.push(s);
    const args = n.args.length ? (outputsAsRefs(n.args) as unknown[]) : n.args;
    if (jsonExact(args)) {
      jsonArgs.push(args);
    } else {
      jsonArgs.push(0);
      w.otherArgs.push([n.id, storable(args) ? args : null]);
    }
    w.timeLimits.push(n.timeLimit ?? null);
    w.reuse.push(typeof n.reuse === 'boolean' ? n.reuse : null);
    w.sublattice.push(n.kind === 'sublattice' ? (n.lattice?.name ?? n.name) : null);
  }
  w.argsJson = JSON.stringify(jsonArgs);
  const returns = outputsAsRefs(graph.returnTemplate);
  if (storable(returns)) w.returns = { value: returns };
  try {
    return v8.serialize(w);
  } catch {
    return null;
  }
}

function decodeWorkflow(bytes: Uint8Array | null | undefined): StoredWorkflow | undefined {
  if (!bytes) return undefined;
  try {
    const w = v8.deserialize(bytes) as StoredWorkflow;
    return w && w.v === 1 && Array.isArray(w.source) ? w : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The transport graph again, from the stored workflow and the dispatch's
 * node rows; undefined when none was stored (an older covalent-ts) or they
 * do not match. Electrons carry their source, not a function; sublattice
 * nodes no lattice yet. Each call decodes afresh: graphs share nothing.
 */
export function graphFromStore(bytes: Uint8Array | null | undefined, rows: NodeRow[]): RebuiltGraph | undefined {
  const w = decodeWorkflow(bytes);
  if (!w || rows.length !== w.source.length || !w.returns || rows.some((r, i) => r.nodeId !== i)) return undefined;
  const graph = newGraph();
  const placeholder = (id: number) => new NodeOutput(graph.graphId, id, rows[id]?.name ?? `task ${id}`);
  // Nodes on one executor share its config object, as nodes of one electron share their spec.
  const configs = new Map<string, ExecutorConfig>();
  const configOf = (json: string | null): ExecutorConfig | string => {
    if (!json) return 'local';
    let c = configs.get(json);
    if (!c) configs.set(json, (c = JSON.parse(json) as ExecutorConfig));
    return c;
  };
  const argsMissing = new Set<number>();
  const jsonArgs = JSON.parse(w.argsJson) as Array<unknown[] | 0>;
  const otherArgs = new Map(w.otherArgs);
  for (const r of rows) {
    const i = r.nodeId;
    const json = jsonArgs[i];
    const args = json === 0 ? otherArgs.get(i) : json;
    if (!args) argsMissing.add(i);
    graph.addNode({
      name: r.name,
      kind: r.kind as NodeKind,
      source: w.source[i] >= 0 ? w.sources[w.source[i]] : undefined,
      executor: r.kind === 'electron' ? configOf(r.executorConfig) : undefined,
      timeLimit: w.timeLimits[i] ?? undefined,
      reuse: w.reuse[i] ?? undefined,
      args: args ? (refsAsOutputs(args, placeholder) as unknown[]) : [],
      dependsOn: r.dependsOn,
    });
  }
  graph.returnTemplate = refsAsOutputs(w.returns.value, placeholder);
  return { graph, argsMissing, taskPacking: w.taskPacking, timeLimit: w.timeLimit ?? undefined, sublattice: w.sublattice };
}
