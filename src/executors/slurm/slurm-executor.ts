/**
 * SlurmExecutor: submits each task as a Slurm batch job, with `sbatch` on
 * this machine or on a login node over SSH.
 *
 * serialize -> upload (task directory + job script) -> run (`sbatch`, store
 * the job id at once, watch `scontrol show job -o`) -> fetch (the result and
 * exit code files the job wrote) -> cleanup. `cancel` sends `scancel`
 * (batched across tasks) and waits until the job is terminal.
 */
import { createHash, randomBytes } from 'node:crypto';
import * as path from 'node:path';
import { SubmissionBatcher, type Reservation } from '../submission-batcher';
import { ErrorCodes, ExecutorError, InvalidInputError, TaskCancelledError } from '../../errors';
import { cancelledAt, Executor, type CancelVerdict, type ExecutionContext, type JobHandle, type TaskMetadata } from '../executor';
import type { TaskOutput, TaskPayload } from '../task-payload';
import { encodePayload } from '../runner/payload-codec';
import {
  ensureRunner,
  newTaskDir,
  readTaskFiles,
  removeTaskDir,
  resolveWorkDir,
  stageTask,
  taskOutputFrom,
  type TaskFilesRead,
} from '../remote/task-staging';
import { sleepUnlessAborted } from '../remote/backoff';
import { provideSSHCredentials } from '../ssh/credentials';
import { publicSSHOptions } from '../ssh/ssh-options';
import { ARRAY_DIRS, JOB_SCRIPT, renderJobScript, sbatchCommand, slurmJobName, type JobTarget } from './sbatch-script';
import { isSlurmJobId } from './scontrol';
import { slurmCluster, type JobEnd, type SlurmCluster } from './slurm-cluster';
import { resolveSlurmOptions, type ResolvedSlurmOptions, type SlurmExecutorOptions } from './slurm-options';

export interface SlurmJobHandle extends JobHandle {
  /** `123`, or `123_4` for element 4 of job array 123. */
  jobId: string;
  /** `local`, or the SSH login `user@host:port` the job was submitted through. */
  submittedVia: string;
  remoteDir: string;
}

interface Prepared {
  payload: TaskPayload;
  cluster: SlurmCluster;
  /** Its place in its fan-out's job array (when `array` is on). */
  slot?: Reservation<Member, Submitted>;
  workDir?: string;
  runnerDir?: string;
  taskDir?: string;
  /** The array's script directory, when the task ran as an array element. */
  arrayDir?: string;
  /** Set once sbatch returned; cleared when the job's end was seen or a cancel took care of it. */
  liveJobId?: string;
}

interface Job {
  handle: SlurmJobHandle;
  files: TaskFilesRead;
}

/** A task at the submit step. */
/** `timeLimitMs`: the task's own limit, told to Slurm as `--time`. */
type Member = Prepared & { name: string; nodeId: number; timeLimitMs?: number };

/** What one submitted task got: its job id, and its array's directory when it is an array element. */
interface Submitted {
  jobId: string;
  arrayDir?: string;
}

/** Tasks using one array directory, so the last one removes it. */
const arrayDirUsers = new Map<string, number>();

export class SlurmExecutor extends Executor<Prepared, Job> {
  readonly type = 'slurm';
  readonly options: ResolvedSlurmOptions;
  /**
   * Fan-outs meet here and go out as job arrays: each task reserves its
   * place when it starts (serialize), so its array waits for every task of
   * the fan-out however long their uploads take (see SubmissionBatcher).
   */
  private readonly submissions = new SubmissionBatcher<Member, Submitted>((_key, members) => this.submitAll(members), {
    maxWaitMs: 10 * 60 * 1000,
    maxItems: 100_000,
  });

  constructor(options: SlurmExecutorOptions = {}) {
    super();
    this.options = resolveSlurmOptions(options);
    this.price = options.price;
    const ssh = this.options.ssh;
    if (ssh && (ssh.privateKey || ssh.passphrase)) provideSSHCredentials(ssh, { privateKey: ssh.privateKey, passphrase: ssh.passphrase });
  }

