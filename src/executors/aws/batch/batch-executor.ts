import type { BatchClient } from '@aws-sdk/client-batch';
import type { S3Client } from '@aws-sdk/client-s3';
import { ErrorCodes, ExecutorError, TaskCancelledError } from '../../../errors';
import type { Reservation } from '../../submission-batcher';
import { Executor, cancelledAt, type CancelVerdict, type ExecutionContext, type JobHandle, type TaskMetadata } from '../../executor';
import type { TaskOutput, TaskPayload } from '../../task-payload';
import { batchClient, s3Client } from '../aws-clients';
import { readTaskOutput, removeTaskFiles, stageTask, uploadTask, type StagedTask } from '../s3-task-staging';
import { BatchCanceller } from './batch-canceller';
import { BatchSubmitter, type Submission, type Submitted } from './batch-submitter';
import { BatchJobWatcher } from './batch-job-watcher';
import { resolveBatchOptions, type AWSBatchExecutorOptions, type ResolvedBatchOptions } from './batch-options';
import { TERMINAL, looksCancelled, resourceStatusOf, type BatchJobState } from './batch-states';

/** What the store keeps to find (and cancel) a Batch job from any process. No secrets. */
export interface AWSBatchJobHandle extends JobHandle {
  jobId: string;
  jobQueue: string;
  region: string;
  /** s3:// URL of the payload; the result, stdout and stderr sit next to it. */
  payload: string;
  /** CloudWatch Logs stream of the container, once it started. */
  logStreamName: string | null;
  /** A child of an array job (`jobId` is `parent:index`): the parent and the array's size. */
  arrayParentId: string | null;
  arraySize: number | null;
}

/**
 * Runs each task as an AWS Batch job whose container runs
 * `covalent-ts run-task --payload s3://...` (an image with Node 20 and
 * covalent-ts: see examples/Dockerfile.aws). Payloads and results travel
 * through S3; credentials come from the SDK's default provider chain.
 *
 * Cancel: CancelJob for a job not yet STARTING, TerminateJob once it is,
 * confirmed by polling until the job is terminal. The node ends CANCELLED
 * (AWS itself reports such a job FAILED).
 *
 * @example
 * const ex = new ct.AWSBatchExecutor({ region: 'us-east-1', jobQueue: 'gpu', jobDefinition: 'covalent-ts:1', s3Bucket: 'my-bucket' });
 * const train = ct.electron(trainModel, { executor: ex });
 */
/** A staged task and its place in its fan-out's submission. */
interface BatchPrepared {
  task: StagedTask;
  slot: Reservation<Submission, Submitted>;
}

export class AWSBatchExecutor extends Executor<BatchPrepared, BatchJobState> {
  readonly type = 'awsbatch';
  readonly options: ResolvedBatchOptions;
  private batch: Promise<BatchClient> | undefined;
  private s3: Promise<S3Client> | undefined;
  private readonly watcher: BatchJobWatcher;
  private readonly canceller: BatchCanceller;
  private readonly submitter: BatchSubmitter;

  constructor(private readonly raw: AWSBatchExecutorOptions) {
    super();
    this.options = resolveBatchOptions(raw);
    this.submitter = new BatchSubmitter(this.options, () => this.batchClient(), () => this.s3Client(), this.options.arrayJobs);
    this.watcher = new BatchJobWatcher(() => this.batchClient(), this.options, () => undefined);
    this.canceller = new BatchCanceller(() => this.batchClient(), this.watcher, {
      confirmTimeoutMs: 90_000,
      pollIntervalMs: Math.min(this.options.pollIntervalMs, 1000),
    });
  }

  protected publicOptions(): Record<string, unknown> {
    return { ...this.raw } as Record<string, unknown>;
  }

  override label(): string {
    return `awsbatch(${this.options.jobQueue})`;
  }

  private batchClient(): Promise<BatchClient> {
    this.batch ??= batchClient(this.options.region, this.options.endpoints.batch);
    return this.batch;
  }
  private s3Client(): Promise<S3Client> {
    this.s3 ??= s3Client(this.options.region, this.options.endpoints.s3);
    return this.s3;
  }

  protected override async serialize(payload: TaskPayload, ctx: ExecutionContext): Promise<BatchPrepared> {
    // Runs before the first await of execute(): every task of a fan-out has its place before any submits.
    const task = stageTask(this.options.s3Bucket, this.options.s3Prefix, payload, ctx.metadata);
    return { task, slot: this.submitter.reserve(ctx.metadata, task.electron) };
  }

