import type { Command } from 'commander';
import * as fs from 'node:fs';
import { ErrorCodes, InvalidInputError } from '../errors';
import { S3_ENDPOINT_ENV } from '../executors/aws/aws-clients';
import { BRAKET_HYPERPARAMETERS } from '../executors/aws/braket/hybrid-hyperparameters';

/**
 * Where the payload is: `--payload`, else `CT_PAYLOAD`, else (inside an
 * Amazon Braket hybrid job) the `ct_payload` hyperparameter, which comes with
 * the region and S3 endpoint to use. A URL ending in `/` names an array
 * job's directory: each child finds its payload in the directory's
 * manifest, by its `AWS_BATCH_JOB_ARRAY_INDEX`.
 */
export function taskLocationFrom(option: string | undefined, env: NodeJS.ProcessEnv): { url: string; env: NodeJS.ProcessEnv } {
  let url = option ?? env.CT_PAYLOAD;
  env = { ...env };
  if (!url && env.AMZN_BRAKET_HP_FILE) {
    const hp = JSON.parse(fs.readFileSync(env.AMZN_BRAKET_HP_FILE, 'utf8')) as Record<string, string>;
    url = hp[BRAKET_HYPERPARAMETERS.payload];
    env.AWS_REGION ??= hp[BRAKET_HYPERPARAMETERS.region];
    if (hp[BRAKET_HYPERPARAMETERS.s3Endpoint]) env[S3_ENDPOINT_ENV] ??= hp[BRAKET_HYPERPARAMETERS.s3Endpoint];
  }
  if (!url) {
    throw new InvalidInputError(ErrorCodes.INVALID_ARGUMENT, 'run-task needs the payload location: --payload s3://BUCKET/KEY (or CT_PAYLOAD).');
  }
  if (url.endsWith('/') && !/^\d+$/.test(env.AWS_BATCH_JOB_ARRAY_INDEX ?? '')) {
    throw new InvalidInputError(ErrorCodes.INVALID_ARGUMENT, `The payload ${url} is an array job's directory, but AWS_BATCH_JOB_ARRAY_INDEX is not set.`);
  }
  return { url, env };
}

/**
 * `covalent-ts run-task --payload s3://BUCKET/KEY`: the command a job's
 * container runs (AWS Batch, Braket hybrid jobs). Downloads the task, runs
 * it, writes `output.bin`, `stdout` and `stderr` next to the payload, and
 * exits with the task's exit code (0 when every step succeeded, 1 when one
 * failed, 2 when the runner itself could not work).
 */
export function registerRunTaskCommand(program: Command): void {
  program
    .command('run-task')
    .description('Run one task whose payload is in S3 (the command of an AWS Batch job or a Braket hybrid job).')
    .option('--payload <url>', 's3://BUCKET/KEY of the payload (default: $CT_PAYLOAD)')
    .action(async (opts: { payload?: string }) => {
      let code: number;
      try {
        const { runTaskFromS3 } = await import('../executors/aws/run-task-runner');
        const where = taskLocationFrom(opts.payload, process.env);
        code = await runTaskFromS3(where.url, where.env);
      } catch (e) {
        const err = e as { code?: string; message?: string };
        process.stderr.write(`covalent-ts run-task: ${err.message ?? String(e)}${err.code ? ` [${err.code}]` : ''}\n`);
        code = 2;
      }
      // Exit even if the task left timers or sockets open.
      process.exit(code);
    });
}
