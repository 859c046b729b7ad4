/**
 * A stateful Amazon Braket. Quantum tasks move CREATED -> QUEUED -> RUNNING
 * -> COMPLETED on timers; at COMPLETED the program has run on a state-vector
 * simulator and `results.json` is in the task's S3 output directory.
 * CancelQuantumTask moves CANCELLING -> CANCELLED, is idempotent by client
 * token, and is refused (ConflictException) for a finished task. Hybrid jobs
 * move QUEUED -> RUNNING (the container's command runs as a local process,
 * with the hyperparameters file Braket gives it) -> COMPLETED | FAILED;
 * CancelJob moves CANCELLING -> CANCELLED after the process is stopped.
 */
import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { S3Client, PutObjectCommand } from '@aws-sdk/client-s3';
import { parseOpenQasm } from '../../../src/executors/aws/braket/openqasm';
import { simulate } from '../../../src/executors/aws/braket/state-vector';
import { gateModelResult } from '../../../src/executors/aws/braket/braket-result';
import { AwsError, type AwsHttpServer } from './aws-http';
import { JobProcess } from './job-process';

type TaskState = 'CREATED' | 'QUEUED' | 'RUNNING' | 'COMPLETED' | 'FAILED' | 'CANCELLING' | 'CANCELLED';
type JobState = 'QUEUED' | 'RUNNING' | 'COMPLETED' | 'FAILED' | 'CANCELLING' | 'CANCELLED';
const DONE = new Set(['COMPLETED', 'FAILED', 'CANCELLED']);
const ARN = /^arn:aws:braket:[a-z0-9-]*:(\d{12})?:device\/(quantum-simulator|qpu)\/[A-Za-z0-9-]+\/[A-Za-z0-9-]+$/;
const ROLE = /^arn:aws:iam::\d{12}:role\/.+$/;

export interface LocalQuantumTask {
  arn: string;
  status: TaskState;
  deviceArn: string;
  shots: number;
  action: any;
  clientToken: string;
  outputS3Bucket: string;
  outputS3Directory: string;
  createdAt: Date;
  endedAt?: Date;
  failureReason?: string;
  cancelTokens: Set<string>;
  timer?: NodeJS.Timeout;
}

export interface LocalHybridJob {
  arn: string;
  jobName: string;
  status: JobState;
  roleArn: string;
  body: any;
  createdAt: Date;
  startedAt?: Date;
  endedAt?: Date;
  failureReason?: string;
  process?: JobProcess;
  timer?: NodeJS.Timeout;
}

export interface BraketKnobs {
  /** ms in each state before the next (Infinity holds it there). */
  taskTimings: { CREATED: number; QUEUED: number; RUNNING: number; CANCELLING: number };
  jobTimings: { QUEUED: number; CANCELLING: number };
  /** A cancelled hybrid job's container: SIGTERM, SIGKILL after this many ms. */
  terminateGraceMs: number;
}

export class LocalBraket {
  readonly tasks = new Map<string, LocalQuantumTask>();
  readonly jobs = new Map<string, LocalHybridJob>();
  readonly knobs: BraketKnobs = {
    taskTimings: { CREATED: 20, QUEUED: 40, RUNNING: 40, CANCELLING: 40 },
    jobTimings: { QUEUED: 50, CANCELLING: 20 },
    terminateGraceMs: 30_000,
  };
  private s3: S3Client | undefined;

