/**
 * The work of `covalent-ts run-task` inside a job's container: S3 in, task,
 * S3 out. The task's stdout/stderr still go to the container's own streams
 * (CloudWatch Logs) and are also saved next to the payload for the notebook.
 */
import { runPayload } from '../runner/run-payload';
import { encodeSafely, installGlobals } from '../runner/remote-main';
import { S3_ENDPOINT_ENV, s3Client } from './aws-clients';
import { ARRAY_MANIFEST, S3TaskFiles, decodeRemoteTask, getObject, parseS3Url, putObject, siblingKey } from './s3-task-files';

type Write = typeof process.stdout.write;

/** Tee a stream's writes into `sink` while the task runs. */
function capture(stream: NodeJS.WriteStream, sink: string[]): () => void {
  const original = stream.write;
  stream.write = function (chunk: any, ...rest: any[]) {
    sink.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'));
    return (original as any).call(stream, chunk, ...rest);
  } as Write;
  return () => {
    stream.write = original;
  };
}

export async function runTaskFromS3(url: string, env: NodeJS.ProcessEnv): Promise<number> {
  const region = env.AWS_REGION ?? env.AWS_DEFAULT_REGION ?? 'us-east-1';
  const s3 = await s3Client(region, env[S3_ENDPOINT_ENV] || undefined);
  if (url.endsWith('/')) {
    // A child of an array job: its payload is the manifest's entry at its index.
    const dir = parseS3Url(url);
    const manifest = await getObject(s3, { bucket: dir.bucket, key: `${dir.key}${ARRAY_MANIFEST}` });
    const entry = manifest ? (JSON.parse(manifest.toString('utf8')) as string[])[Number(env.AWS_BATCH_JOB_ARRAY_INDEX)] : undefined;
    if (!entry) throw new Error(`No payload for array index ${env.AWS_BATCH_JOB_ARRAY_INDEX} in ${url}${ARRAY_MANIFEST}.`);
    url = entry;
  }
  const loc = parseS3Url(url);
  const bytes = await getObject(s3, loc);
  if (!bytes) throw new Error(`No payload at ${url}.`);
  const task = decodeRemoteTask(bytes);
  installGlobals();
  const out: string[] = [];
  const err: string[] = [];
  const restoreOut = capture(process.stdout, out);
  const restoreErr = capture(process.stderr, err);
  // A TERM from the scheduler (TerminateJob, CancelJob of a hybrid job) aborts the task's signal first.
  const controller = new AbortController();
  const onTerm = () => {
    controller.abort();
    setTimeout(() => process.exit(143), 200).unref();
  };
  process.once('SIGTERM', onTerm);
  let output;
  try {
    output = await runPayload(task.payload, { dispatchId: task.dispatchId, signal: controller.signal });
  } finally {
    restoreOut();
    restoreErr();
    process.off('SIGTERM', onTerm);
  }
  const at = (name: string) => ({ bucket: loc.bucket, key: siblingKey(loc.key, name) });
  // Logs first, the output last: a reader that sees output.bin finds the logs too.
  await Promise.all([putObject(s3, at(S3TaskFiles.stdout), out.join('')), putObject(s3, at(S3TaskFiles.stderr), err.join(''))]);
  await putObject(s3, at(S3TaskFiles.output), encodeSafely(output));
  return output.steps.every((s) => s.ok) ? 0 : 1;
}
