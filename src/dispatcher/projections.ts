import * as v8 from 'node:v8';
import type { JobHandle } from '../executors/executor';
import type { CancelSource, DispatchSnapshot, DispatchSummary, NodeView, StatusName } from '../protocol/messages';
import type { DispatchRow, NodeRow } from '../store/schema';
import { Status } from '../workflow/status';
import { describeOwner, isOrphaned, ownerFieldsOfThisProcess } from './dispatch-owner';
import type { DispatchLimits } from './limits';
import type { EarlierNode } from './redispatch';
import type { NodeResult, Result } from './result';
import type { EncodedValue, NodeState } from './run-state';
import type { RunHost } from './dispatch-run';

/**
 * Projections of a dispatch to what others read: store rows, views for the
 * kernel and the browser, results for `ct.getResult`. A live dispatch is
 * projected from its in-memory state, a stored one from its rows. Nothing
 * here decides anything: every field is the state as recorded.
 */

/** What the projections read of a dispatch running in this process (a DispatchRun). */
export interface ProjectedRun {
  readonly dispatchId: string;
  readonly name: string;
  readonly status: StatusName;
  readonly startedAt: Date;
  readonly completedAt: Date | null;
  readonly result: unknown;
  readonly error: string | null;
  readonly parent: { run: { readonly dispatchId: string }; nodeId: number } | null;
  readonly nodes: readonly NodeState[];
  readonly limits: DispatchLimits | undefined;
  readonly redispatchOf: string | null;
  readonly inputs: unknown[] | undefined;
  readonly host: Pick<RunHost, 'executorLabel' | 'executorConfigJson' | 'reuseKey'>;
  /** The result, encoded once when the dispatch completed. */
  readonly encodedResult: EncodedValue | undefined;
  /** The inputs, encoded on first use (cached here by `dispatchRowOf`). */
  encodedInputs: Uint8Array | null | undefined;
  /** Per node reused by a redispatch: the dispatch whose result it took. Sparse. */
  readonly reusedFrom: string[] | undefined;
  /** Reuse keys, computed once per node (cached here by `reuseKeyOf`). */
  reuseKeys: Array<string | null | undefined> | undefined;
}

// Thousands of tasks start and end within the same millisecond: remember the last conversion.
let lastIsoMs = NaN;
let lastIso = '';
/** A date as stored and shown (ISO 8601), null for none. */
export const iso = (d: Date | null): string | null => {
  if (!d) return null;
  const ms = d.getTime();
  if (ms !== lastIsoMs) {
    lastIsoMs = ms;
    lastIso = d.toISOString();
  }
  return lastIso;
};
let lastHandleJson = '';
let lastHandle: unknown = null;
/** Parsed job handles; packed and inline tasks share one handle string. */
const parseHandle = (json: string | null): unknown => {
  if (!json) return null;
  if (json !== lastHandleJson) {
    lastHandleJson = json;
    lastHandle = JSON.parse(json);
  }
  return structuredCloneSafe(lastHandle);
};
const structuredCloneSafe = (v: unknown) => (v !== null && typeof v === 'object' ? { ...(v as object) } : v);

/** Values are stored in V8's format; what it cannot hold is stored as absent. */
export function encodeValue(value: unknown): Uint8Array | null {
  try {
    return v8.serialize(value);
  } catch {
    return null;
  }
}

/** A stored value back (undefined when absent or unreadable). */
export function decodeValue(bytes: Uint8Array | null): unknown {
  if (!bytes) return undefined;
  try {
    return v8.deserialize(bytes);
  } catch {
    return undefined;
  }
}

// ---- live dispatch: views ---------------------------------------------------

export function nodeViewOf(run: ProjectedRun, n: NodeState): NodeView {
  return {
    id: n.graph.id,
    name: n.graph.name,
    kind: n.graph.kind,
    status: n.status,
    executor: n.graph.kind === 'sublattice' ? 'sublattice' : run.host.executorLabel(n.graph),
    startedAt: iso(n.startedAt),
    completedAt: iso(n.completedAt),
    error: n.error,
    cancelRequested: n.cancelRequested,
    cancelReason: n.cancelReason,
    cancelSource: n.cancelSource,
    cancelOutcome: n.cancelOutcome,
    cancelDetail: n.cancelDetail,
    jobHandle: parseHandle(n.jobHandle),
    subDispatchId: n.subDispatchId,
    dependsOn: n.graph.dependsOn,
    ...(run.limits ? limitFieldsOf(run, n.graph.id) : {}),
    ...(run.reusedFrom?.[n.graph.id] ? { reusedFrom: run.reusedFrom[n.graph.id] } : {}),
  };
}

