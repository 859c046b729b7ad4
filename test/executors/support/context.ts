/**
 * Drive executors without the dispatcher, through the dispatcher's own
 * context (JobExecutionContext: the cancel checks, and the rule that a cancel
 * racing `setJobHandle` cancels the new job), recording what the executor
 * did. Hooks let a test request a cancel at an exact point.
 */
import { type CancelVerdict, type ResourceStatus, type Executor, type JobHandle, type TaskMetadata } from '../../../src/executors/executor';
import { JobExecutionContext } from '../../../src/executors/job-execution-context';

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

export class TestContext extends JobExecutionContext {
  readonly steps: string[] = [];
  readonly logs: { stream: 'stdout' | 'stderr'; text: string }[] = [];
  handle: JobHandle | undefined;
  /** What `cancel()` answered when the race rule or `requestCancel` called it. */
  cancelResults: CancelVerdict[] = [];
  /** What the executor reported through `reportStatus`, in order. */
  readonly statuses: ResourceStatus[] = [];

  constructor(
    metadata: TaskMetadata,
    private readonly executor: Executor<any, any>,
    private readonly hooks: ContextHooks = {},
  ) {
    // The host's callbacks run only once the executor works, after construction.
    let ctx: TestContext | undefined;
    const self = (): TestContext => ctx!;
    super(metadata, {
      async recordHandle(_handle, json) {
        await hooks.beforeHandleStored?.(JSON.parse(json), self());
        // Kept in its stored (JSON) form, as the store keeps it.
        self().handle = JSON.parse(json);
      },
      async killJob(handle) {
        self().cancelResults.push(await executor.cancel(metadata, handle));
      },
      reportStatus(status) {
        const statuses = self().statuses;
        if (statuses[statuses.length - 1] !== status) statuses.push(status);
      },
      log(stream, text) {
        self().logs.push({ stream, text });
      },
    });
    ctx = this;
  }

  checkCancelled(step: string): void {
    this.steps.push(step);
    this.hooks.onStep?.(step, this);
    super.checkCancelled(step);
  }

  /** Set the flag only (as a cancel does before it reaches the executor). */
  markCancelRequested(): void {
    super.requestCancel();
  }

  /** Set the flag; when a handle exists, cancel the job as the dispatcher does. */
  async requestCancel(executor: Executor<any, any> = this.executor): Promise<CancelVerdict | undefined> {
    super.requestCancel();
    if (!this.handle) return undefined;
    const verdict = await executor.cancel(this.metadata, this.handle);
    this.cancelResults.push(verdict);
    return verdict;
  }
}
