/**
 * The executors' side of a task's S3 files: where they go, uploading the
 * payload, reading the result back, and removing them afterwards.
 */
import { createHash, randomUUID } from 'node:crypto';
import type { S3Client } from '@aws-sdk/client-s3';
import { ErrorCodes, ExecutorError } from '../../errors';
import type { TaskMetadata } from '../executor';
import type { TaskOutput, TaskPayload } from '../task-payload';
import { decodeOutput } from '../runner/payload-codec';
import { S3TaskFiles, deleteObjects, encodeRemoteTask, getObject, putObject, s3Url, siblingKey, type S3Location } from './s3-task-files';

export interface StagedTask {
  /** The payload object; the task's other files sit next to it. */
  payload: S3Location;
  url: string;
  bytes: Buffer;
  /** Identifies the electron (its source): tasks of one fan-out share it. */
  electron: string;
}

export function stageTask(bucket: string, prefix: string, payload: TaskPayload, meta: TaskMetadata): StagedTask {
  const key = `${prefix}/${meta.dispatchId}/${meta.nodeId}-${randomUUID().slice(0, 8)}/${S3TaskFiles.payload}`;
  const loc = { bucket, key };
  // The function objects stay here: only their source travels.
  const steps = payload.steps.map(({ fn: _fn, ...s }) => s);
  const electron = createHash('sha256').update(steps.map((s) => s.source).join('\0')).digest('hex');
  return { payload: loc, url: s3Url(loc), electron, bytes: encodeRemoteTask({ version: 1, dispatchId: meta.dispatchId, payload: { ...payload, steps } }) };
}

export async function uploadTask(s3: S3Client, task: StagedTask): Promise<void> {
  await putObject(s3, task.payload, task.bytes);
}

const sibling = (loc: S3Location, name: string): S3Location => ({ bucket: loc.bucket, key: siblingKey(loc.key, name) });

/** The task's output, or undefined when the runner wrote none (the job never ran to the end). */
export async function readTaskOutput(s3: S3Client, payload: S3Location): Promise<TaskOutput | undefined> {
  const bytes = await getObject(s3, sibling(payload, S3TaskFiles.output));
  if (!bytes) return undefined;
  let output: TaskOutput;
  try {
    output = decodeOutput(bytes);
  } catch (e) {
    throw new ExecutorError(ErrorCodes.EXECUTOR_FAILED, `The task's result at ${s3Url(sibling(payload, S3TaskFiles.output))} cannot be read: ${(e as Error).message}`);
  }
  const [stdout, stderr] = await Promise.all([
    getObject(s3, sibling(payload, S3TaskFiles.stdout)),
    getObject(s3, sibling(payload, S3TaskFiles.stderr)),
  ]);
  return { ...output, stdout: stdout?.toString('utf8') ?? '', stderr: stderr?.toString('utf8') ?? '' };
}

export async function removeTaskFiles(s3: S3Client, payload: S3Location): Promise<void> {
  const names = Object.values(S3TaskFiles);
  await deleteObjects(s3, payload.bucket, names.map((n) => siblingKey(payload.key, n)));
}
