import type { Price } from './price';
import { TaskCancelledError } from '../errors';
import { publicConfig } from './secrets';
import type { ExecutorConfig } from '../workflow/executor-spec';
import type { TaskOutput, TaskPayload } from './task-payload';
import type { TaskContext } from './runner/run-payload';

/** Identifies the task (or packed chain of tasks) an executor works on. */
export interface TaskMetadata {
  dispatchId: string;
  /** First node of the job; for a packed chain, `nodeIds` lists all members. */
  nodeId: number;
  nodeIds: number[];
  name: string;
  /**
   * The task's time limit (ms of running time), when it has one: executors
   * that can tell their resource do (Slurm `--time`, Batch
   * `attemptDurationSeconds`), so the limit holds even if the dispatcher dies.
   */
  timeLimitMs?: number;
}

/**
 * A job handle names the job on its compute resource: enough for `cancel` to
 * find and stop it, even from another process after a round trip through the
 * store. Plain JSON only, and never a secret.
 */
export type JobHandle = { [key: string]: string | number | boolean | null | JobHandle | JobHandle[] };

/** An executor's rebuildable, secret-free configuration (defined with the workflow's executor specs). */
export type { ExecutorConfig };

/**
 * What `cancel` established, in full. `confirmed` only when the executor saw
 * the job gone (stopped by this cancel, or nothing of it was running);
 * `detail` says what it did and saw, e.g. "job was RUNNABLE; CancelJob;
 * FAILED": it reaches the cancel report and the node's `cancelDetail`.
 */
export interface CancelVerdictDetails {
  confirmed: boolean;
  detail?: string;
  /** The executor had to use force (SIGKILL after the grace period, TerminateJob after CancelJob). */
  escalated?: boolean;
  /**
   * Whether the resource had started the job when the cancel reached it, if
   * the executor knows: `false` makes the outcome `aborted_before_start`,
   * `true` makes it `killed`; absent, the last reported status decides.
   */
  started?: boolean;
  /** The job had ended by itself before the cancel reached it: its own outcome stands (never reported killed). */
  alreadyFinished?: boolean;
}

/**
 * What `cancel` resolves with: the details, or the short forms `true` (the
 * job is gone), `false` (could not confirm) and `'already_finished'` (it had
 * ended by itself), which plugins written before the details keep using.
 */
export type CancelVerdict = CancelVerdictDetails | boolean | 'already_finished';

/** The one place a verdict's short forms are read. */
export function toCancelVerdict(answer: CancelVerdict, executorType: string): CancelVerdictDetails {
  if (answer === 'already_finished') return { confirmed: true, detail: 'the job had already ended by itself', alreadyFinished: true };
  if (typeof answer === 'boolean') {
    return answer ? { confirmed: true } : { confirmed: false, detail: `the ${executorType} executor could not confirm that the job stopped` };
  }
  return answer;
}

/**
 * Where the job is on its resource, as an executor reports it: `QUEUED` once
 * submitted and waiting for the resource (Slurm PENDING, Batch RUNNABLE,
 * Braket QUEUED), `RUNNING` once the resource started it.
 */
