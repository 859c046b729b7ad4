import { ErrorCodes, InvalidInputError } from '../errors';
import { compileTaskFunction } from '../executors/runner/run-payload';
import type { DispatchRow, NodeRow } from '../store/schema';
import { analyzeFunctionSource } from '../workflow/free-variables';
import { latticesByName, type Lattice } from '../workflow/lattice';
import type { GraphNode } from '../workflow/transport-graph';
import { decodeValue, encodeValue } from './projections';
import { executorTypeOf } from './dispatch-validation';
import type { EarlierNode, ValidRedispatchOptions } from './redispatch';
import { graphFromStore, type RebuiltGraph } from './stored-workflow';

/**
 * Where `ct.redispatch` gets the workflow it runs again: the lattice this
 * process defined under the dispatch's name, or, when it has none (after a
 * kernel restart, in another process), the workflow the store holds.
 *
 * Without arguments the store is enough: the graph the lattice function
 * built from the original inputs is stored with the dispatch (stored-workflow.ts).
 * New arguments need the lattice itself: only running its function builds
 * the graph for them, and that function refers to electrons and helpers of
 * the notebook that defined it, which no store can hold faithfully.
 */

/** An earlier dispatch as a redispatch reads it: live in this process, or stored. */
export interface EarlierDispatch {
  dispatch: DispatchRow;
  /** Its node rows (built on demand for a live dispatch). */
  rows(): NodeRow[];
  /** Its nodes as reuse planning reads them. */
  nodes: EarlierNode[];
  /** The lattice a live dispatch runs. */
  lattice?: Lattice<any>;
}

export interface RedispatchSource {
  lattice: Lattice<any>;
  args: unknown[];
  /** Refuses, before anything runs, tasks that must run again but that the store cannot rebuild. */
  runnable?: (toRun: GraphNode[]) => void;
}

const STORED = Symbol('covalent-ts.storedLattice');

/** The earlier expansions of a redispatched dispatch's sublattices, by node id (none: nothing to reuse inside). */
export type EarlierExpansions = ReadonlyMap<number, string>;

export function earlierExpansions(nodes: EarlierNode[]): EarlierExpansions | undefined {
  const out = new Map<number, string>();
  for (const n of nodes) if (n.subDispatchId) out.set(n.nodeId, n.subDispatchId);
  return out.size ? out : undefined;
}

/**
 * How a sublattice of a redispatch expands: as a redispatch of its earlier
 * expansion, so the tasks that completed inside it are reused too (and, in
 * turn, inside its own sublattices). Replacements name top-level tasks only.
 */
export function subRedispatch(
  expansions: EarlierExpansions | undefined,
  nodeId: number,
  read: (id: string) => EarlierDispatch | undefined,
): { earlier: { dispatchId: string; nodes: EarlierNode[] }; options: ValidRedispatchOptions } | undefined {
  const subId = expansions?.get(nodeId);
  const sub = subId ? read(subId) : undefined;
  if (!subId || !sub) return undefined;
  return { earlier: { dispatchId: subId, nodes: sub.nodes }, options: { replaceElectrons: new Map(), reuseCompleted: true, limits: { timeLimitMs: undefined, budget: undefined } } };
}

/** Pick the workflow and arguments of a redispatch of `dispatchId` (typed errors say what to do). */
export function redispatchSource(
  dispatchId: string,
  earlier: EarlierDispatch,
  newArgs: unknown[] | undefined,
  read: (id: string) => EarlierDispatch | undefined,
): RedispatchSource {
  const name = earlier.dispatch.name;
  const live = earlier.lattice && !(STORED in earlier.lattice) ? earlier.lattice : undefined;
  const defined = live ?? latticesByName().get(name);
  if (defined) return { lattice: defined, args: newArgs ?? storedInputs(dispatchId, earlier.dispatch) };
  if (newArgs) {
    throw new InvalidInputError(
      ErrorCodes.UNKNOWN_LATTICE,
      `ct.redispatch: dispatch ${dispatchId} ran the workflow "${name}", which is not defined in this process. ` +
        `With new arguments its lattice function must run again to build the graph for them: define it again ` +
        `(run the cell with ct.lattice(fn, { name: '${name}' })), then redispatch; or call ct.redispatch(id)() without arguments ` +
        `to run it again from the store with its original inputs. Nothing was dispatched.`,
      { details: { dispatchId, name } },
    );
  }
  const args = storedInputs(dispatchId, earlier.dispatch);
  const stored = storedLattice(dispatchId, earlier, (a) => a === args, read, false);
  if (!stored) {
    throw new InvalidInputError(
      ErrorCodes.UNKNOWN_LATTICE,
      `ct.redispatch: dispatch ${dispatchId} ran the workflow "${name}", which is not defined in this process, and the store does not hold ` +
        `its workflow (an older covalent-ts dispatched it, or its return value could not be stored). ` +
        `Define it again (run the cell with ct.lattice(fn, { name: '${name}' })), then redispatch. Nothing was dispatched.`,
      { details: { dispatchId, name } },
    );
  }
  return { lattice: stored.lattice, args, runnable: stored.runnable };
}