  constructor(
    http: AwsHttpServer,
    private readonly region: string,
    private readonly processEnv: () => Record<string, string>,
    private readonly commandMap: Record<string, string[]>,
    private readonly s3Endpoint: () => string,
  ) {
    http.add({ method: 'POST', path: '/quantum-task', op: 'CreateQuantumTask', status: 201, handle: (b) => this.createTask(b) });
    http.add({ method: 'GET', path: '/quantum-task/{arn}', op: 'GetQuantumTask', handle: (_b, p) => this.taskView(this.task(p.arn)) });
    http.add({ method: 'PUT', path: '/quantum-task/{arn}/cancel', op: 'CancelQuantumTask', handle: (b, p) => this.cancelTask(this.task(p.arn), b) });
    http.add({ method: 'POST', path: '/job', op: 'CreateJob', status: 201, handle: (b) => this.createJob(b) });
    http.add({ method: 'GET', path: '/job/{arn}', op: 'GetJob', handle: (_b, p) => this.jobView(this.job(p.arn)) });
    http.add({ method: 'PUT', path: '/job/{arn}/cancel', op: 'CancelJobBraket', handle: (_b, p) => this.cancelJob(this.job(p.arn)) });
  }

  shutdown(): void {
    for (const t of this.tasks.values()) clearTimeout(t.timer);
    for (const j of this.jobs.values()) {
      clearTimeout(j.timer);
      j.process?.kill();
    }
    this.s3?.destroy();
  }

  release(): void {
    for (const t of this.tasks.values()) if (!t.timer && !DONE.has(t.status)) this.stepTask(t);
    for (const j of this.jobs.values()) if (!j.timer && j.status === 'QUEUED') this.stepJob(j);
  }

  private s3Client(): S3Client {
    this.s3 ??= new S3Client({
      region: this.region, endpoint: this.s3Endpoint(), forcePathStyle: true,
      requestChecksumCalculation: 'WHEN_REQUIRED', responseChecksumValidation: 'WHEN_REQUIRED',
      credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
    });
    return this.s3;
  }

  // ---- quantum tasks --------------------------------------------------------

  private task(arn: string): LocalQuantumTask {
    const t = this.tasks.get(arn);
    if (!t) throw new AwsError(404, 'ResourceNotFoundException', `Quantum task ${arn} not found`);
    return t;
  }

  private createTask(b: any): unknown {
    if (typeof b.deviceArn !== 'string' || !ARN.test(b.deviceArn)) throw new AwsError(400, 'ValidationException', `Device ${b.deviceArn} is not a valid device ARN`);
    if (!Number.isInteger(b.shots) || b.shots < 0 || b.shots > 100_000) throw new AwsError(400, 'ValidationException', 'shots must be between 0 and 100000');
    for (const k of ['outputS3Bucket', 'outputS3KeyPrefix', 'action', 'clientToken']) {
      if (typeof b[k] !== 'string' || !b[k]) throw new AwsError(400, 'ValidationException', `${k} is required`);
    }
    const existing = [...this.tasks.values()].find((t) => t.clientToken === b.clientToken);
    if (existing) return { quantumTaskArn: existing.arn };
    let action: any;
    try {
      action = JSON.parse(b.action);
    } catch {
      throw new AwsError(400, 'ValidationException', 'action is not JSON');
    }
    if (action?.braketSchemaHeader?.name !== 'braket.ir.openqasm.program') throw new AwsError(400, 'ValidationException', 'Unsupported action type');
    const id = randomUUID();
    const t: LocalQuantumTask = {
      arn: `arn:aws:braket:${this.region}:123456789012:quantum-task/${id}`, status: 'CREATED', deviceArn: b.deviceArn, shots: b.shots,
      action, clientToken: b.clientToken, outputS3Bucket: b.outputS3Bucket, outputS3Directory: `${b.outputS3KeyPrefix.replace(/\/$/, '')}/${id}`,
      createdAt: new Date(), cancelTokens: new Set(),
    };
    this.tasks.set(t.arn, t);
    this.stepTask(t);
    return { quantumTaskArn: t.arn };
  }