  protected publicOptions(): Record<string, unknown> {
    const o = this.options;
    const out: Record<string, unknown> = { remoteWorkDir: o.remoteWorkDir, nodePath: o.nodePath };
    if (o.ssh) out.ssh = publicSSHOptions(o.ssh);
    for (const k of ['partition', 'timeLimit', 'cpus', 'memory', 'slurmConf', 'slurmBinDir'] as const) if (o[k] !== undefined) out[k] = o[k];
    if (o.sbatchLines.length) out.sbatchLines = [...o.sbatchLines];
    if (o.setupLines.length) out.setupLines = [...o.setupLines];
    if (Object.keys(o.env).length) out.env = { ...o.env };
    if (o.pollIntervalMs !== 300) out.pollIntervalMs = o.pollIntervalMs;
    if (o.maxPollIntervalMs !== 5000) out.maxPollIntervalMs = o.maxPollIntervalMs;
    if (o.cancelTimeoutMs !== 120000) out.cancelTimeoutMs = o.cancelTimeoutMs;
    if (o.cancelGraceMs !== 3000) out.cancelGraceMs = o.cancelGraceMs;
    if (!o.array) out.array = false;
    if (o.arrayParallelism !== undefined) out.arrayParallelism = o.arrayParallelism;
    if (!o.cleanup) out.cleanup = false;
    return out;
  }

  label(): string {
    return this.options.ssh ? `slurm(${this.options.ssh.username}@${this.options.ssh.host})` : 'slurm';
  }

  private cluster(): SlurmCluster {
    return slurmCluster(this.options);
  }

  private submittedVia(): string {
    const s = this.options.ssh;
    return s ? `${s.username}@${s.host}:${s.port}` : 'local';
  }

  protected async serialize(payload: TaskPayload, ctx: ExecutionContext): Promise<Prepared> {
    encodePayload(payload); // fail before anything is staged if it cannot travel
    // Runs before the first await of execute(): every task of a fan-out has its place before any submits.
    const slot = this.options.array ? this.submissions.reserve(fanOutKey(payload, ctx.metadata)) : undefined;
    return { payload, cluster: this.cluster(), slot };
  }

  protected async upload(p: Prepared, ctx: ExecutionContext): Promise<void> {
    const host = p.cluster.host;
    p.workDir = await resolveWorkDir(host, this.options.remoteWorkDir);
    p.runnerDir = await ensureRunner(host, p.workDir);
    ctx.checkCancelled('upload');
    p.taskDir = newTaskDir(p.workDir, ctx.metadata);
    await stageTask(host, p.taskDir, p.payload, ctx.metadata);
  }

  /**
   * Submit tasks: alone, or (a fan-out with `array` on) as job arrays of at
   * most the cluster's MaxArraySize elements each. Resolves with one job id
   * per task, in order.
   */
  private async submitAll(members: (Member)[]): Promise<Submitted[]> {
    const cluster = members[0].cluster;
    if (members.length === 1) return [await this.submitOne(members[0], { kind: 'single', taskDir: members[0].taskDir! })];
    const { maxArraySize } = await cluster.config();
    const chunkSize = Math.max(1, maxArraySize);
    const out: Submitted[] = [];
    for (let i = 0; i < members.length; i += chunkSize) {
      const chunk = members.slice(i, i + chunkSize);
      if (chunk.length === 1) {
        out.push(await this.submitOne(chunk[0], { kind: 'single', taskDir: chunk[0].taskDir! }));
        continue;
      }
      const dir = path.posix.join(chunk[0].workDir!, 'jobs', `array-${randomBytes(6).toString('hex')}`);
      await cluster.host.mkdirp(dir);
      await cluster.host.writeFile(path.posix.join(dir, ARRAY_DIRS), chunk.map((m) => m.taskDir!).join('\n') + '\n', 0o600);
      // One --time for the whole array: the longest of its tasks' limits (the dispatcher holds each task to its own).
      const limits = chunk.map((m) => m.timeLimitMs);
      const timeLimitMs = limits.every((t) => t !== undefined) ? Math.max(...(limits as number[])) : undefined;
      const { jobId } = await this.submitOne({ ...chunk[0], timeLimitMs }, { kind: 'array', dir }, chunk.length);
      cluster.registerArray(jobId, chunk.length);
      arrayDirUsers.set(dir, chunk.length);
      chunk.forEach((_, k) => out.push({ jobId: `${jobId}_${k}`, arrayDir: dir }));
    }
    return out;
  }

