/**
 * A stateful AWS Batch: jobs move SUBMITTED -> PENDING -> RUNNABLE ->
 * STARTING -> RUNNING on timers (a state's time `Infinity` holds jobs there),
 * the container command runs as a local process at RUNNING, and the job ends
 * SUCCEEDED or FAILED with its exit code. CancelJob only affects jobs not yet
 * STARTING (they end FAILED with the reason) and silently does nothing
 * later; TerminateJob stops any job (SIGTERM, SIGKILL after the grace
 * period). Array jobs have `parentId:index` children; the parent is PENDING
 * until every child is terminal. Limits as AWS: 100 ids per DescribeJobs,
 * 50 per CancelJobs/TerminateJobs, array size 2..10,000.
 */
import { randomUUID } from 'node:crypto';
import { AwsError, type AwsHttpServer } from './aws-http';
import { JobProcess, containerExitCode } from './job-process';

export type BatchState = 'SUBMITTED' | 'PENDING' | 'RUNNABLE' | 'STARTING' | 'RUNNING' | 'SUCCEEDED' | 'FAILED';
const ORDER: BatchState[] = ['SUBMITTED', 'PENDING', 'RUNNABLE', 'STARTING', 'RUNNING'];
const NOT_STARTED = new Set<BatchState>(['SUBMITTED', 'PENDING', 'RUNNABLE']);
const TERMINAL = new Set<BatchState>(['SUCCEEDED', 'FAILED']);

export interface LocalBatchJob {
  jobId: string;
  jobArn: string;
  jobName: string;
  jobQueue: string;
  jobDefinition: string;
  status: BatchState;
  statusReason?: string;
  createdAt: number;
  startedAt?: number;
  stoppedAt?: number;
  command: string[];
  environment: Record<string, string>;
  tags?: Record<string, string>;
  exitCode?: number;
  logStreamName?: string;
  arraySize?: number;
  arrayIndex?: number;
  parentId?: string;
  children: string[];
  process?: JobProcess;
  /** The process's output, once it exited (what CloudWatch Logs would hold). */
  logs?: string;
  timer?: NodeJS.Timeout;
}

export interface BatchKnobs {
  /** Milliseconds a job spends in each state before the next one; Infinity holds it there. */
  timings: Record<'SUBMITTED' | 'PENDING' | 'RUNNABLE' | 'STARTING', number>;
  /** TerminateJob: SIGTERM, then SIGKILL after this many ms (AWS: 30 s). */
  terminateGraceMs: number;
  /** Queues and job definitions that exist. */
  queues: string[];
  jobDefinitions: string[];
}

export class LocalBatch {
  readonly jobs = new Map<string, LocalBatchJob>();
  readonly knobs: BatchKnobs = {
    timings: { SUBMITTED: 20, PENDING: 20, RUNNABLE: 40, STARTING: 40 },
    terminateGraceMs: 30_000,
    queues: ['ct-queue'],
    jobDefinitions: ['covalent-ts'],
  };

  constructor(
    http: AwsHttpServer,
    private readonly region: string,
    private readonly processEnv: () => Record<string, string>,
    private readonly commandMap: Record<string, string[]>,
  ) {
    http.add({ method: 'POST', path: '/v1/submitjob', op: 'SubmitJob', handle: (b) => this.submit(b) });
    http.add({ method: 'POST', path: '/v1/describejobs', op: 'DescribeJobs', handle: (b) => this.describe(b) });
    http.add({ method: 'POST', path: '/v1/canceljob', op: 'CancelJob', handle: (b) => (this.cancelOne(this.requireId(b), b.reason), {}) });
    http.add({ method: 'POST', path: '/v1/terminatejob', op: 'TerminateJob', handle: (b) => (this.terminateOne(this.requireId(b), b.reason), {}) });
    http.add({ method: 'POST', path: '/v1/canceljobs', op: 'CancelJobs', handle: (b) => this.bulk(b, (id, r) => this.cancelOne(id, r)) });
    http.add({ method: 'POST', path: '/v1/terminatejobs', op: 'TerminateJobs', handle: (b) => this.bulk(b, (id, r) => this.terminateOne(id, r)) });
  }

  /** Jobs whose container is running now. */
  running(): LocalBatchJob[] {
    return [...this.jobs.values()].filter((j) => j.process && j.status === 'RUNNING');
  }