/** Cost and limit warning of a node, for views (only when the dispatch has limits or prices). */
export function limitFieldsOf(run: ProjectedRun, id: number): Pick<NodeView, 'cost' | 'limitWarning'> {
  const cost = run.limits?.costOf(id);
  return { ...(cost !== undefined ? { cost } : {}), limitWarning: run.limits?.warningOf(id) ?? null };
}

/** Cost and limit warning of the dispatch itself, for views (only when it has limits or prices). */
export function dispatchLimitFieldsOf(run: ProjectedRun): Pick<DispatchSnapshot, 'cost' | 'limitWarning'> {
  if (!run.limits) return {};
  const cost = run.limits.totalCost();
  return { ...(cost !== undefined ? { cost } : {}), limitWarning: run.limits.warning };
}

/** What names a dispatch and where it stands, as views and rows both carry it. */
function dispatchIdentityOf(run: ProjectedRun) {
  return {
    dispatchId: run.dispatchId,
    name: run.name,
    status: run.status,
    startedAt: iso(run.startedAt),
    completedAt: iso(run.completedAt),
    parentDispatchId: run.parent?.run.dispatchId ?? null,
  };
}

export function snapshotOf(run: ProjectedRun): DispatchSnapshot {
  return {
    ...dispatchIdentityOf(run),
    nodes: run.nodes.map((n) => nodeViewOf(run, n)),
    takenAt: new Date().toISOString(),
    ...dispatchLimitFieldsOf(run),
    ...(run.redispatchOf ? { redispatchOf: run.redispatchOf } : {}),
  };
}

export function resultOf(run: ProjectedRun): Result {
  return {
    dispatchId: run.dispatchId,
    name: run.name,
    status: run.status,
    result: run.status === Status.COMPLETED ? run.result : null,
    error: run.error,
    startedAt: run.startedAt,
    completedAt: run.completedAt,
    parentDispatchId: run.parent?.run.dispatchId ?? null,
    orphaned: false,
    redispatchOf: run.redispatchOf,
    ...dispatchLimitFieldsOf(run),
    nodes: run.nodes.map((n): NodeResult => {
      const v = nodeViewOf(run, n);
      return {
        ...v,
        startedAt: n.startedAt,
        completedAt: n.completedAt,
        output: n.hasOutput ? n.output : undefined,
        jobHandle: v.jobHandle as JobHandle | null,
      };
    }),
  };
}

export function summaryOf(run: ProjectedRun): DispatchSummary {
  return {
    dispatchId: run.dispatchId,
    name: run.name,
    status: run.status,
    startedAt: run.startedAt.toISOString(),
    completedAt: run.completedAt?.toISOString() ?? null,
    nodeCount: run.nodes.length,
    parentDispatchId: run.parent?.run.dispatchId ?? null,
  };
}

// ---- live dispatch: store rows ------------------------------------------------

export function dispatchRowOf(run: ProjectedRun): DispatchRow {
  return {
    ...dispatchIdentityOf(run),
    parentNodeId: run.parent?.nodeId ?? null,
    ...ownerFieldsOfThisProcess(),
    error: run.error,
    result: run.status === Status.COMPLETED ? (run.encodedResult?.inline ?? null) : null,
    resultRef: run.status === Status.COMPLETED ? (run.encodedResult?.ref ?? null) : null,
    nodeCount: run.nodes.length,
    redispatchOf: run.redispatchOf,
    inputs: run.encodedInputs === undefined ? (run.encodedInputs = run.inputs ? encodeValue(run.inputs) : null) : run.encodedInputs,
    cost: run.limits?.totalCost() ?? null,
    limitWarning: run.limits?.warning ?? null,
  };
}

export function nodeRowOf(run: ProjectedRun, id: number): NodeRow {
  const n = run.nodes[id];
  return {
    nodeId: id,
    name: n.graph.name,
    kind: n.graph.kind,
    status: n.status,
    executorConfig: n.graph.kind === 'electron' ? run.host.executorConfigJson(n.graph) : null,
    executorLabel: n.graph.kind === 'electron' ? run.host.executorLabel(n.graph) : 'sublattice',
    startedAt: iso(n.startedAt),
    completedAt: iso(n.completedAt),
    output: n.hasOutput ? (n.encoded ? n.encoded.inline : encodeValue(n.output)) : null,
    outputRef: n.encoded?.ref ?? null,
    error: n.error,
    cancelRequested: n.cancelRequested,
    cancelReason: n.cancelReason,
    cancelSource: n.cancelSource,
    cancelOutcome: n.cancelOutcome,
    cancelDetail: n.cancelDetail,
    jobHandle: n.jobHandle,
    subDispatchId: n.subDispatchId,
    dependsOn: n.graph.dependsOn,
    reuseKey: reuseKeyOf(run, id),
    reusedFrom: run.reusedFrom?.[id] ?? null,
    cost: run.limits?.costOf(id) ?? null,
    limitWarning: run.limits?.warningOf(id) ?? null,
  };
}