  protected override async upload({ task }: BatchPrepared): Promise<void> {
    await uploadTask(await this.s3Client(), task);
  }

  protected async run({ task, slot }: BatchPrepared, ctx: ExecutionContext): Promise<BatchJobState> {
    const o = this.options;
    const { jobId, arrayParentId, arraySize } = await slot.submit({ task, meta: ctx.metadata });
    const handle: AWSBatchJobHandle = {
      jobId, jobQueue: o.jobQueue, region: o.region, payload: task.url, logStreamName: null,
      arrayParentId: arrayParentId ?? null, arraySize: arraySize ?? null,
    };
    ctx.reportStatus('QUEUED');
    // Stored at once; a cancel that raced the submit cancels the new job here.
    await ctx.setJobHandle(handle);
    const state = await this.waitUntilTerminal(jobId, ctx, handle);
    if (state.status === 'FAILED') {
      if (ctx.isCancelRequested()) throw cancelledAt('run', ctx.metadata);
      if (looksCancelled(state)) {
        throw new TaskCancelledError(`AWS Batch job ${jobId} was stopped outside covalent-ts: ${state.statusReason}`, {
          details: { jobId, statusReason: state.statusReason },
        });
      }
    }
    return state;
  }

  private waitUntilTerminal(jobId: string, ctx: ExecutionContext, handle: AWSBatchJobHandle): Promise<BatchJobState> {
    return new Promise((resolve) => {
      const removeCancel = ctx.onCancel(() => this.watcher.refresh());
      const stop = this.watcher.watch(jobId, (s) => {
        if (!TERMINAL.has(s.status)) ctx.reportStatus(resourceStatusOf(s.status));
        if (s.logStreamName && !handle.logStreamName && !ctx.isCancelRequested()) {
          handle.logStreamName = s.logStreamName;
          void ctx.setJobHandle(handle).catch(() => undefined);
        }
        if (TERMINAL.has(s.status)) {
          // A job that ran between two polls still ran: say so before its end is reported.
          if (s.startedAt !== undefined) ctx.reportStatus('RUNNING');
          stop();
          removeCancel();
          resolve(s);
        }
      });
    });
  }

  /** SUCCEEDED, or FAILED on its own: the runner's result (or its absence) tells what happened. */
  protected override jobFinished(state: BatchJobState): boolean {
    return TERMINAL.has(state.status);
  }

  protected override async fetch(state: BatchJobState, { task }: BatchPrepared): Promise<TaskOutput> {
    const output = await readTaskOutput(await this.s3Client(), task.payload);
    if (!output) {
      throw new ExecutorError(
        ErrorCodes.EXECUTOR_FAILED,
        `AWS Batch job ${state.jobId} ended ${state.status}${state.statusReason ? ` (${state.statusReason})` : ''} without a result` +
          `${state.logStreamName ? `; see CloudWatch Logs stream ${state.logStreamName}` : ''}.`,
        { details: { jobId: state.jobId, status: state.status, statusReason: state.statusReason, logStreamName: state.logStreamName } },
      );
    }
    return output;
  }

  protected override async cleanup({ task, slot }: BatchPrepared, ctx: ExecutionContext, state: BatchJobState | undefined): Promise<void> {
    // A task that stopped before submitting gives its place up, so its fan-out's peers go ahead.
    slot.release();
    // Files of a job that may still run stay: the job would fail without its payload.
    if (state && !TERMINAL.has(state.status)) return;
    // In the background: the task's outcome does not wait for S3 (a wide cancel deletes thousands of objects).
    void this.s3Client()
      .then((s3) => removeTaskFiles(s3, task.payload))
      .catch((e) => ctx.log('stderr', `covalent-ts: could not remove ${task.url} and its results: ${(e as Error).message}\n`));
  }

  async cancel(_meta: TaskMetadata, jobHandle: JobHandle): Promise<CancelVerdict> {
    const h = jobHandle as AWSBatchJobHandle;
    if (typeof h.jobId !== 'string') return { confirmed: false, detail: 'the job handle has no Batch job id' };
    return this.canceller.cancel(h.jobId, typeof h.arrayParentId === 'string' ? { parentId: h.arrayParentId, size: Number(h.arraySize) } : undefined);
  }

  override async close(): Promise<void> {
    this.watcher.close();
    (await this.batch)?.destroy();
    (await this.s3)?.destroy();
  }
}
