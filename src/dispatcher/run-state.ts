import type { Executor, ResourceStatus } from '../executors/executor';
import type { CancelOutcome, CancelSource, StatusName } from '../protocol/messages';
import type { GraphNode } from '../workflow/transport-graph';
import type { DispatchRun } from './dispatch-run';
import type { LazyAbort } from '../executors/lazy-abort';

/**
 * The in-memory state of a running dispatch's nodes and jobs: what the
 * scheduler (dispatch-run.ts), the cancel operation and the projections to
 * rows and views (projections.ts) all read. Types only.
 */

/** An encoded value as the store keeps it: in the row, or in a file named by `ref`. */
export interface EncodedValue {
  inline: Uint8Array | null;
  ref: string | null;
}

/** One node of a dispatch while it runs in this process. */
export interface NodeState {
  graph: GraphNode;
  status: StatusName;
  startedAt: Date | null;
  completedAt: Date | null;
  output: unknown;
  hasOutput: boolean;
  /** The output encoded once, when the task completed (journal and snapshots share it). */
  encoded: EncodedValue | undefined;
  error: string | null;
  cancelRequested: boolean;
  cancelReason: string | null;
  cancelSource: CancelSource | null;
  /** The one recorded outcome of the cancel of this node (set by the cancel operation and the kill verdict). */
  cancelOutcome: CancelOutcome | null;
  cancelDetail: string | null;
  jobHandle: string | null;
  subDispatchId: string | null;
  sub: DispatchRun | undefined;
  remainingDeps: number;
  job: JobState | undefined;
  /** Admitted to start, waiting for a free slot of its executor. */
  waiting: boolean;
  /** Resolves when the node is terminal; made only when someone waits. */
  settled: Promise<void> | undefined;
  settle: (() => void) | undefined;
}

/** What the executor said about a kill, as the cancel operation keeps it. */
export interface KillResult {
  confirmed: boolean;
  detail: string | null;
  /** The executor found the job had ended by itself: its own outcome stands. */
  endedByItself?: boolean;
  started?: boolean;
}

/** One job (a task, or a packed chain of tasks) handed to an executor. */
export interface JobState {
  nodeIds: number[];
  executor: Executor<any, any> | undefined;
  abort: LazyAbort;
  handleJson: string | null;
  killing: Promise<KillResult> | undefined;
  /** The executor's verdict on the kill, once it gave one. */
  killResult?: KillResult;
  /** Resolves once the cancel that is stopping the job has recorded its nodes' outcomes (see job-kill.ts). */
  stopping?: Promise<void>;
  /** Set once the dispatcher stopped waiting for the job (outputs arriving later are ignored). */
  finished: boolean;
  /** What the executor last said about the job on its resource (undefined: it never said). */
  resourceStatus?: ResourceStatus;
  /** The resource status when the cancel arrived: a job still QUEUED then was stopped before it started. */
  statusAtCancel?: ResourceStatus;
}
