/** AWSBatchExecutor options and their validation. */
import { CREDENTIAL_ENV_NAMES, OptionChecker } from '../aws-options';

export interface AWSBatchExecutorOptions {
  /** AWS region of the job queue and the bucket, e.g. `us-east-1`. */
  region: string;
  /** Name or ARN of the Batch job queue. */
  jobQueue: string;
  /** Name, `name:revision` or ARN of a job definition whose image has Node 20 and covalent-ts (see examples/Dockerfile.aws). */
  jobDefinition: string;
  /** Bucket for payloads, results and logs of tasks. */
  s3Bucket: string;
  /** Key prefix inside the bucket (default `covalent-ts`). */
  s3Prefix?: string;
  /** Endpoints other than AWS's (a VPC endpoint, a local test service). */
  endpoints?: { batch?: string; s3?: string };
  /** First poll interval of DescribeJobs (default 1000 ms); it backs off while nothing changes. */
  pollIntervalMs?: number;
  /** Longest poll interval (default 30000 ms). */
  maxPollIntervalMs?: number;
  /** Tags of each submitted job. */
  tags?: Record<string, string>;
  /** vCPUs of the container (overrides the job definition). */
  vcpus?: number;
  /** Memory of the container in MiB (overrides the job definition). */
  memoryMiB?: number;
  /** Environment variables of the container (stored with the configuration: never secrets). */
  environment?: Record<string, string>;
  /**
   * Submit a fan-out (one electron mapped over N inputs, submitted together) as one Batch array job
   * of size N, each task a child `jobId:index` (default true).
   */
  arrayJobs?: boolean;
}

export interface ResolvedBatchOptions {
  region: string;
  jobQueue: string;
  jobDefinition: string;
  s3Bucket: string;
  s3Prefix: string;
  endpoints: { batch?: string; s3?: string };
  pollIntervalMs: number;
  maxPollIntervalMs: number;
  tags: Record<string, string>;
  vcpus?: number;
  memoryMiB?: number;
  environment: Record<string, string>;
  arrayJobs: boolean;
}

const QUEUE = /^([A-Za-z0-9_-]{1,128}|arn:aws[a-z-]*:batch:[a-z0-9-]+:\d{12}:job-queue\/[A-Za-z0-9_-]{1,128})$/;
const DEFINITION = /^([A-Za-z0-9_-]{1,128}(:\d+)?|arn:aws[a-z-]*:batch:[a-z0-9-]+:\d{12}:job-definition\/[A-Za-z0-9_-]{1,128}(:\d+)?)$/;

export function resolveBatchOptions(options: AWSBatchExecutorOptions): ResolvedBatchOptions {
  const c = new OptionChecker('AWSBatchExecutor options', options as unknown as Record<string, unknown>);
  const environment = c.stringMap('environment', /^[A-Za-z_][A-Za-z0-9_]*$/, 'environment variable');
  const secret = Object.keys(environment).find((k) => CREDENTIAL_ENV_NAMES.test(k));
  if (secret) {
    c.fail(`"environment.${secret}" would store a credential with the dispatch. Give the job definition a job role instead; credentials come from the SDK's default provider chain.`);
  }
  return {
    region: c.region(),
    jobQueue: c.string('jobQueue', true, QUEUE, '"my-queue" or a job-queue ARN'),
    jobDefinition: c.string('jobDefinition', true, DEFINITION, '"covalent-ts:3" or a job-definition ARN'),
    s3Bucket: c.bucket(),
    s3Prefix: c.prefix(),
    endpoints: c.endpoints(['batch', 's3']),
    ...c.pollIntervals(1000, 30_000),
    tags: c.stringMap('tags', /^[\p{L}\p{N} _.:/=+@-]{1,128}$/u, 'tag'),
    vcpus: c.int('vcpus', 1, 256),
    memoryMiB: c.int('memoryMiB', 4, 4_000_000),
    environment,
    arrayJobs: c.bool('arrayJobs', true),
  };
}