  private stepTask(t: LocalQuantumTask): void {
    const next: Partial<Record<TaskState, TaskState>> = { CREATED: 'QUEUED', QUEUED: 'RUNNING', RUNNING: 'COMPLETED', CANCELLING: 'CANCELLED' };
    const to = next[t.status];
    const ms = this.knobs.taskTimings[t.status as keyof BraketKnobs['taskTimings']];
    if (!to || !Number.isFinite(ms)) return;
    t.timer = setTimeout(async () => {
      t.timer = undefined;
      if (to === 'COMPLETED') {
        try {
          await this.writeResult(t);
        } catch (e) {
          t.failureReason = (e as Error).message;
          return this.endTask(t, 'FAILED');
        }
        // A cancel may have arrived while the result was being written: it lost the race.
        if (t.status !== 'RUNNING') return;
        return this.endTask(t, 'COMPLETED');
      }
      if (to === 'CANCELLED') return this.endTask(t, 'CANCELLED');
      if (t.status === 'CANCELLING') return;
      t.status = to;
      this.stepTask(t);
    }, ms);
  }

  private endTask(t: LocalQuantumTask, status: TaskState): void {
    if (DONE.has(t.status)) return;
    clearTimeout(t.timer);
    t.timer = undefined;
    t.status = status;
    t.endedAt = new Date();
  }

  private async writeResult(t: LocalQuantumTask): Promise<void> {
    const sim = simulate(parseOpenQasm(t.action.source, t.action.inputs ?? {}), t.shots);
    const doc = gateModelResult(t.arn, t.deviceArn, t.shots, sim, t.action);
    await this.s3Client().send(new PutObjectCommand({ Bucket: t.outputS3Bucket, Key: `${t.outputS3Directory}/results.json`, Body: JSON.stringify(doc) }));
  }

  private cancelTask(t: LocalQuantumTask, b: any): unknown {
    if (typeof b?.clientToken !== 'string' || !b.clientToken) throw new AwsError(400, 'ValidationException', 'clientToken is required');
    if (t.cancelTokens.has(b.clientToken) || t.status === 'CANCELLING' || t.status === 'CANCELLED') {
      return { quantumTaskArn: t.arn, cancellationStatus: t.status === 'CANCELLED' ? 'CANCELLED' : 'CANCELLING' };
    }
    if (DONE.has(t.status)) throw new AwsError(409, 'ConflictException', `Quantum task ${t.arn} is ${t.status} and cannot be cancelled`);
    t.cancelTokens.add(b.clientToken);
    clearTimeout(t.timer);
    t.timer = undefined;
    t.status = 'CANCELLING';
    this.stepTask(t);
    return { quantumTaskArn: t.arn, cancellationStatus: 'CANCELLING' };
  }

  private taskView(t: LocalQuantumTask): unknown {
    return {
      quantumTaskArn: t.arn, status: t.status, deviceArn: t.deviceArn, deviceParameters: '{}', shots: t.shots,
      outputS3Bucket: t.outputS3Bucket, outputS3Directory: t.outputS3Directory, createdAt: t.createdAt.toISOString(),
      endedAt: t.endedAt?.toISOString(), failureReason: t.failureReason,
    };
  }

  // ---- hybrid jobs ----------------------------------------------------------

  private job(arn: string): LocalHybridJob {
    const j = this.jobs.get(arn);
    if (!j) throw new AwsError(404, 'ResourceNotFoundException', `Job ${arn} not found`);
    return j;
  }

