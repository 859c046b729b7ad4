/**
 * The one status model of covalent-ts: which statuses exist, which are final,
 * which moves between them are allowed, and when a node cannot be cancelled.
 *
 * The dispatcher, the kernel, the `ct` command and the browser extension all
 * decide with these functions, so a node never reads "finished" in one view
 * and "cancellable" in another. Like the rest of `src/protocol`, this file is a
 * leaf: no imports, nothing Node-specific (it is bundled into the browser).
 *
 * ```
 * NEW_OBJECT -> RUNNING -> COMPLETED | FAILED
 *            \-> CANCELLED            (aborted before it started)
 * RUNNING   <-> QUEUED                 (submitted; the resource has not started it)
 * RUNNING | QUEUED -> CANCELLING -> CANCELLED (kill in flight, then done)
 * ```
 * CANCELLING stays while a kill is unconfirmed; a retried cancel moves it on.
 * Terminal states never change again.
 */

export const Status = {
  NEW_OBJECT: 'NEW_OBJECT',
  RUNNING: 'RUNNING',
  QUEUED: 'QUEUED',
  CANCELLING: 'CANCELLING',
  COMPLETED: 'COMPLETED',
  FAILED: 'FAILED',
  CANCELLED: 'CANCELLED',
} as const;

/** A task's (node's) or a dispatch's status. */
export type Status = (typeof Status)[keyof typeof Status];

/** Statuses after which a node or a dispatch never changes again. */
export const TERMINAL_STATUSES: ReadonlySet<Status> = new Set<Status>([Status.COMPLETED, Status.FAILED, Status.CANCELLED]);

/** Whether `status` is final (COMPLETED, FAILED or CANCELLED). Accepts any string, e.g. a stored column. */
export function isTerminal(status: string): boolean {
  return TERMINAL_STATUSES.has(status as Status);
}

/**
 * Allowed moves. A task that was asked to cancel while its job ran can still
 * end COMPLETED or FAILED (the job won the race); that is the truth and is kept.
 */
const TRANSITIONS: Readonly<Record<Status, readonly Status[]>> = {
  NEW_OBJECT: [Status.QUEUED, Status.RUNNING, Status.CANCELLING, Status.COMPLETED, Status.FAILED, Status.CANCELLED],
  QUEUED: [Status.RUNNING, Status.CANCELLING, Status.COMPLETED, Status.FAILED, Status.CANCELLED],
  RUNNING: [Status.QUEUED, Status.CANCELLING, Status.COMPLETED, Status.FAILED, Status.CANCELLED],
  CANCELLING: [Status.COMPLETED, Status.FAILED, Status.CANCELLED],
  COMPLETED: [],
  FAILED: [],
  CANCELLED: [],
};

/** Whether a node may move from `from` to `to` (staying put is always allowed). */
export function canTransition(from: Status, to: Status): boolean {
  return from === to || TRANSITIONS[from].includes(to);
}

/**
 * The status a view shows when a newer status arrives: a disallowed move (a
 * late RUNNING after CANCELLING, anything after a terminal status) keeps the
 * current one.
 */
export function nextStatus(current: Status, incoming: Status): Status {
  return canTransition(current, incoming) ? incoming : current;
}

/**
 * A dispatch's status once every task is terminal (null while one is not):
 * FAILED if any task failed, else CANCELLED if any was cancelled, else COMPLETED.
 */
export function dispatchStatusOf(taskStatuses: readonly string[]): Status | null {
  if (!taskStatuses.every(isTerminal)) return null;
  if (taskStatuses.includes(Status.FAILED)) return Status.FAILED;
  if (taskStatuses.includes(Status.CANCELLED)) return Status.CANCELLED;
  return Status.COMPLETED;
}

/** The part of a node the cancel rule reads (a stored row, a node view, a report row). */
export interface CancellableNode {
  status: string;
  /** Set once a kill could not be confirmed: such a CANCELLING node may be cancelled again (a retry). */
  cancelOutcome?: string | null;
}

/** Why a cancel of one node is refused right now. */
export type CancelBlockReason =
  /** The viewer is not connected to the process that runs the dispatch (a saved snapshot, a dead kernel). */
  | { code: 'not_live' }
  /** The node has a final status; `status` says which. */
  | { code: 'finished'; status: Status }
  /** A cancel is in flight and its kill has not been reported unconfirmed (nothing to retry yet). */
  | { code: 'cancel_requested' };

/**
 * Why `node` cannot be cancelled now, or null when a cancel request would act on it.
 * `live` says whether the caller can reach the process that runs the dispatch.
 *
 * A CANCELLING node whose kill was reported `kill_unconfirmed` is cancellable:
 * the request is a retry of that kill.
 *
 * @example
 * ```ts
 * cancelBlockReason({ status: 'RUNNING' }, true);      // null
 * cancelBlockReason({ status: 'COMPLETED' }, true);    // { code: 'finished', status: 'COMPLETED' }
 * cancelBlockReason({ status: 'CANCELLING', cancelOutcome: 'kill_unconfirmed' }, true); // null (a retry)
 * ```
 */
export function cancelBlockReason(node: CancellableNode, live: boolean): CancelBlockReason | null {
  if (!live) return { code: 'not_live' };
  if (isTerminal(node.status)) return { code: 'finished', status: node.status as Status };
  if (node.status === Status.CANCELLING && node.cancelOutcome !== 'kill_unconfirmed') return { code: 'cancel_requested' };
  return null;
}

/** Whether a cancel request would act on `node` (see {@link cancelBlockReason}). */
export function isCancellable(node: CancellableNode, live: boolean): boolean {
  return cancelBlockReason(node, live) === null;
}
