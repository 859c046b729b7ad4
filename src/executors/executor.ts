import { TaskCancelledError } from '../errors';
import { publicConfig } from './secrets';
import type { TaskOutput, TaskPayload } from './task-payload';

/** Identifies the task (or packed chain of tasks) an executor works on. */
export interface TaskMetadata {
  dispatchId: string;
  /** First node of the job; for a packed chain, `nodeIds` lists all members. */
  nodeId: number;
  nodeIds: number[];
  name: string;
}

/**
 * A job handle names the job on its compute resource: enough for `cancel` to
 * find and stop it, even from another process after a round trip through the
 * store. Plain JSON only, and never a secret.
 */
export type JobHandle = { [key: string]: string | number | boolean | null | JobHandle | JobHandle[] };

/**
 * What `cancel` established: `true` the job is gone (stopped by this cancel,
 * or nothing of it was running), `false` it could not confirm that, or
 * `'already_finished'` the job had ended by itself before the cancel reached
 * it (it is reported as such, never as killed).
 */
export type CancelVerdict = boolean | 'already_finished';

/** An executor's rebuildable, secret-free configuration, stored with each task. */
export interface ExecutorConfig {
  type: string;
  options: Record<string, unknown>;
}

/** The steps the template method runs, in order; each is preceded by a cancel check. */
export type ExecutorStep = 'serialize' | 'upload' | 'provision' | 'run' | 'fetch' | 'cleanup';

/** What the dispatcher hands an executor for one job. */
export interface ExecutionContext {
  readonly metadata: TaskMetadata;
  /** Aborted as soon as a cancel is requested for any task of this job. */
  readonly signal: AbortSignal;
  isCancelRequested(): boolean;
  /**
   * Call `listener` as soon as a cancel is requested (at once if it already
   * was); returns a function that removes it. Equivalent to a listener on
   * `signal`, without creating the signal for the many tasks never cancelled.
   */
  onCancel(listener: () => void): () => void;
  /** Throws TaskCancelledError when a cancel was requested; call before every step. */
  checkCancelled(step: ExecutorStep | string): void;
  /**
   * Store the job's handle as soon as the job exists. Afterwards the cancel
   * flag is checked again: when a cancel arrived while the job was being
   * created, the job is cancelled through `cancel()` and this throws
   * TaskCancelledError, so that race never loses a cancel.
   */
  setJobHandle(handle: JobHandle): Promise<void>;
  /** A line of the task's own output (stdout/stderr), for the notebook. */
  log(stream: 'stdout' | 'stderr', text: string): void;
}

/**
 * Base class of every executor plugin.
 *
 * The dispatcher calls `execute`, a template method that runs the steps
 * serialize -> upload -> provision -> run -> fetch -> cleanup, checking
 * `cancel_requested` before each, so a cancelled task does no further work of
 * any kind. Plugins override the steps they need and must implement `run`
 * (start the job, call `ctx.setJobHandle`, wait for it) and `cancel`.
 *
 * `cancel` may be called in another process than the one that ran the task,
 * with an executor rebuilt from `toConfig()`: keep what it needs in the handle.
 */
export abstract class Executor<Prepared = TaskPayload, Job = unknown> {
  /** Registry name, e.g. `local`, `ssh`, `slurm`. */
  abstract readonly type: string;

  /**
   * Whether job handles must be on disk before `setJobHandle` returns. Remote
   * jobs outlive the process, so their handles are; a local worker's pid
   * means nothing after a crash, so it is persisted with the next batch.
   */
  readonly durableJobHandles: boolean = true;

  /**
   * How many jobs the dispatcher hands this executor at once; the others wait
   * as NEW_OBJECT. Keeps memory flat for wide dispatches on a local pool.
   * Remote executors usually want everything submitted (the scheduler queues).
   */
  readonly maxInFlight: number = Infinity;

  /** Options that let another process rebuild this executor. No secrets. */
  protected abstract publicOptions(): Record<string, unknown>;