  /** Write the job script for `target` and sbatch it (as an array of `count` when given). */
  private async submitOne(m: Member, target: JobTarget, count?: number): Promise<Submitted> {
    const cluster = m.cluster;
    const scriptDir = target.kind === 'single' ? target.taskDir : target.dir;
    await cluster.host.writeFile(path.posix.join(scriptDir, JOB_SCRIPT), renderJobScript(this.options, m.runnerDir!, target), 0o700);
    const name = slurmJobName(m.name, m.nodeId);
    const array = count ? { count, parallelism: this.options.arrayParallelism } : undefined;
    const r = await cluster.exec(sbatchCommand(this.options, scriptDir, name, cluster.bin('sbatch'), array, m.timeLimitMs));
    const jobId = r.stdout.trim().split(';')[0];
    if (r.code !== 0 || !/^\d+$/.test(jobId)) {
      throw new ExecutorError(
        ErrorCodes.EXECUTOR_FAILED,
        `sbatch on ${cluster.describe()} did not submit the task${count ? ` array of ${count}` : ''} (exit ${r.code}): ${r.stderr.trim() || r.stdout.trim()}`,
        { details: { stderr: r.stderr } },
      );
    }
    return { jobId };
  }

  protected async run(p: Prepared, ctx: ExecutionContext): Promise<Job> {
    const cluster = p.cluster;
    const taskDir = p.taskDir!;
    const member: Member = { ...p, name: ctx.metadata.name, nodeId: ctx.metadata.nodeId, timeLimitMs: ctx.metadata.timeLimitMs };
    const submitted = p.slot ? await p.slot.submit(member) : (await this.submitAll([member]))[0];
    const jobId = submitted.jobId;
    p.arrayDir = submitted.arrayDir;
    p.liveJobId = jobId;
    const handle: SlurmJobHandle = { jobId, submittedVia: this.submittedVia(), remoteDir: taskDir };
    try {
      await ctx.setJobHandle(handle);
    } catch (e) {
      if (e instanceof TaskCancelledError) p.liveJobId = undefined; // cancelled through cancel(), confirmed
      throw e;
    }
    // The node shows QUEUED while Slurm keeps the job PENDING, RUNNING once it has a node.
    const end = await cluster.waitForEnd(jobId, { onState: (state) => ctx.reportStatus(state === 'PENDING' ? 'QUEUED' : 'RUNNING') });
    if (end.kind !== 'unreachable') p.liveJobId = undefined;
    return { handle, files: await this.filesAfter(end, handle, cluster, ctx) };
  }

  private async filesAfter(end: JobEnd, handle: SlurmJobHandle, cluster: SlurmCluster, ctx: ExecutionContext): Promise<TaskFilesRead> {
    if (end.kind === 'unreachable') {
      throw new ExecutorError(
        ErrorCodes.CONNECTION_FAILED,
        `Lost contact with ${cluster.describe()} while Slurm job ${handle.jobId} ran; it may still be queued or running there: ${String((end.error as Error)?.message ?? end.error)}`,
        { cause: end.error, details: { ...handle } },
      );
    }
    if (end.kind === 'terminal' && end.info.state === 'CANCELLED') {
      if (ctx.isCancelRequested()) throw cancelledAt('run', ctx.metadata);
      const when = end.info.started === undefined ? '' : end.info.started ? ' while it ran' : ' before it started (it was PENDING)';
      throw new TaskCancelledError(`Slurm job ${handle.jobId} was cancelled outside covalent-ts (for example with scancel)${when}.`, {
        details: {
          dispatchId: ctx.metadata.dispatchId, nodeIds: ctx.metadata.nodeIds, jobId: handle.jobId, external: true,
          ...(end.info.started === undefined ? {} : { started: end.info.started }),
        },
      });
    }
    const files = await readTaskFiles(cluster.host, handle.remoteDir);
    if (end.kind === 'terminal' && !['COMPLETED', 'FAILED'].includes(end.info.state)) {
      throw new ExecutorError(
        ErrorCodes.EXECUTOR_FAILED,
        `Slurm job ${handle.jobId} ended ${end.info.state} (reason ${end.info.reason}).` +
          (end.info.state === 'TIMEOUT' ? ' Raise "timeLimit".' : end.info.state === 'OUT_OF_MEMORY' ? ' Raise "memory".' : ''),
        { details: { ...handle, state: end.info.state, stderr: files.stderr } },
      );
    }
    if (end.kind === 'gone' && files.exitCode === undefined) {
      if (ctx.isCancelRequested()) throw cancelledAt('run', ctx.metadata);
      throw new ExecutorError(ErrorCodes.EXECUTOR_FAILED, `Slurm job ${handle.jobId} is no longer known to Slurm and left no exit code in ${handle.remoteDir}.`, {
        details: { ...handle },
      });
    }
    return files;
  }

  protected async fetch(job: Job, _p: Prepared, ctx: ExecutionContext): Promise<TaskOutput> {
    const output = taskOutputFrom(job.files, `${this.label()} job ${job.handle.jobId}`);
    if (output.stdout) ctx.log('stdout', output.stdout);
    if (output.stderr) ctx.log('stderr', output.stderr);
    return output;
  }

