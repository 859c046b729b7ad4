/**
 * SubmitJob for one task, or one array job for a fan-out: tasks of the same
 * electron and dispatch that reach `submit` together (see
 * SubmissionBatcher) become one Batch array job of that size. Each child
 * reads its payload through a manifest (`array-manifest.json`, the payload
 * URL of each index) and writes its result next to its own payload, so the
 * rest of a task's life does not care whether it ran as a child.
 */
import { randomUUID } from 'node:crypto';
import type { BatchClient, KeyValuePair, ResourceRequirement } from '@aws-sdk/client-batch';
import type { S3Client } from '@aws-sdk/client-s3';
import type { TaskMetadata } from '../../executor';
import { SubmissionBatcher, type Reservation } from '../../submission-batcher';
import { S3_ENDPOINT_ENV } from '../aws-clients';
import { jobNameFor } from '../aws-options';
import { ARRAY_MANIFEST, putObject, s3Url } from '../s3-task-files';
import type { StagedTask } from '../s3-task-staging';
import { withThrottleRetry } from '../throttle';
import type { ResolvedBatchOptions } from './batch-options';

/** Batch's limits on array jobs. */
export const ARRAY_MIN = 2;
export const ARRAY_MAX = 10_000;

export interface Submission {
  task: StagedTask;
  meta: TaskMetadata;
}

export interface Submitted {
  jobId: string;
  /** For a child of an array job: the parent's id and the array's size. */
  arrayParentId?: string;
  arraySize?: number;
}

export class BatchSubmitter {
  private readonly batcher: SubmissionBatcher<Submission, Submitted>;

  constructor(
    private readonly options: ResolvedBatchOptions,
    private readonly batch: () => Promise<BatchClient>,
    private readonly s3: () => Promise<S3Client>,
    arrayJobs: boolean,
  ) {
    this.batcher = new SubmissionBatcher((_key, items) => this.submitGroup(items), {
      maxWaitMs: 30_000,
      maxItems: arrayJobs ? ARRAY_MAX : 1,
    });
  }

  /**
   * A place for the task in its fan-out's submission: call when the task starts (synchronously);
   * `electronKey` names the electron (tasks of one dispatch with the same key share an array job).
   */
  reserve(meta: TaskMetadata, electronKey: string): Reservation<Submission, Submitted> {
    return this.batcher.reserve(`${meta.dispatchId}\0${electronKey}`);
  }

  private async submitGroup(items: Submission[]): Promise<Submitted[]> {
    if (items.length < ARRAY_MIN) return Promise.all(items.map(async (s) => ({ jobId: await this.send(s.meta, s.task.url) })));
    const first = items[0];
    const dir = { bucket: this.options.s3Bucket, key: `${this.options.s3Prefix}/${first.meta.dispatchId}/array-${randomUUID().slice(0, 8)}/` };
    await putObject(await this.s3(), { bucket: dir.bucket, key: `${dir.key}${ARRAY_MANIFEST}` }, JSON.stringify(items.map((s) => s.task.url)));
    const parent = await this.send(first.meta, s3Url(dir), items.length);
    return items.map((_, i) => ({ jobId: `${parent}:${i}`, arrayParentId: parent, arraySize: items.length }));
  }

  private async send(meta: TaskMetadata, payloadUrl: string, arraySize?: number): Promise<string> {
    const { SubmitJobCommand } = await import('@aws-sdk/client-batch');
    const client = await this.batch();
    const o = this.options;
    const resourceRequirements: ResourceRequirement[] = [];
    if (o.vcpus !== undefined) resourceRequirements.push({ type: 'VCPU', value: String(o.vcpus) });
    if (o.memoryMiB !== undefined) resourceRequirements.push({ type: 'MEMORY', value: String(o.memoryMiB) });
    const environment: KeyValuePair[] = [
      ...Object.entries(o.environment).map(([name, value]) => ({ name, value })),
      { name: 'CT_PAYLOAD', value: payloadUrl },
      { name: 'AWS_REGION', value: o.region },
      ...(o.endpoints.s3 ? [{ name: S3_ENDPOINT_ENV, value: o.endpoints.s3 }] : []),
    ];
    const r = await withThrottleRetry(() =>
      client.send(
        new SubmitJobCommand({
          jobName: arraySize ? `${jobNameFor(meta.name, meta.nodeId)}-x${arraySize}` : jobNameFor(meta.name, meta.nodeId),
          jobQueue: o.jobQueue,
          jobDefinition: o.jobDefinition,
          ...(arraySize ? { arrayProperties: { size: arraySize } } : {}),
          // The task's time limit, held by Batch itself (it refuses less than 60 s).
          ...(meta.timeLimitMs !== undefined ? { timeout: { attemptDurationSeconds: batchAttemptSeconds(meta.timeLimitMs) } } : {}),
          containerOverrides: {
            command: ['covalent-ts', 'run-task', '--payload', payloadUrl],
            environment,
            ...(resourceRequirements.length ? { resourceRequirements } : {}),
          },
          tags: Object.keys(o.tags).length ? { ...o.tags, 'covalent-ts:dispatch': meta.dispatchId } : undefined,
        }),
      ),
    );
    return r.jobId!;
  }
}

/** Batch's `attemptDurationSeconds` for a time limit: whole seconds, rounded up, at least 60. */
export function batchAttemptSeconds(timeLimitMs: number): number {
  return Math.max(60, Math.ceil(timeLimitMs / 1000));
}