export type ResourceStatus = 'QUEUED' | 'RUNNING';

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
  /**
   * Tell the dispatcher whether the resource has started the job: the node
   * shows QUEUED while it waits, and a queued job cancelled is reported as
   * aborted before it started. Ignored once a cancel is in progress.
   */
  reportStatus(status: ResourceStatus): void;
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
 * It resolves with a {@link CancelVerdict}: `confirmed` only when the job is
 * known to be gone (a plain boolean from older plugins is still accepted, see
 * {@link toCancelVerdict}).
 *
 * @example
 * ```ts
 * // submit, waitUntilDone, downloadOutput and killAndWait stand for your resource's API.
 * class MyClusterExecutor extends ct.Executor<ct.TaskPayload, { jobId: string }> {
 *   readonly type = 'my-cluster';
 *   protected publicOptions() { return {}; }
 *   protected async run(payload: ct.TaskPayload, ctx: ct.ExecutionContext) {
 *     const jobId = await submit(payload);
 *     await ctx.setJobHandle({ jobId }); // a cancel arriving meanwhile kills this job
 *     await waitUntilDone(jobId);
 *     return { jobId };
 *   }
 *   protected async fetch(job: { jobId: string }) {
 *     return downloadOutput(job.jobId);
 *   }
 *   async cancel(_task: ct.TaskMetadata, handle: ct.JobHandle): Promise<ct.CancelVerdict> {
 *     const gone = await killAndWait(String(handle.jobId));
 *     return { confirmed: gone, detail: gone ? 'killed; job gone' : 'job still listed after 10 s' };
 *   }
 * }
 * ct.registerExecutor('my-cluster', () => new MyClusterExecutor());
 * ```
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

  /**
   * Whether jobs run inside the dispatching process (they cannot outlive
   * it). A job elsewhere whose kill is unconfirmed may still be running, so
   * its node stays CANCELLING until a retry confirms the kill.
   */
  readonly runsInProcess: boolean = false;

  /**
   * The executor's `price` option (see price.ts): gives each task an
   * estimated cost, summed per dispatch and checked against its budget.
   */
  price: Price | undefined = undefined;

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
      // A job that finished on its resource keeps its (paid-for) result even if a cancel just arrived.
      if (!this.jobFinished(job)) ctx.checkCancelled('fetch');
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
  /**
   * Whether the job `run` returned has ended on its resource with a result
   * to fetch. Only an unfinished job is stopped by a cancel before `fetch`; a
   * finished one is fetched and reported `already_finished`. Default false
   * (the cancel check applies); executors that know better override it.
   */
  protected jobFinished(_job: Job): boolean {
    return false;
  }
  /** Bring back the outputs. Default: the job value is already a TaskOutput. */
  protected async fetch(job: Job, _prepared: Prepared, _ctx: ExecutionContext): Promise<TaskOutput> {
    return job as unknown as TaskOutput;
  }
  /** Release what serialize/upload/provision/run created. Runs after success, failure and cancel. */
  protected async cleanup(_prepared: Prepared, _ctx: ExecutionContext, _job: Job | undefined): Promise<void> {}

  /**
   * Stop the job named by `jobHandle` and release its resources. Resolve with
   * a {@link CancelVerdict}: a {@link CancelVerdictDetails} (preferred: it
   * says what was done and seen), or `true` when the executor confirmed the
   * job is gone, `'already_finished'` when it found the job had ended by
   * itself, `false` (or throw, with the reason) when it could not confirm.
   * Must be safe to call twice and on a job that already ended, and must
   * never signal anything it cannot prove is the job's (ids such as pids get
   * reused).
   */
  abstract cancel(taskMetadata: TaskMetadata, jobHandle: JobHandle): Promise<CancelVerdict>;

  /** Release pooled resources (connections, worker processes). */
  async close(): Promise<void> {}
}

/**
 * Capability of an in-process executor: call a single task's function here,
 * directly, skipping the step template (nothing to serialize or upload).
 * Returns the value or a promise of it; `cancel` can still wait for it.
 */
export interface DirectRunner {
  runInline(fn: (...args: any[]) => unknown, args: unknown[], ctx: TaskContext, key: string): unknown;
}

/** Whether the dispatcher may hand this executor single tasks through `runInline` (see DirectRunner). */
export function runsFunctionsDirectly<E extends Executor<any, any>>(executor: E): executor is E & DirectRunner {
  return executor.runsInProcess && typeof (executor as Partial<DirectRunner>).runInline === 'function';
}

/** Helper for plugins: throw the standard error when a step sees a cancel. */
export function cancelledAt(step: string, metadata: TaskMetadata): TaskCancelledError {
  return new TaskCancelledError(`Task ${metadata.nodeId} (${metadata.name}) was cancelled before step "${step}".`, {
    details: { dispatchId: metadata.dispatchId, nodeIds: metadata.nodeIds, step },
  });
}
