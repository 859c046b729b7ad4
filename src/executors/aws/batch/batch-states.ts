/** AWS Batch job states and what they mean to covalent-ts. */
import type { ResourceStatus } from '../../executor';

export type BatchStatus = 'SUBMITTED' | 'PENDING' | 'RUNNABLE' | 'STARTING' | 'RUNNING' | 'SUCCEEDED' | 'FAILED';

/** States in which `CancelJob` still stops a job; later ones need `TerminateJob`. */
export const CANCELLABLE: ReadonlySet<string> = new Set(['SUBMITTED', 'PENDING', 'RUNNABLE']);
export const TERMINAL: ReadonlySet<string> = new Set(['SUCCEEDED', 'FAILED']);

/** SUBMITTED..STARTING: the job waits for compute; RUNNING: its container runs. */
export function resourceStatusOf(status: string): ResourceStatus {
  return status === 'RUNNING' ? 'RUNNING' : 'QUEUED';
}

/** What one DescribeJobs entry tells us, as we keep it. */
export interface BatchJobState {
  jobId: string;
  status: BatchStatus;
  statusReason?: string;
  startedAt?: number;
  logStreamName?: string;
  exitCode?: number;
}

/** The `reason` our CancelJob/TerminateJob calls carry; AWS shows it as the job's statusReason. */
export const CANCEL_REASON = 'Cancelled by covalent-ts';

/**
 * A FAILED job whose statusReason says it was cancelled or terminated (by us
 * or by someone in the console/CLI), rather than failing on its own.
 */
export function looksCancelled(state: BatchJobState): boolean {
  return state.status === 'FAILED' && /cancel|terminat/i.test(state.statusReason ?? '');
}
