/**
 * A task's files in S3, shared by the executors (which upload the payload
 * and read the result) and `covalent-ts run-task` (which does the reverse,
 * inside the job's container). All of a task's objects sit under one
 * directory-like prefix:
 *
 *     s3://BUCKET/PREFIX/DISPATCH/NODE-UNIQUE/payload.bin   the task (V8 format)
 *                                            /output.bin    the TaskOutput
 *                                            /stdout, /stderr
 */
import * as v8 from 'node:v8';
import type { S3Client } from '@aws-sdk/client-s3';
import { ErrorCodes, InvalidInputError } from '../../errors';
import type { TaskPayload } from '../task-payload';
import { withThrottleRetry } from './throttle';

/** In an array job's directory: the JSON list of each child's payload URL, by array index. */
export const ARRAY_MANIFEST = 'array-manifest.json';

export const S3TaskFiles = {
  payload: 'payload.bin',
  output: 'output.bin',
  stdout: 'stdout',
  stderr: 'stderr',
} as const;

/** What `run-task` downloads: the payload and the dispatch it belongs to. */
export interface RemoteTask {
  version: 1;
  dispatchId: string;
  payload: TaskPayload;
}

export interface S3Location {
  bucket: string;
  key: string;
}

export function parseS3Url(url: string): S3Location {
  const m = /^s3:\/\/([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])\/(.+)$/.exec(url);
  if (!m) {
    throw new InvalidInputError(ErrorCodes.INVALID_ARGUMENT, `"${url}" is not an S3 URL like s3://my-bucket/path/payload.bin.`);
  }
  return { bucket: m[1], key: m[2] };
}

export const s3Url = (loc: S3Location): string => `s3://${loc.bucket}/${loc.key}`;

/** The key next to `key` (same directory) named `name`. */
export function siblingKey(key: string, name: string): string {
  return `${key.slice(0, key.lastIndexOf('/') + 1)}${name}`;
}

export function encodeRemoteTask(task: RemoteTask): Buffer {
  return v8.serialize(task);
}
export function decodeRemoteTask(bytes: Buffer): RemoteTask {
  const t = v8.deserialize(bytes) as RemoteTask;
  if (!t || t.version !== 1 || !t.payload) throw new Error('The payload object is not a covalent-ts task (version 1).');
  return t;
}

export async function putObject(s3: S3Client, loc: S3Location, body: Buffer | string): Promise<void> {
  const { PutObjectCommand } = await import('@aws-sdk/client-s3');
  await withThrottleRetry(() => s3.send(new PutObjectCommand({ Bucket: loc.bucket, Key: loc.key, Body: body })));
}

/** The object's bytes, or undefined when it does not exist. */
export async function getObject(s3: S3Client, loc: S3Location): Promise<Buffer | undefined> {
  const { GetObjectCommand } = await import('@aws-sdk/client-s3');
  try {
    const r = await withThrottleRetry(() => s3.send(new GetObjectCommand({ Bucket: loc.bucket, Key: loc.key })));
    return Buffer.from(await r.Body!.transformToByteArray());
  } catch (e) {
    if ((e as { name?: string }).name === 'NoSuchKey' || (e as any)?.$metadata?.httpStatusCode === 404) return undefined;
    throw e;
  }
}

export async function deleteObjects(s3: S3Client, bucket: string, keys: string[]): Promise<void> {
  const { DeleteObjectCommand } = await import('@aws-sdk/client-s3');
  // One DeleteObject per key: DeleteObjects needs a Content-MD5 that S3-compatible servers handle unevenly.
  await Promise.all(keys.map((Key) => withThrottleRetry(() => s3.send(new DeleteObjectCommand({ Bucket: bucket, Key })))));
}