function storedInputs(dispatchId: string, d: DispatchRow): unknown[] {
  const inputs = decodeValue(d.inputs ?? null);
  if (!Array.isArray(inputs)) {
    throw new InvalidInputError(
      ErrorCodes.INVALID_ARGUMENT,
      `ct.redispatch: the inputs of dispatch ${dispatchId} were not stored (they could not be serialized, or an older covalent-ts dispatched it). ` +
        `Pass the arguments: ct.redispatch(id)(...args).`,
      { details: { dispatchId } },
    );
  }
  return inputs;
}

/**
 * A stand-in lattice for a stored workflow: its `build` returns the stored
 * graph, for the inputs it was built from only (`sameInputs`). Electrons get
 * their functions from their sources; sublattices the lattice this process
 * defines under their name, else the stored workflow of their earlier expansion.
 */
function storedLattice(
  dispatchId: string,
  earlier: EarlierDispatch,
  sameInputs: (args: unknown[]) => boolean,
  read: (id: string) => EarlierDispatch | undefined,
  /** A sublattice runs every task of its graph: refuse at build what cannot run. */
  checkOnBuild: boolean,
): { lattice: Lattice<any>; runnable: (toRun: GraphNode[]) => void } | undefined {
  const rows = earlier.rows();
  const first = graphFromStore(earlier.dispatch.workflow, rows);
  if (!first) return undefined;
  const name = earlier.dispatch.name;
  let built: RebuiltGraph | undefined = first;
  let last: RebuiltGraph = first;
  const lattice = {
    [STORED]: true,
    name,
    fn: () => {
      throw cannotRebuild(dispatchId, name, 'its lattice function is not defined in this process');
    },
    options: Object.freeze({ taskPacking: first.taskPacking, timeLimit: first.timeLimit }),
    build(args: unknown[]) {
      if (!sameInputs(args)) throw cannotRebuild(dispatchId, name, 'its inputs changed, and only its lattice function can build the graph for new inputs');
      const r = built ?? graphFromStore(earlier.dispatch.workflow, rows)!;
      built = undefined;
      last = r;
      attachFunctions(r, rows, read);
      if (checkOnBuild) runnable(r.graph.nodes);
      return r.graph;
    },
  } as unknown as Lattice<any>;
  const runnable = (toRun: GraphNode[]) => {
    for (const n of toRun) {
      const why = last.argsMissing.has(n.id)
        ? 'its arguments could not be stored (a function or class instance passed to an inline task)'
        : n.kind === 'electron' && !n.fn && executorTypeOf(n.executor ?? 'local') === 'inline'
          ? 'it runs inline and uses names from outside its function, which only the process that defined it had'
          : n.kind === 'sublattice' && !n.lattice
            ? `its sublattice "${last.sublattice[n.id]}" never expanded in dispatch ${dispatchId} and is not defined in this process`
            : undefined;
      if (why) throw cannotRebuild(dispatchId, name, `its task ${n.id} (${n.name}) must run again, but ${why}`);
    }
  };
  return { lattice, runnable };
}

/** Give a rebuilt graph what runs it: inline tasks' functions, sublattices' lattices. */
function attachFunctions(r: RebuiltGraph, rows: NodeRow[], read: (id: string) => EarlierDispatch | undefined): void {
  for (const n of r.graph.nodes) {
    if (n.kind === 'electron') {
      if (executorTypeOf(n.executor ?? 'local') !== 'inline' || n.source === undefined) continue;
      // An inline task may have used its surroundings (allowed, it ran in that process): its source alone would not run.
      const analysis = analyzeFunctionSource(n.source);
      if (analysis.ok && !analysis.freeNames.length) n.fn = compileTaskFunction(n.source, n.name);
      continue;
    }
    const latticeName = r.sublattice[n.id];
    const defined = latticeName ? latticesByName().get(latticeName) : undefined;
    if (defined) {
      n.lattice = defined;
      continue;
    }
    const subId = rows[n.id]?.subDispatchId;
    const sub = subId ? read(subId) : undefined;
    if (!sub || !subId) continue;
    const inputs = sub.dispatch.inputs ?? null;
    const same = (args: unknown[]) => {
      const now = encodeValue(args);
      return !!inputs && !!now && Buffer.from(inputs).equals(now);
    };
    n.lattice = storedLattice(subId, sub, same, read, true)?.lattice;
  }
}

function cannotRebuild(dispatchId: string, name: string, why: string): InvalidInputError {
  return new InvalidInputError(
    ErrorCodes.UNKNOWN_LATTICE,
    `ct.redispatch: dispatch ${dispatchId} ran the workflow "${name}", which is not defined in this process, and ${why}. ` +
      `Define the workflow again (run the cell with ct.lattice(fn, { name: '${name}' })), then redispatch.`,
    { details: { dispatchId, name } },
  );
}
