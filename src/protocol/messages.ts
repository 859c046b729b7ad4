/**
 * The comm protocol between the covalent-ts kernel and the JupyterLab
 * extension (comm target `covalent-ts`). This file is shared by both sides, so
 * it holds only types and constants: nothing Node-specific, no imports outside
 * src/protocol.
 *
 * Every message carries `v` (protocol version). Requests carry a client-chosen
 * `id`, echoed in exactly one `reply`. Pushes (`delta`, `dispatches`) carry no id.
 */

import type { Status } from './status';

export const PROTOCOL_VERSION = 1;
export const COMM_TARGET = 'covalent-ts';
/** MIME type of a dispatch's rich output in a notebook. */
export const DISPATCH_MIME_TYPE = 'application/vnd.covalent-ts.dispatch+json';

/** A node's or dispatch's status on the wire (see {@link Status} for the model). */
export type StatusName = Status;
export type NodeKind = 'electron' | 'sublattice' | 'parameter';
/** Who asked for a cancel. */
/** `limit`: a time limit or budget of the task or dispatch fired (reason `time limit` or `budget`). */
export type CancelSource = 'api' | 'comm' | 'external' | 'limit';
/** What a cancel did to one task. */
export type CancelOutcome =
  | 'aborted_before_start'
  | 'killed'
  | 'kill_unconfirmed'
  | 'already_finished';

export interface NodeView {
  id: number;
  name: string;
  kind: NodeKind;
  status: StatusName;
  /** Short executor label, e.g. `local`, `ssh(user@host)`. */
  executor: string;
  startedAt: string | null;
  completedAt: string | null;
  error: string | null;
  cancelRequested: boolean;
  cancelReason: string | null;
  cancelSource: CancelSource | null;
  cancelOutcome: CancelOutcome | null;
  /** Human-readable detail about the cancel (why a kill is unconfirmed, ...). */
  cancelDetail: string | null;
  jobHandle: unknown | null;
  subDispatchId: string | null;
  /** Ids of the nodes whose outputs this node consumes. */
  dependsOn: number[];
  /** Estimated cost so far (final once the task ended), in the executor price's currency; absent without a price. */
  cost?: number;
  /** Set once the task passed the warning threshold of its time limit, e.g. `time limit 80%`. */
  limitWarning?: string | null;
  /** For a redispatch: the dispatch whose result this node reused instead of running. */
  reusedFrom?: string | null;
}

/** A node view with every optional field empty: for new nodes, fixtures and placeholders. */
export function newNodeView(id: number, fields: Partial<NodeView> = {}): NodeView {
  return {
    id,
    name: '',
    kind: 'electron',
    status: 'NEW_OBJECT',
    executor: '',
    startedAt: null,
    completedAt: null,
    error: null,
    cancelRequested: false,
    cancelReason: null,
    cancelSource: null,
    cancelOutcome: null,
    cancelDetail: null,
    jobHandle: null,
    subDispatchId: null,
    dependsOn: [],
    ...fields,
  };
}

export interface DispatchSnapshot {
  dispatchId: string;
  name: string;
  status: StatusName;
  startedAt: string | null;
  completedAt: string | null;
  parentDispatchId: string | null;
  nodes: NodeView[];
  /** ISO time the snapshot was taken. */
  takenAt: string;
  /**
   * True when the process that ran the dispatch exited before it finished:
   * it will never finish by itself (cancel it to stop what is left). Absent means false.
   */
  orphaned?: boolean;
  /** Sum of the tasks' estimated costs; absent when no executor has a price. */
  cost?: number;
  /** Set once the dispatch passed the warning threshold of its time limit or budget. */
  limitWarning?: string | null;
  /** The dispatch this one was redispatched from. */
  redispatchOf?: string | null;
}

export interface DispatchSummary {
  dispatchId: string;
  name: string;
  status: StatusName;
  startedAt: string | null;
  completedAt: string | null;
  nodeCount: number;
  parentDispatchId: string | null;
  /** True for a dispatch of an earlier process that exited before it finished (see DispatchSnapshot.orphaned). Absent means false. */
  orphaned?: boolean;
}

export interface CancelTaskReport {
  nodeId: number;
  name: string;
  outcome: CancelOutcome;
  /** Status before the request and after it was carried out. */
  statusBefore: StatusName;
  statusAfter: StatusName;
  /** Set when the task was cancelled because an upstream task was. */
  downstreamOf: number[] | null;
  detail: string | null;
}

export interface CancelReportData {
  dispatchId: string;
  requestedAt: string;
  completedAt: string;
  reason: string | null;
  source: CancelSource;
  /** Task ids the request named; null for a whole-dispatch cancel. */
  requestedTaskIds: number[] | null;
  tasks: CancelTaskReport[];
  /** True only when every affected task is confirmed stopped or had already finished. */
  confirmed: boolean;
  summary: string;
}

// ---- client -> kernel -------------------------------------------------------

interface RequestBase {
  v: number;
  id: string;
}
export interface HelloRequest extends RequestBase { type: 'hello'; protocols: number[] }
export interface SubscribeRequest extends RequestBase { type: 'subscribe'; dispatchId: string }
export interface UnsubscribeRequest extends RequestBase { type: 'unsubscribe'; dispatchId: string }
export interface ListRequest extends RequestBase { type: 'list' }
export interface CancelDispatchRequest extends RequestBase {
  type: 'cancel_dispatch';
  dispatchId: string;
  reason?: string;
}
export interface CancelTasksRequest extends RequestBase {
  type: 'cancel_tasks';
  dispatchId: string;
  taskIds: number[];
  reason?: string;
}
export type ClientRequest =
  | HelloRequest
  | SubscribeRequest
  | UnsubscribeRequest
  | ListRequest
  | CancelDispatchRequest
  | CancelTasksRequest;

// ---- kernel -> client -------------------------------------------------------

export interface ReplyOk<T = unknown> { v: number; type: 'reply'; id: string; ok: true; result: T }
export interface ReplyError {
  v: number;
  type: 'reply';
  /** null when the request was too malformed to carry an id. */
  id: string | null;
  ok: false;
  error: { code: string; message: string };
}
/** Batched node changes of one dispatch, in order (`seq` increases by one). */
export interface DeltaPush {
  v: number;
  type: 'delta';
  dispatchId: string;
  seq: number;
  nodes: Array<Partial<NodeView> & { id: number }>;
  /** The dispatch's own changes: status and times, and (for a dispatch with limits or prices) its cost and limit warning. */
  dispatch?: Partial<Pick<DispatchSnapshot, 'status' | 'completedAt' | 'startedAt' | 'cost' | 'limitWarning'>>;
}
export interface DispatchesPush { v: number; type: 'dispatches'; dispatches: DispatchSummary[] }
export type KernelMessage = ReplyOk | ReplyError | DeltaPush | DispatchesPush;

/** Results of each request type. */
export interface HelloResult { protocol: number; kernel: string; version: string }
export interface SubscribeResult { snapshot: DispatchSnapshot; seq: number }
export interface ListResult { dispatches: DispatchSummary[] }
/** `unsubscribed` is false when there was no subscription to that dispatch. */
export interface UnsubscribeResult { unsubscribed: boolean }

/** Data of a dispatch's notebook output under DISPATCH_MIME_TYPE. */
export interface DispatchOutputData {
  dispatchId: string;
  snapshot: DispatchSnapshot;
}