  /** The stored form: `publicOptions()`, with anything secret left out all the same (see secrets.ts). */
  toConfig(): ExecutorConfig {
    return publicConfig({ type: this.type, options: this.publicOptions() });
  }

  /** JSON and console views show the stored form only: an executor never prints its secrets. */
  toJSON(): ExecutorConfig {
    return this.toConfig();
  }

  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return `${this.constructor.name} ${JSON.stringify(this.toConfig())}`;
  }

  /** Short label for the graph, e.g. `local` or `ssh(alice@hpc1)`. */
  label(): string {
    return this.type;
  }

  /** Packing key: tasks whose executors share it may run as one job. */
  packingKey(): string {
    return JSON.stringify(this.toConfig());
  }

  async execute(payload: TaskPayload, ctx: ExecutionContext): Promise<TaskOutput> {
    let prepared: Prepared | undefined;
    let job: Job | undefined;
    let output: TaskOutput | undefined;
    try {
      ctx.checkCancelled('serialize');
      prepared = await this.serialize(payload, ctx);
      ctx.checkCancelled('upload');
      await this.upload(prepared, ctx);
      ctx.checkCancelled('provision');
      await this.provision(prepared, ctx);
      ctx.checkCancelled('run');
      job = await this.run(prepared, ctx);
      ctx.checkCancelled('fetch');
      output = await this.fetch(job, prepared, ctx);
      return output;
    } finally {
      // Cleanup also runs after a cancel or a failure: resources are released either way.
      if (prepared !== undefined) {
        await this.cleanup(prepared, ctx, job).catch((e) => ctx.log('stderr', `cleanup failed: ${String(e)}\n`));
      }
    }
  }

  /** Turn the payload into what `upload`/`run` need. Default: the payload itself. */
  protected async serialize(payload: TaskPayload, _ctx: ExecutionContext): Promise<Prepared> {
    return payload as unknown as Prepared;
  }
  /** Move the serialized task to the compute resource. Default: nothing to move. */
  protected async upload(_prepared: Prepared, _ctx: ExecutionContext): Promise<void> {}
  /** Acquire compute resources. Default: none needed. */
  protected async provision(_prepared: Prepared, _ctx: ExecutionContext): Promise<void> {}
  /** Start the job, call `ctx.setJobHandle` as soon as it exists, wait until it ends. */
  protected abstract run(prepared: Prepared, ctx: ExecutionContext): Promise<Job>;
  /** Bring back the outputs. Default: the job value is already a TaskOutput. */
  protected async fetch(job: Job, _prepared: Prepared, _ctx: ExecutionContext): Promise<TaskOutput> {
    return job as unknown as TaskOutput;
  }
  /** Release what serialize/upload/provision/run created. Runs after success, failure and cancel. */
  protected async cleanup(_prepared: Prepared, _ctx: ExecutionContext, _job: Job | undefined): Promise<void> {}

  /**
   * Stop the job named by `jobHandle` and release its resources. Resolve true
   * only when the executor confirmed the job is gone; `'already_finished'`
   * when it found the job had ended by itself; false (or throw, with the
   * reason) when it could not confirm. Must be safe to call twice and on a
   * job that already ended, and must never signal anything it cannot prove
   * is the job's (ids such as pids get reused).
   */
  abstract cancel(taskMetadata: TaskMetadata, jobHandle: JobHandle): Promise<CancelVerdict>;

  /** Release pooled resources (connections, worker processes). */
  async close(): Promise<void> {}
}

/** Helper for plugins: throw the standard error when a step sees a cancel. */
export function cancelledAt(step: string, metadata: TaskMetadata): TaskCancelledError {
  return new TaskCancelledError(`Task ${metadata.nodeId} (${metadata.name}) was cancelled before step "${step}".`, {
    details: { dispatchId: metadata.dispatchId, nodeIds: metadata.nodeIds, step },
  });
}
