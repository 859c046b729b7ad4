import { TaskCancelledError } from '../errors';
import { cancelledAt, type ExecutionContext, type ExecutorStep, type JobHandle, type ResourceStatus, type TaskMetadata } from './executor';
import { LazyAbort } from './lazy-abort';

/** What a {@link JobExecutionContext} asks of whoever runs the job: the dispatcher, a test, a benchmark. */
export interface JobContextHost {
  /**
   * Keep the job's handle where a cancel finds it (for the dispatcher: the
   * node's row, on disk first when the job can outlive this process).
   * `json` is the handle in its stored form.
   */
  recordHandle(handle: JobHandle, json: string): void | Promise<void>;
  /**
   * Stop the job named by `handle`: a cancel arrived while its handle was
   * being recorded. Called at most once per `setJobHandle`; the context
   * throws TaskCancelledError afterwards, whatever this resolves with.
   */
  killJob(handle: JobHandle): Promise<unknown>;
  /** Where the job is on its resource (default: ignored). */
  reportStatus?(status: ResourceStatus): void;
  /** A line of the task's own output (default: ignored). */
  log?(stream: 'stdout' | 'stderr', text: string): void;
}

/**
 * The one {@link ExecutionContext}: a cancel flag checked before every
 * step, a signal made only when someone reads it, and the rule that a
 * cancel arriving while `setJobHandle` runs kills the new job (the handle
 * is recorded first, the flag read after, so that race never loses a
 * cancel). The dispatcher runs every job with one; executor tests and
 * benchmarks (ours and third-party plugins') drive executors with one too.
 *
 * @example
 * ```ts
 * // Drive an executor without a dispatcher, cancelling it through its own cancel():
 * const ctx = new ct.JobExecutionContext(metadata, {
 *   recordHandle: (h) => void (handle = h),
 *   killJob: (h) => executor.cancel(metadata, h),
 * });
 * const done = executor.execute(payload, ctx);
 * ctx.requestCancel();
 * if (handle) await executor.cancel(metadata, handle); // the job already existed
 * ```
 */
export class JobExecutionContext implements ExecutionContext {
  /**
   * @param cancellation The job's cancel flag; the dispatcher shares one per
   *   job with the tasks it runs inline. Default: a new one.
   */
  constructor(
    readonly metadata: TaskMetadata,
    private readonly host: JobContextHost,
    readonly cancellation: LazyAbort = new LazyAbort(),
  ) {}

  get signal(): AbortSignal {
    return this.cancellation.signal;
  }

  isCancelRequested(): boolean {
    return this.cancellation.aborted;
  }

  onCancel(listener: () => void): () => void {
    return this.cancellation.onAbort(listener);
  }

  checkCancelled(step: ExecutorStep | string): void {
    if (this.cancellation.aborted) throw cancelledAt(step, this.metadata);
  }

  async setJobHandle(handle: JobHandle): Promise<void> {
    const json = JSON.stringify(handle);
    await this.host.recordHandle(handle, json);
    // The cancel may have arrived while the job was being created: check again now that the handle is recorded.
    if (this.cancellation.aborted) {
      // The handle goes through its stored (JSON) form, as it would for a cancel from another process.
      await this.host.killJob(JSON.parse(json) as JobHandle);
      const m = this.metadata;
      throw new TaskCancelledError(`Task ${m.nodeId} (${m.name}) was cancelled while its job was being submitted; the job was cancelled.`, {
        details: { dispatchId: m.dispatchId, nodeIds: m.nodeIds, step: 'run' },
      });
    }
  }

  reportStatus(status: ResourceStatus): void {
    this.host.reportStatus?.(status);
  }

  log(stream: 'stdout' | 'stderr', text: string): void {
    this.host.log?.(stream, text);
  }

  /**
   * Set the cancel flag: every later step check sees it, the signal aborts.
   * A job whose handle is already recorded is not killed here: the caller
   * stops it through the executor's `cancel` (a job still being created is
   * killed by `setJobHandle`).
   */
  requestCancel(reason?: unknown): void {
    this.cancellation.abort(reason);
  }
}
