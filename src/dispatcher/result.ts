import type { CancelOutcome, CancelSource, NodeKind, StatusName } from '../protocol/messages';
import type { JobHandle } from '../executors/executor';

/** One task of a dispatch, as `ct.getResult` reports it. */
export interface NodeResult {
  /** The id users pass in `taskIds` and see in the graph. */
  id: number;
  name: string;
  kind: NodeKind;
  status: StatusName;
  /** Executor label, e.g. `local`. */
  executor: string;
  startedAt: Date | null;
  completedAt: Date | null;
  /** The task's output once COMPLETED, else undefined. */
  output: unknown;
  error: string | null;
  cancelRequested: boolean;
  cancelReason: string | null;
  cancelSource: CancelSource | null;
  cancelOutcome: CancelOutcome | null;
  cancelDetail: string | null;
  jobHandle: JobHandle | null;
  /** For a sublattice node: the dispatch id of its expansion. */
  subDispatchId: string | null;
  dependsOn: number[];
  /** For a redispatch: the dispatch whose result this task reused instead of running (absent when it ran). */
  reusedFrom?: string | null;
  /** Estimated cost (final once ended), when its executor has a price. */
  cost?: number;
  /** The limit warning the task showed, e.g. `time limit 80% (8m of 10m)`. */
  limitWarning?: string | null;
}

/** A dispatch's state: final once `status` is COMPLETED, FAILED or CANCELLED. */
export interface Result<T = unknown> {
  dispatchId: string;
  name: string;
  status: StatusName;
  /** The lattice's return value with task outputs filled in (COMPLETED only). */
  result: T | null;
  error: string | null;
  startedAt: Date | null;
  completedAt: Date | null;
  parentDispatchId: string | null;
  /**
   * True when the process that ran this dispatch exited before it finished
   * (`error` says which process): it will never finish by itself. Its jobs may
   * still run; `ct.cancel` stops them from their stored handles.
   */
  orphaned: boolean;
  nodes: NodeResult[];
  /** The dispatch this one was redispatched from (ct.redispatch); null otherwise. */
  redispatchOf?: string | null;
  /** Sum of the tasks' estimated costs, when an executor has a price. */
  cost?: number;
  limitWarning?: string | null;
}
