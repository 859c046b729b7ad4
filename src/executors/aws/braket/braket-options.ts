/** BraketExecutor options and their validation. */
import { OptionChecker } from '../aws-options';

/** The device of the local state-vector simulator (no AWS account needed). */
export const LOCAL_STATE_VECTOR = 'local:state_vector';

export type BraketMode = 'quantum-task' | 'hybrid-job';

export interface BraketExecutorOptions {
  /** AWS region of the device and the bucket, e.g. `us-east-1`. */
  region: string;
  /** A Braket device ARN, or `local:state_vector` for the local simulator. */
  deviceArn: string;
  /** Shots per quantum task (default 1000; 0..100000). */
  shots?: number;
  /** Bucket for results (and, for hybrid jobs, payloads). Not needed for `local:state_vector`. */
  s3Bucket: string;
  /** Key prefix inside the bucket (default `covalent-ts`). */
  s3Prefix?: string;
  /** `quantum-task` (default): the electron returns an OpenQASM 3 program; `hybrid-job`: the electron runs in a Braket hybrid job. */
  mode?: BraketMode;
  endpoints?: { braket?: string; s3?: string };
  /** Device parameters of each quantum task (sent as JSON). */
  deviceParameters?: Record<string, unknown>;
  /** First poll interval (default 1000 ms); it backs off up to 15 s while nothing changes. */
  pollIntervalMs?: number;
  /** Hybrid jobs: the container image (ECR URI) with Node 20 and covalent-ts (examples/Dockerfile.aws). */
  jobImage?: string;
  /** Hybrid jobs: the instance type (default `ml.m5.large`). */
  instanceType?: string;
  /** Hybrid jobs: the job's execution role ARN. */
  roleArn?: string;
}

export interface ResolvedBraketOptions {
  region: string;
  deviceArn: string;
  local: boolean;
  shots: number;
  s3Bucket: string;
  s3Prefix: string;
  mode: BraketMode;
  endpoints: { braket?: string; s3?: string };
  deviceParameters: Record<string, unknown>;
  pollIntervalMs: number;
  maxPollIntervalMs: number;
  jobImage?: string;
  instanceType: string;
  roleArn?: string;
}

const DEVICE_ARN = /^arn:aws:braket:[a-z0-9-]*:(\d{12})?:device\/(quantum-simulator|qpu)\/[A-Za-z0-9-]+\/[A-Za-z0-9-]+$/;
const ROLE_ARN = /^arn:aws[a-z-]*:iam::\d{12}:role\/[\w+=,.@/-]{1,512}$/;
const IMAGE = /^\d{12}\.dkr\.ecr\.[a-z0-9-]+\.amazonaws\.com(\.cn)?\/[a-z0-9._/-]+(:[\w.-]+|@sha256:[0-9a-f]{64})?$/;
export const MAX_SHOTS = 100_000;

export function resolveBraketOptions(options: BraketExecutorOptions): ResolvedBraketOptions {
  const c = new OptionChecker('BraketExecutor options', options as unknown as Record<string, unknown>);
  const deviceArn = c.string('deviceArn', true);
  const local = deviceArn === LOCAL_STATE_VECTOR;
  if (!local && !DEVICE_ARN.test(deviceArn)) {
    c.fail(`"deviceArn" ${JSON.stringify(deviceArn)} is not a Braket device ARN (e.g. "arn:aws:braket:::device/quantum-simulator/amazon/sv1") or "${LOCAL_STATE_VECTOR}".`);
  }
  const mode = (c.string('mode') ?? 'quantum-task') as BraketMode;
  if (mode !== 'quantum-task' && mode !== 'hybrid-job') c.fail(`"mode" must be "quantum-task" or "hybrid-job"; got ${JSON.stringify(mode)}.`);
  if (mode === 'hybrid-job' && local) c.fail(`"mode": "hybrid-job" needs an AWS device; "${LOCAL_STATE_VECTOR}" runs quantum tasks only.`);
  const dp = c.o.deviceParameters;
  if (dp !== undefined && (dp === null || typeof dp !== 'object' || Array.isArray(dp))) c.fail('"deviceParameters" must be an object.');
  const hybrid = mode === 'hybrid-job';
  return {
    region: c.region(),
    deviceArn,
    local,
    shots: c.int('shots', 0, MAX_SHOTS, 1000),
    s3Bucket: local && c.o.s3Bucket === undefined ? '' : c.bucket(),
    s3Prefix: c.prefix(),
    mode,
    endpoints: c.endpoints(['braket', 's3']),
    deviceParameters: { ...((dp as Record<string, unknown>) ?? {}) },
    ...c.pollIntervals(1000, 15_000),
    jobImage: hybrid ? c.string('jobImage', true, IMAGE, '"123456789012.dkr.ecr.us-east-1.amazonaws.com/covalent-ts:1"') : c.string('jobImage'),
    instanceType: c.string('instanceType', false, /^ml\.[a-z0-9]+\.[a-z0-9]+$/, '"ml.m5.large"') ?? 'ml.m5.large',
    roleArn: hybrid ? c.string('roleArn', true, ROLE_ARN, '"arn:aws:iam::123456789012:role/BraketJobRole"') : c.string('roleArn'),
  };
}
