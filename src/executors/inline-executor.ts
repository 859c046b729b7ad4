import { Executor, type DirectRunner, type ExecutionContext, type JobHandle, type TaskMetadata } from './executor';
import { runPayload, taskContextStorage, type TaskContext } from './runner/run-payload';
import type { TaskOutput, TaskPayload } from './task-payload';

/**
 * Runs tasks in the dispatching process itself: no serialization, so any
 * object can be passed, and almost no overhead.
 *
 * Cancellation is cooperative only: the task's `ct.taskContext().signal` is
 * aborted and the task is expected to stop. JavaScript cannot interrupt a
 * synchronous loop from outside, so an inline task that never yields or
 * ignores the signal keeps running; its cancel is then reported as
 * unconfirmed and its result is discarded. Use `local` for anything that
 * must be killable.
 */
export class InlineExecutor extends Executor<TaskPayload, TaskOutput> implements DirectRunner {
  readonly type = 'inline';
  override readonly durableJobHandles = false;
  override readonly runsInProcess = true;
  private running = new Map<string, Promise<unknown>>();

  constructor(private readonly options: { cancelWaitSeconds?: number } = {}) {
    super();
  }

  protected publicOptions(): Record<string, unknown> {
    return { ...this.options };
  }

  protected async run(payload: TaskPayload, ctx: ExecutionContext): Promise<TaskOutput> {
    const key = `${ctx.metadata.dispatchId}:${ctx.metadata.nodeId}`;
    const work = runPayload(payload, { dispatchId: ctx.metadata.dispatchId, signal: ctx.signal });
    this.running.set(key, work);
    try {
      await ctx.setJobHandle({ kind: 'inline', pid: process.pid, key });
      return await work;
    } finally {
      this.running.delete(key);
    }
  }

  /**
   * Run one task's function here, now, in its task context. Returns its
   * value, or a promise of it; the dispatcher calls this directly for
   * single tasks (no step template), and `cancel` can still wait for it.
   */
  runInline(fn: (...args: any[]) => unknown, args: unknown[], ctx: TaskContext, key: string): unknown {
    const value = taskContextStorage().run(ctx, () => fn(...args));
    if (value !== null && typeof value === 'object' && typeof (value as any).then === 'function') {
      const work = value as Promise<unknown>;
      this.running.set(key, work);
      const forget = () => this.running.delete(key);
      work.then(forget, forget);
    }
    return value;
  }

  async cancel(taskMetadata: TaskMetadata, jobHandle: JobHandle): Promise<boolean> {
    const key = typeof jobHandle.key === 'string' ? jobHandle.key : `${taskMetadata.dispatchId}:${taskMetadata.nodeId}`;
    const work = this.running.get(key);
    if (!work) return true;
    // The dispatcher already aborted the task's signal; give it a moment to notice.
    const waitMs = (this.options.cancelWaitSeconds ?? 1) * 1000;
    const stopped = await Promise.race([
      work.then(() => true, () => true),
      new Promise<boolean>((r) => setTimeout(() => r(false), waitMs).unref()),
    ]);
    return stopped;
  }
}
