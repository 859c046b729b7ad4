import * as v8 from 'node:v8';
import { ErrorCodes, InvalidInputError } from '../errors';
import type { NodeRow } from '../store/schema';
import { electronDefinition, type Electron } from '../workflow/electron';
import { Status } from '../workflow/status';
import type { GraphNode } from '../workflow/transport-graph';
import type { Duration } from '../workflow/duration';
import { parseLimitOptions, type DispatchLimitOptions } from './limits';

/** Options of `ct.redispatch(dispatchId, options)`. */
export interface RedispatchOptions {
  /** Swap tasks' functions by task name (same parameters): `{ train: ct.electron(betterTrain) }`. Those tasks and their downstream run. */
  replaceElectrons?: Record<string, Electron<any>>;
  /** Reuse tasks that COMPLETED before and are unchanged (default true); false runs everything again. */
  reuseCompleted?: boolean;
  /** Wall-clock limit of the new dispatch, as `ct.dispatch(wf, { timeLimit })` (overrides the lattice's). */
  timeLimit?: Duration;
  /** Most the new dispatch may cost, as `ct.dispatch(wf, { budget })` (reused tasks cost nothing). */
  budget?: number;
}

export interface ValidRedispatchOptions {
  replaceElectrons: Map<string, GraphNode['fn'] & object>;
  reuseCompleted: boolean;
  /** The new dispatch's own limits (only those given to ct.redispatch: the earlier dispatch's are not carried over). */
  limits: DispatchLimitOptions;
}

const OPTION_NAMES: ReadonlySet<string> = new Set(['replaceElectrons', 'reuseCompleted', 'timeLimit', 'budget']);

/** Check redispatch options before anything is built or run. */
export function parseRedispatchOptions(options: unknown): ValidRedispatchOptions {
  const bad = (why: string) =>
    new InvalidInputError(
      ErrorCodes.INVALID_ARGUMENT,
      `ct.redispatch: ${why}. Options look like { replaceElectrons: { taskName: ct.electron(fn) }, reuseCompleted: true, timeLimit: '2h', budget: 50 }.`,
    );
  if (options === undefined) return { replaceElectrons: new Map(), reuseCompleted: true, limits: parseLimitOptions({}, 'ct.redispatch') };
  if (options === null || typeof options !== 'object' || Array.isArray(options)) throw bad(`options must be an object, got ${options === null ? 'null' : typeof options}`);
  const o = options as Record<string, unknown>;
  const unknown = Object.keys(o).filter((k) => !OPTION_NAMES.has(k));
  if (unknown.length) throw bad(`unknown option${unknown.length > 1 ? 's' : ''} ${unknown.join(', ')}`);
  if (o.reuseCompleted !== undefined && typeof o.reuseCompleted !== 'boolean') throw bad(`reuseCompleted must be true or false, got ${JSON.stringify(o.reuseCompleted)}`);
  const replaceElectrons = new Map<string, any>();
  if (o.replaceElectrons !== undefined) {
    const r = o.replaceElectrons;
    if (r === null || typeof r !== 'object' || Array.isArray(r)) throw bad('replaceElectrons must be an object of task name -> electron');
    for (const [name, value] of Object.entries(r)) {
      const def = electronDefinition(value);
      if (!def || !def.fn) throw bad(`replaceElectrons.${name} must be an electron made with ct.electron(fn), got ${typeof value}`);
      replaceElectrons.set(name, value);
    }
  }
  return { replaceElectrons, reuseCompleted: o.reuseCompleted !== false, limits: parseLimitOptions(o, 'ct.redispatch') };
}

/**
 * Swap the functions of the named tasks in a freshly built graph; returns
 * the ids of the replaced nodes. A name the graph does not have is refused.
 */
export function replaceElectrons(nodes: GraphNode[], replacements: ValidRedispatchOptions['replaceElectrons'], dispatchId: string): Set<number> {
  const replaced = new Set<number>();
  for (const [name, electron] of replacements) {
    const def = electronDefinition(electron)!;
    const targets = nodes.filter((n) => n.kind === 'electron' && n.name === name);
    if (!targets.length) {
      const names = [...new Set(nodes.filter((n) => n.kind === 'electron').map((n) => n.name))];
      throw new InvalidInputError(
        ErrorCodes.UNKNOWN_TASK,
        `ct.redispatch: dispatch ${dispatchId} has no task named "${name}" to replace; its tasks are ${names.map((n) => `"${n}"`).join(', ')}. Nothing was dispatched.`,
        { details: { dispatchId, name } },
      );
    }
    for (const n of targets) {
      n.fn = def.fn;
      n.source = Function.prototype.toString.call(def.fn);
      if (def.options.executor !== undefined) n.executor = def.options.executor;
      if (def.options.timeLimit !== undefined) n.timeLimit = def.options.timeLimit;
      if (def.options.reuse !== undefined) n.reuse = def.options.reuse;
      replaced.add(n.id);
    }
  }
  return replaced;
}

/** What planning needs of an earlier node: a stored row, or the live state of a run in this process. */
export interface EarlierNode {
  nodeId: number;
  name: string;
  status: string;
  reuseKey?: string | null;
  /** For a sublattice: the dispatch it expanded to (its tasks are reused from there). */
  subDispatchId?: string | null;
  /** The output; `undefined` when there is none that can be reused. */
  output(): { value: unknown } | undefined;
}

/** Earlier nodes from stored rows (outputs decoded only for the nodes reused). */
export function earlierFromRows(rows: NodeRow[]): EarlierNode[] {
  return rows.map((r) => ({
    nodeId: r.nodeId, name: r.name, status: r.status, reuseKey: r.reuseKey, subDispatchId: r.subDispatchId,
    output: () => {
      if (!r.output) return undefined;
      try {
        return { value: v8.deserialize(r.output) };
      } catch {
        return undefined;
      }
    },
  }));
}

/** A node to reuse: the earlier output and where it came from. */
export interface Reuse {
  nodeId: number;
  output: unknown;
  reusedFrom: string;
}

/**
 * Which tasks of the new graph are reused: those that COMPLETED in the
 * earlier dispatch with the same reuse key (source, inputs, executor
 * configuration), not replaced, and whose upstream tasks are all reused.
 * One pass in id order: a task's upstream always has lower ids.
 */
export function planReuse(
  nodes: GraphNode[],
  keys: Array<string | null>,
  earlier: { dispatchId: string; nodes: EarlierNode[] },
  replaced: ReadonlySet<number>,
  reuseCompleted: boolean,
): Reuse[] {
  if (!reuseCompleted) return [];
  const reused = new Uint8Array(nodes.length);
  const out: Reuse[] = [];
  for (const n of nodes) {
    const old = earlier.nodes[n.id];
    const key = keys[n.id];
    if (!old || old.nodeId !== n.id || old.name !== n.name || old.status !== Status.COMPLETED || !key || old.reuseKey !== key) continue;
    if (replaced.has(n.id) || !n.dependsOn.every((u) => reused[u] === 1)) continue;
    const output = old.output();
    if (!output) continue;
    reused[n.id] = 1;
    out.push({ nodeId: n.id, output: output.value, reusedFrom: earlier.dispatchId });
  }
  return out;
}
