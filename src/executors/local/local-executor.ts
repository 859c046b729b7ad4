import type { Price } from '../price';
import { Executor, type CancelVerdictDetails, type ExecutionContext, type JobHandle, type TaskMetadata } from '../executor';
import type { TaskOutput, TaskPayload } from '../task-payload';
import { sharedWorkerPool } from './worker-pool';
import { currentProcessIdentity } from '../../process/process-identity';

export interface LocalExecutorOptions {
  /** Seconds between SIGTERM and SIGKILL when a running task is cancelled. */
  killGraceSeconds?: number;
  /** Price of running here, e.g. `{ perHour: 3.06 }` (see ct.dispatch's budget). */
  price?: Price;
}

/**
 * Runs tasks in a pool of local worker processes (one task per worker at a
 * time). A running task is cancelled by killing its worker's whole process
 * group; the pool replaces the worker.
 */
export class LocalExecutor extends Executor<TaskPayload, TaskOutput> {
  readonly type = 'local';
  // A worker pid means nothing after this process dies (workers die with it).
  override readonly durableJobHandles = false;
  // Enough queued work for the pool to batch quick tasks, without holding every task of a huge dispatch.
  override readonly maxInFlight = 512;
  private readonly graceMs: number;

  constructor(private readonly options: LocalExecutorOptions = {}) {
    super();
    this.price = options.price;
    this.graceMs = Math.max(0, (options.killGraceSeconds ?? 2) * 1000);
  }

  protected publicOptions(): Record<string, unknown> {
    return this.options.killGraceSeconds === undefined ? {} : { killGraceSeconds: this.options.killGraceSeconds };
  }

  protected run(payload: TaskPayload, ctx: ExecutionContext): Promise<TaskOutput> {
    const pool = sharedWorkerPool();
    const key = jobKey(ctx.metadata);
    return new Promise<TaskOutput>((resolve, reject) => {
      // A task still queued in the pool is simply removed on cancel; a running one is killed through cancel().
      const stopListening = ctx.onCancel(() => pool.dequeue(key));
      const settle = <T>(fn: (v: T) => void) => (v: T) => {
        stopListening();
        fn(v);
      };
      // The node says RUNNING only once a worker has the task; until then it waits in the pool, QUEUED.
      let started = false;
      let queued = false;
      pool.submit({
        key,
        dispatchId: ctx.metadata.dispatchId,
        payload,
        onStart: (worker) => {
          started = true;
          if (queued) ctx.reportStatus('RUNNING');
          // A cancel that raced the start is caught inside setJobHandle, which kills the worker.
          ctx.setJobHandle({ kind: 'local-worker', pid: worker.pid, pgid: worker.pid, key, host: worker.host, startTime: worker.startTime }).catch(() => undefined);
        },
        onOutput: (stream, text) => ctx.log(stream, text),
        resolve: settle(resolve),
        reject: settle(reject),
      });
      // Reported only when no worker was free at once: most tasks of a small dispatch never wait.
      if (!started) {
        queued = true;
        ctx.reportStatus('QUEUED');
      }
    });
  }

  async cancel(taskMetadata: TaskMetadata, jobHandle: JobHandle): Promise<CancelVerdictDetails> {
    const key = typeof jobHandle.key === 'string' ? jobHandle.key : jobKey(taskMetadata);
    const worker = {
      pid: Number(jobHandle.pid),
      host: typeof jobHandle.host === 'string' ? jobHandle.host : currentProcessIdentity().host,
      startTime: typeof jobHandle.startTime === 'string' ? jobHandle.startTime : null,
    };
    return sharedWorkerPool().kill(key, worker, this.graceMs);
  }
}

function jobKey(m: TaskMetadata): string {
  return `${m.dispatchId}:${m.nodeIds.join(',')}`;
}
