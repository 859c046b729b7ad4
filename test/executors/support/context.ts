/**
 * A real ExecutionContext for driving executors without the dispatcher: a
 * cancel flag checked before every step, an AbortController, handle
 * recording, and the dispatcher's rule that a cancel racing `setJobHandle`
 * cancels the new job. Hooks let a test request a cancel at an exact point.
 */
import { cancelledAt, type CancelVerdict, type ExecutionContext, type ResourceStatus, type Executor, type JobHandle, type TaskMetadata } from '../../../src/executors/executor';

let counter = 0;
export function metadata(name = 'task', nodeId = 0): TaskMetadata {
  counter++;
  return { dispatchId: `test-${process.pid}-${Date.now().toString(36)}-${counter}`, nodeId, nodeIds: [nodeId], name };
}

export interface ContextHooks {
  /** Called at each cancel check, before the flag is read. */
  onStep?: (step: string, ctx: TestContext) => void;
  /** Called when the executor reports its handle, before it is stored. */
  beforeHandleStored?: (handle: JobHandle, ctx: TestContext) => void | Promise<void>;
}

export class TestContext implements ExecutionContext {
  readonly controller = new AbortController();
  readonly steps: string[] = [];
  readonly logs: { stream: 'stdout' | 'stderr'; text: string }[] = [];
  handle: JobHandle | undefined;
  /** What `cancel()` answered when the race rule or `requestCancel` called it. */
  cancelResults: CancelVerdict[] = [];
  /** What the executor reported through `reportStatus`, in order. */
  readonly statuses: ResourceStatus[] = [];
  private cancelRequested = false;

  constructor(
    readonly metadata: TaskMetadata,
    private readonly executor: Executor<any, any>,
    private readonly hooks: ContextHooks = {},
  ) {}

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  onCancel(listener: () => void): () => void {
    if (this.controller.signal.aborted) {
      queueMicrotask(listener);
      return () => undefined;
    }
    this.controller.signal.addEventListener('abort', listener, { once: true });
    return () => this.controller.signal.removeEventListener('abort', listener);
  }

  onCancel(listener: () => void): () => void {
    if (this.cancelRequested) {
      listener();
      return () => undefined;
    }
    this.controller.signal.addEventListener('abort', listener, { once: true });
    return () => this.controller.signal.removeEventListener('abort', listener);
  }

  isCancelRequested(): boolean {
    return this.cancelRequested;
  }

  checkCancelled(step: string): void {
    this.steps.push(step);
    this.hooks.onStep?.(step, this);
    if (this.cancelRequested) throw cancelledAt(step, this.metadata);
  }

  async setJobHandle(handle: JobHandle): Promise<void> {
    await this.hooks.beforeHandleStored?.(handle, this);
    // Round trip through JSON, as the store does.
    this.handle = JSON.parse(JSON.stringify(handle));
    if (this.cancelRequested) {
      this.cancelResults.push(await this.executor.cancel(this.metadata, this.handle!));
      throw cancelledAt('run', this.metadata);
    }
  }

  reportStatus(status: ResourceStatus): void {
    if (this.statuses[this.statuses.length - 1] !== status) this.statuses.push(status);
  }

  log(stream: 'stdout' | 'stderr', text: string): void {
    this.logs.push({ stream, text });
  }

  /** Set the flag; when a handle exists, cancel the job as the dispatcher does. */
  markCancelRequested(): void {
    this.cancelRequested = true;
    this.controller.abort();
  }

  async requestCancel(executor: Executor<any, any> = this.executor): Promise<CancelVerdict | undefined> {
    this.markCancelRequested();
    if (!this.handle) return undefined;
    const ok = await executor.cancel(this.metadata, this.handle);
    this.cancelResults.push(ok);
    return ok;
  }
}