  private createJob(b: any): unknown {
    if (typeof b.jobName !== 'string' || !/^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,50}$/.test(b.jobName)) throw new AwsError(400, 'ValidationException', 'jobName must be 1-50 letters, digits and hyphens');
    if (typeof b.roleArn !== 'string' || !ROLE.test(b.roleArn)) throw new AwsError(400, 'ValidationException', 'roleArn is not a valid IAM role ARN');
    if (!b.algorithmSpecification?.containerImage?.uri && !b.algorithmSpecification?.scriptModeConfig) throw new AwsError(400, 'ValidationException', 'algorithmSpecification is required');
    if (!b.instanceConfig?.instanceType) throw new AwsError(400, 'ValidationException', 'instanceConfig.instanceType is required');
    if (!b.outputDataConfig?.s3Path) throw new AwsError(400, 'ValidationException', 'outputDataConfig.s3Path is required');
    if (!b.deviceConfig?.device) throw new AwsError(400, 'ValidationException', 'deviceConfig.device is required');
    const existing = [...this.jobs.values()].find((j) => j.body.clientToken === b.clientToken);
    if (existing) return { jobArn: existing.arn };
    if ([...this.jobs.values()].some((j) => j.jobName === b.jobName)) throw new AwsError(409, 'ConflictException', `A job named ${b.jobName} already exists`);
    const j: LocalHybridJob = {
      arn: `arn:aws:braket:${this.region}:123456789012:job/${b.jobName}`, jobName: b.jobName, status: 'QUEUED', roleArn: b.roleArn, body: b, createdAt: new Date(),
    };
    this.jobs.set(j.arn, j);
    this.stepJob(j);
    return { jobArn: j.arn };
  }

  private stepJob(j: LocalHybridJob): void {
    const ms = j.status === 'QUEUED' ? this.knobs.jobTimings.QUEUED : NaN;
    if (!Number.isFinite(ms)) return;
    j.timer = setTimeout(() => {
      j.timer = undefined;
      if (j.status !== 'QUEUED') return;
      j.status = 'RUNNING';
      j.startedAt = new Date();
      // The container reads its hyperparameters from the file Braket names in AMZN_BRAKET_HP_FILE.
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ct-braket-job-'));
      const hpFile = path.join(dir, 'hyperparameters.json');
      fs.writeFileSync(hpFile, JSON.stringify(j.body.hyperParameters ?? {}));
      const env = { ...this.processEnv(), AMZN_BRAKET_HP_FILE: hpFile, AMZN_BRAKET_JOB_NAME: j.jobName, AMZN_BRAKET_DEVICE_ARN: j.body.deviceConfig.device };
      const p = new JobProcess(['covalent-ts', 'run-task'], env, this.commandMap);
      j.process = p;
      void p.done.then((r) => {
        fs.rmSync(dir, { recursive: true, force: true });
        if (j.status === 'CANCELLING') {
          j.timer = setTimeout(() => this.endJob(j, 'CANCELLED'), this.knobs.jobTimings.CANCELLING);
        } else {
          if (r.exitCode !== 0) j.failureReason = `AlgorithmError: the container exited with ${r.exitCode ?? r.signal}`;
          this.endJob(j, r.exitCode === 0 ? 'COMPLETED' : 'FAILED');
        }
      });
    }, ms);
  }

  private endJob(j: LocalHybridJob, status: JobState): void {
    if (DONE.has(j.status)) return;
    clearTimeout(j.timer);
    j.status = status;
    j.endedAt = new Date();
  }

  private cancelJob(j: LocalHybridJob): unknown {
    if (j.status === 'CANCELLING' || j.status === 'CANCELLED') return { jobArn: j.arn, cancellationStatus: j.status };
    if (DONE.has(j.status)) throw new AwsError(409, 'ConflictException', `Job ${j.arn} is ${j.status} and cannot be cancelled`);
    const wasRunning = j.status === 'RUNNING' && j.process;
    clearTimeout(j.timer);
    j.status = 'CANCELLING';
    if (wasRunning) j.process!.terminate(this.knobs.terminateGraceMs);
    else j.timer = setTimeout(() => this.endJob(j, 'CANCELLED'), this.knobs.jobTimings.CANCELLING);
    return { jobArn: j.arn, cancellationStatus: 'CANCELLING' };
  }

  private jobView(j: LocalHybridJob): unknown {
    const b = j.body;
    return {
      status: j.status, jobArn: j.arn, roleArn: j.roleArn, jobName: j.jobName, outputDataConfig: b.outputDataConfig,
      algorithmSpecification: b.algorithmSpecification, instanceConfig: b.instanceConfig, createdAt: j.createdAt.toISOString(),
      startedAt: j.startedAt?.toISOString(), endedAt: j.endedAt?.toISOString(), failureReason: j.failureReason,
      hyperParameters: b.hyperParameters, deviceConfig: b.deviceConfig,
    };
  }
}