/** The nodes as a redispatch plans from them (outputs as they are, not encoded). */
export function earlierNodesOf(run: ProjectedRun): EarlierNode[] {
  return run.nodes.map((n, id) => ({
    nodeId: id, name: n.graph.name, status: n.status, reuseKey: n.status === Status.COMPLETED ? reuseKeyOf(run, id) : null,
    subDispatchId: n.subDispatchId,
    output: () => {
      if (!n.hasOutput) return undefined;
      try {
        // A copy, as a stored output would be: the new dispatch's tasks cannot change the old one's.
        return { value: structuredClone(n.output) };
      } catch {
        return undefined;
      }
    },
  }));
}

/** Computed once, when the node's row is first written. */
function reuseKeyOf(run: ProjectedRun, id: number): string | null {
  const keys = (run.reuseKeys ??= new Array(run.nodes.length));
  if (keys[id] === undefined) keys[id] = run.host.reuseKey(run.nodes[id].graph);
  return keys[id]!;
}

// ---- stored dispatch ------------------------------------------------------------

/** A Result rebuilt from stored rows (a dispatch of an earlier or another process). */
export function resultFromRows(d: DispatchRow, rows: NodeRow[]): Result {
  const date = (s: string | null) => (s ? new Date(s) : null);
  // A dispatch whose process died before it ended can never end: say so.
  const orphaned = isOrphaned(d);
  return {
    dispatchId: d.dispatchId,
    name: d.name,
    status: d.status as StatusName,
    result: d.status === Status.COMPLETED ? decodeValue(d.result) : null,
    error: orphaned ? `The process that ran this dispatch (${describeOwner(d)}) exited before it finished.` : d.error,
    startedAt: date(d.startedAt),
    completedAt: date(d.completedAt),
    parentDispatchId: d.parentDispatchId,
    orphaned,
    redispatchOf: d.redispatchOf ?? null,
    ...(d.cost != null ? { cost: d.cost } : {}),
    limitWarning: d.limitWarning ?? null,
    nodes: rows.map((n): NodeResult => ({
      id: n.nodeId,
      name: n.name,
      kind: n.kind as NodeResult['kind'],
      status: n.status as StatusName,
      executor: n.executorLabel ?? '',
      startedAt: date(n.startedAt),
      completedAt: date(n.completedAt),
      output: n.status === Status.COMPLETED ? decodeValue(n.output) : undefined,
      error: n.error,
      cancelRequested: n.cancelRequested,
      cancelReason: n.cancelReason,
      cancelSource: n.cancelSource as CancelSource | null,
      cancelOutcome: n.cancelOutcome as NodeResult['cancelOutcome'],
      cancelDetail: n.cancelDetail,
      jobHandle: n.jobHandle ? JSON.parse(n.jobHandle) : null,
      subDispatchId: n.subDispatchId,
      dependsOn: n.dependsOn,
      ...(n.reusedFrom ? { reusedFrom: n.reusedFrom } : {}),
      ...(n.cost != null ? { cost: n.cost } : {}),
      limitWarning: n.limitWarning ?? null,
    })),
  };
}

/** The view of a stored dispatch (what `snapshot` shows for a dispatch this process does not run). */
export function snapshotFromRows(d: DispatchRow, rows: NodeRow[]): DispatchSnapshot {
  const r = resultFromRows(d, rows);
  return {
    dispatchId: r.dispatchId,
    name: r.name,
    status: r.status,
    startedAt: r.startedAt?.toISOString() ?? null,
    completedAt: r.completedAt?.toISOString() ?? null,
    parentDispatchId: r.parentDispatchId,
    ...(r.orphaned ? { orphaned: true } : {}),
    ...(r.redispatchOf ? { redispatchOf: r.redispatchOf } : {}),
    ...(r.cost !== undefined ? { cost: r.cost } : {}),
    limitWarning: r.limitWarning ?? null,
    nodes: r.nodes.map(({ output: _o, ...n }) => ({ ...n, startedAt: n.startedAt?.toISOString() ?? null, completedAt: n.completedAt?.toISOString() ?? null })) as NodeView[],
    takenAt: new Date().toISOString(),
  };
}