  /** Move held jobs on (after a test changed `timings`). */
  release(): void {
    for (const j of this.jobs.values()) if (!TERMINAL.has(j.status) && !j.timer && j.status !== 'RUNNING' && !j.children.length) this.schedule(j);
  }

  /** Stop every process and timer. */
  shutdown(): void {
    for (const j of this.jobs.values()) {
      clearTimeout(j.timer);
      j.process?.kill();
    }
  }

  private requireId(b: any): string {
    if (typeof b?.jobId !== 'string' || !b.jobId) throw new AwsError(400, 'ClientException', 'jobId is required');
    if (typeof b?.reason !== 'string') throw new AwsError(400, 'ClientException', 'reason is required');
    return b.jobId;
  }

  private submit(b: any): unknown {
    for (const k of ['jobName', 'jobQueue', 'jobDefinition']) {
      if (typeof b?.[k] !== 'string' || !b[k]) throw new AwsError(400, 'ClientException', `${k} is required`);
    }
    if (!/^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$/.test(b.jobName)) throw new AwsError(400, 'ClientException', 'Job name should be 1-128 letters, numbers, hyphens and underscores.');
    const queue = String(b.jobQueue).split('/').pop()!;
    if (!this.knobs.queues.includes(queue)) throw new AwsError(400, 'ClientException', `JobQueue ${b.jobQueue} not found`);
    const def = String(b.jobDefinition).split('/').pop()!.split(':')[0];
    if (!this.knobs.jobDefinitions.includes(def)) throw new AwsError(400, 'ClientException', `Job definition ${b.jobDefinition} not found`);
    const size = b.arrayProperties?.size;
    if (size !== undefined && (!Number.isInteger(size) || size < 2 || size > 10_000)) {
      throw new AwsError(400, 'ClientException', 'Array job size must be between 2 and 10,000');
    }
    const env: Record<string, string> = {};
    for (const kv of b.containerOverrides?.environment ?? []) env[kv.name] = kv.value;
    const command: string[] = b.containerOverrides?.command ?? [];
    const job = this.newJob(b, queue, command, env);
    if (size !== undefined) {
      job.arraySize = size;
      job.status = 'PENDING';
      for (let i = 0; i < size; i++) {
        const child = this.newJob(b, queue, command, { ...env, AWS_BATCH_JOB_ARRAY_INDEX: String(i) }, `${job.jobId}:${i}`);
        child.parentId = job.jobId;
        child.arrayIndex = i;
        job.children.push(child.jobId);
        this.schedule(child);
      }
    } else {
      this.schedule(job);
    }
    return { jobArn: job.jobArn, jobName: job.jobName, jobId: job.jobId };
  }

  private newJob(b: any, queue: string, command: string[], environment: Record<string, string>, jobId: string = randomUUID()): LocalBatchJob {
    const job: LocalBatchJob = {
      jobId, jobArn: `arn:aws:batch:${this.region}:123456789012:job/${jobId}`, jobName: b.jobName,
      jobQueue: `arn:aws:batch:${this.region}:123456789012:job-queue/${queue}`, jobDefinition: b.jobDefinition,
      status: 'SUBMITTED', createdAt: Date.now(), command, environment, tags: b.tags, children: [],
    };
    this.jobs.set(jobId, job);
    return job;
  }

  private schedule(job: LocalBatchJob): void {
    clearTimeout(job.timer);
    job.timer = undefined;
    const i = ORDER.indexOf(job.status);
    if (i < 0 || job.status === 'RUNNING') return;
    const ms = this.knobs.timings[job.status as keyof BatchKnobs['timings']];
    if (!Number.isFinite(ms)) return; // held here until release()
    job.timer = setTimeout(() => {
      job.timer = undefined;
      if (TERMINAL.has(job.status)) return;
      job.status = ORDER[i + 1];
      if (job.status === 'RUNNING') this.start(job);
      else this.schedule(job);
    }, ms);
  }