  protected async cleanup(p: Prepared): Promise<void> {
    // A task that stopped before submitting gives its place up, so the rest of its fan-out goes ahead.
    p.slot?.release();
    // A job submitted but neither seen to end nor cancelled (an error while storing its
    // handle or while watching it) must not keep running unobserved.
    if (p.liveJobId) await this.cancel({ dispatchId: '', nodeId: 0, nodeIds: [], name: '' }, { jobId: p.liveJobId, submittedVia: this.submittedVia(), remoteDir: p.taskDir! });
    if (this.options.cleanup && p.workDir && p.taskDir) await removeTaskDir(p.cluster.host, p.workDir, p.taskDir);
    if (p.arrayDir) {
      const left = (arrayDirUsers.get(p.arrayDir) ?? 1) - 1;
      if (left > 0) arrayDirUsers.set(p.arrayDir, left);
      else {
        arrayDirUsers.delete(p.arrayDir);
        if (this.options.cleanup && p.workDir) await removeTaskDir(p.cluster.host, p.workDir, p.arrayDir);
      }
    }
  }

  /**
   * `scancel` the job and wait until Slurm reports it terminal. Concurrent
   * calls for jobs on the same cluster share one `scancel`.
   */
  async cancel(_meta: TaskMetadata, jobHandle: JobHandle): Promise<CancelVerdict> {
    const h = jobHandle as Partial<SlurmJobHandle>;
    if (!isSlurmJobId(h.jobId)) throw new InvalidInputError(ErrorCodes.INVALID_ARGUMENT, `Not a Slurm job handle: ${JSON.stringify(jobHandle)}.`);
    if (h.submittedVia && h.submittedVia !== this.submittedVia()) {
      throw new InvalidInputError(
        ErrorCodes.INVALID_ARGUMENT,
        `Slurm job ${h.jobId} was submitted via ${h.submittedVia}, but this executor submits via ${this.submittedVia()}: cancel it with the executor that submitted it.`,
      );
    }
    const cluster = this.cluster();
    const seen = cluster.lastState(h.jobId);
    const ended = cluster.waitForEnd(h.jobId, { urgent: true });
    const r = await cluster.requestCancel(h.jobId);
    cluster.nudge();
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), this.options.cancelTimeoutMs)));
    const end = await Promise.race([ended, timeout]);
    clearTimeout(timer);
    if (end !== 'timeout' && end.kind === 'unreachable') {
      throw new ExecutorError(ErrorCodes.CONNECTION_FAILED, `Could not confirm that Slurm job ${h.jobId} stopped: ${cluster.describe()} is unreachable.`, {
        cause: end.error,
        details: { ...h },
      });
    }
    if (end === 'timeout') {
      throw new ExecutorError(
        ErrorCodes.TIMEOUT,
        `Slurm job ${h.jobId} was not terminal ${this.options.cancelTimeoutMs} ms after scancel` + (r.code !== 0 || r.stderr.trim() ? ` (scancel said: ${r.stderr.trim()})` : '.'),
        { details: { ...h } },
      );
    }
    // A job that ended by itself (completed, failed, timed out) before the scancel keeps its directory: it holds the result.
    if (end.kind === 'terminal' && end.info.state !== 'CANCELLED') return 'already_finished';
    // Whether it had started: Slurm's final record says (a node given or not), else the state last seen here.
    const started = end.kind === 'terminal' && end.info.started !== undefined ? end.info.started : seen === undefined ? undefined : seen !== 'PENDING';
    const was = started === undefined ? '' : started ? `job was ${seen && seen !== 'PENDING' ? seen : 'RUNNING'}; ` : 'job was PENDING; ';
    const verdict: CancelVerdict = { confirmed: true, detail: `${was}scancel; ${end.kind === 'terminal' ? end.info.state : 'gone from Slurm'}`, ...(started === undefined ? {} : { started }) };
    if (this.options.cleanup && typeof h.remoteDir === 'string') {
      await sleepUnlessAborted(0);
      const workDir = await resolveWorkDir(cluster.host, this.options.remoteWorkDir);
      await removeTaskDir(cluster.host, workDir, h.remoteDir).catch(() => undefined);
    }
    return verdict;
  }
}

/** Tasks of one dispatch running the same electron (same source) share a job array. */
function fanOutKey(payload: TaskPayload, meta: TaskMetadata): string {
  return `${meta.dispatchId}\0${createHash('sha256').update(payload.steps.map((st) => st.source).join('\0')).digest('hex')}`;
}
