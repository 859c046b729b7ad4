import type { CancelOutcome } from '../protocol/messages';
import type { ResourceStatus } from '../executors/executor';
import type { KillResult } from './run-state';

/**
 * The rules that turn what an executor said about a stopped job into the
 * node's `cancelOutcome`. Pure, and the only place an outcome is derived:
 * the cancel operation records what these return on the node, and the
 * journal, the store, the comm and the browser read that record.
 */

/** An outcome with the executor's explanation (null: it gave none). */
export interface RecordedOutcome {
  outcome: CancelOutcome;
  detail: string | null;
}

/**
 * A job stopped by a cancel request: how it was stopped.
 * `handleRecorded` says whether the job existed (had a handle) when the
 * cancel reached it; `queuedAtCancel` whether its resource had not started
 * it yet (the last status the executor reported). The executor's own
 * `started` wins over the last report.
 */
export function outcomeOfStop(kill: KillResult | undefined, handleRecorded: boolean, queuedAtCancel: boolean): RecordedOutcome {
  if (!handleRecorded || !kill) return { outcome: 'aborted_before_start', detail: null };
  if (!kill.confirmed) return { outcome: 'kill_unconfirmed', detail: kill.detail };
  // A job its resource had not started yet was stopped before it ran, not killed while running.
  const started = kill.started ?? !queuedAtCancel;
  return { outcome: started ? 'killed' : 'aborted_before_start', detail: kill.detail };
}

/**
 * A job cancelled on its resource by someone else (scancel by hand): the
 * executor's explanation is kept. Whether it had started: the executor's
 * error says (`details.started`), else the last status it reported.
 */
export function outcomeOfOutsideCancel(resourceStatus: ResourceStatus | undefined, err: unknown): RecordedOutcome {
  const said = (err as { details?: { started?: unknown } } | null)?.details?.started;
  const started = typeof said === 'boolean' ? said : resourceStatus === 'RUNNING';
  return {
    outcome: started ? 'killed' : 'aborted_before_start',
    detail: err instanceof Error ? err.message : null,
  };
}

/** A sublattice node whose sub-dispatch ended CANCELLED: the strongest claim its tasks' recorded outcomes support. */
export function outcomeOfSublattice(subOutcomes: ReadonlyArray<CancelOutcome | null>, subDispatchId: string): RecordedOutcome {
  const outcome: CancelOutcome = subOutcomes.includes('kill_unconfirmed') ? 'kill_unconfirmed' : subOutcomes.includes('killed') ? 'killed' : 'aborted_before_start';
  return { outcome, detail: `sub-dispatch ${subDispatchId} cancelled` };
}