  private start(job: LocalBatchJob): void {
    job.startedAt = Date.now();
    job.logStreamName = `covalent-ts/default/${job.jobId.replace(':', '-')}`;
    const env = { ...this.processEnv(), ...job.environment, AWS_BATCH_JOB_ID: job.jobId };
    const p = new JobProcess(job.command, env, this.commandMap);
    job.process = p;
    void p.done.then((r) => {
      job.exitCode = containerExitCode(r);
      job.logs = r.stdout + r.stderr;
      // A TerminateJob's reason stays; otherwise AWS says why the container stopped.
      this.finish(job, job.exitCode === 0 ? 'SUCCEEDED' : 'FAILED', job.statusReason ?? 'Essential container in task exited');
    });
  }

  private finish(job: LocalBatchJob, status: 'SUCCEEDED' | 'FAILED', reason?: string): void {
    if (TERMINAL.has(job.status)) return;
    clearTimeout(job.timer);
    job.status = status;
    job.statusReason = reason;
    job.stoppedAt = Date.now();
    const parent = job.parentId ? this.jobs.get(job.parentId) : undefined;
    if (parent && parent.children.every((c) => TERMINAL.has(this.jobs.get(c)!.status))) {
      const failed = parent.children.some((c) => this.jobs.get(c)!.status === 'FAILED');
      this.finish(parent, failed ? 'FAILED' : 'SUCCEEDED', failed ? 'Array Child Job failed' : undefined);
    }
  }

  private describe(b: any): unknown {
    const ids: string[] = b?.jobs ?? [];
    if (!Array.isArray(ids)) throw new AwsError(400, 'ClientException', 'jobs must be a list');
    if (ids.length > 100) throw new AwsError(400, 'ClientException', 'Maximum number of jobs supported is 100');
    return { jobs: ids.map((id) => this.jobs.get(id)).filter((j): j is LocalBatchJob => !!j).map((j) => this.view(j)) };
  }

  private view(j: LocalBatchJob): unknown {
    const summary: Record<string, number> = {};
    for (const c of j.children) summary[this.jobs.get(c)!.status] = (summary[this.jobs.get(c)!.status] ?? 0) + 1;
    return {
      jobArn: j.jobArn, jobName: j.jobName, jobId: j.jobId, jobQueue: j.jobQueue, status: j.status, statusReason: j.statusReason,
      createdAt: j.createdAt, startedAt: j.startedAt, stoppedAt: j.stoppedAt, jobDefinition: j.jobDefinition, tags: j.tags,
      container: {
        command: j.command, environment: Object.entries(j.environment).map(([name, value]) => ({ name, value })),
        exitCode: j.exitCode, logStreamName: j.logStreamName,
      },
      ...(j.arraySize !== undefined ? { arrayProperties: { size: j.arraySize, statusSummary: summary } } : {}),
      ...(j.arrayIndex !== undefined ? { arrayProperties: { index: j.arrayIndex } } : {}),
    };
  }

  /** CancelJob: only jobs not yet STARTING; on later ones it does nothing and still succeeds. */
  private cancelOne(jobId: string, reason: string): void {
    const job = this.jobs.get(jobId);
    if (!job) return;
    for (const c of job.children) this.cancelOne(c, reason);
    if (NOT_STARTED.has(job.status) && !job.children.length) this.finish(job, 'FAILED', reason);
  }

  /** TerminateJob: any job; a running container gets SIGTERM, then SIGKILL after the grace period. */
  private terminateOne(jobId: string, reason: string): void {
    const job = this.jobs.get(jobId);
    if (!job || TERMINAL.has(job.status)) return;
    for (const c of job.children) this.terminateOne(c, reason);
    if (job.children.length) return;
    job.statusReason = reason; // a later TerminateJob overwrites it
    if (job.status === 'RUNNING' && job.process) job.process.terminate(this.knobs.terminateGraceMs);
    else this.finish(job, 'FAILED', reason);
  }

  private bulk(b: any, act: (id: string, reason: string) => void): unknown {
    const ids: string[] = b?.jobs;
    if (!Array.isArray(ids) || !ids.length) throw new AwsError(400, 'ClientException', 'jobs is required');
    if (ids.length > 50) throw new AwsError(400, 'ClientException', 'Maximum number of jobs supported is 50');
    if (typeof b.reason !== 'string') throw new AwsError(400, 'ClientException', 'reason is required');
    // An unknown id counts as successful, as in AWS.
    for (const id of ids) act(id, b.reason);
    return { successful: ids, errors: [] };
  }
}
