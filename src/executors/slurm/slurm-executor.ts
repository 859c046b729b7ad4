/**
 * SlurmExecutor: submits each task as a Slurm batch job, with `sbatch` on
 * this machine or on a login node over SSH.
 *
 * serialize -> upload (task directory + job script) -> run (`sbatch`, store
 * the job id at once, watch `scontrol show job -o`) -> fetch (the result and
 * exit code files the job wrote) -> cleanup. `cancel` sends `scancel`
 * (batched across tasks) and waits until the job is terminal.
 */
import * as path from 'node:path';
import { ErrorCodes, ExecutorError, InvalidInputError, TaskCancelledError } from '../../errors';
import { cancelledAt, Executor, type ExecutionContext, type JobHandle, type TaskMetadata } from '../executor';
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
import { JOB_SCRIPT, renderJobScript, sbatchCommand, slurmJobName } from './sbatch-script';
import { isSlurmJobId } from './scontrol';
import { slurmCluster, type JobEnd, type SlurmCluster } from './slurm-cluster';
import { resolveSlurmOptions, type ResolvedSlurmOptions, type SlurmExecutorOptions } from './slurm-options';

export interface SlurmJobHandle extends JobHandle {
  jobId: string;
  /** `local`, or the SSH login `user@host:port` the job was submitted through. */
  submittedVia: string;
  remoteDir: string;
}

interface Prepared {
  payload: TaskPayload;
  cluster: SlurmCluster;
  workDir?: string;
  taskDir?: string;
  /** Set once sbatch returned; cleared when the job's end was seen or a cancel took care of it. */
  liveJobId?: string;
}

interface Job {
  handle: SlurmJobHandle;
  files: TaskFilesRead;
}

export class SlurmExecutor extends Executor<Prepared, Job> {
  readonly type = 'slurm';
  readonly options: ResolvedSlurmOptions;

  constructor(options: SlurmExecutorOptions = {}) {
    super();
    this.options = resolveSlurmOptions(options);
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

  protected async serialize(payload: TaskPayload): Promise<Prepared> {
    encodePayload(payload); // fail before anything is staged if it cannot travel
    return { payload, cluster: this.cluster() };
  }

  protected async upload(p: Prepared, ctx: ExecutionContext): Promise<void> {
    const host = p.cluster.host;
    p.workDir = await resolveWorkDir(host, this.options.remoteWorkDir);
    const runnerDir = await ensureRunner(host, p.workDir);
    ctx.checkCancelled('upload');
    p.taskDir = newTaskDir(p.workDir, ctx.metadata);
    await stageTask(host, p.taskDir, p.payload, ctx.metadata);
    await host.writeFile(path.posix.join(p.taskDir, JOB_SCRIPT), renderJobScript(this.options, p.taskDir, runnerDir), 0o700);
  }

  protected async run(p: Prepared, ctx: ExecutionContext): Promise<Job> {
    const cluster = p.cluster;
    const taskDir = p.taskDir!;
    const name = slurmJobName(ctx.metadata.name, ctx.metadata.nodeId);
    const r = await cluster.exec(sbatchCommand(this.options, taskDir, name, cluster.bin('sbatch')));
    const jobId = r.stdout.trim().split(';')[0];
    if (r.code !== 0 || !isSlurmJobId(jobId)) {
      throw new ExecutorError(ErrorCodes.EXECUTOR_FAILED, `sbatch on ${cluster.describe()} did not submit the task (exit ${r.code}): ${r.stderr.trim() || r.stdout.trim()}`, {
        details: { stderr: r.stderr },
      });
    }
    p.liveJobId = jobId;
    const handle: SlurmJobHandle = { jobId, submittedVia: this.submittedVia(), remoteDir: taskDir };
    try {
      await ctx.setJobHandle(handle);
    } catch (e) {
      if (e instanceof TaskCancelledError) p.liveJobId = undefined; // cancelled through cancel(), confirmed
      throw e;
    }
    const end = await cluster.waitForEnd(jobId);
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
      throw new TaskCancelledError(`Slurm job ${handle.jobId} was cancelled outside covalent-ts (for example with scancel).`, {
        details: { dispatchId: ctx.metadata.dispatchId, nodeIds: ctx.metadata.nodeIds, jobId: handle.jobId, external: true },
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
    // A job submitted but neither seen to end nor cancelled (an error while storing its
    // handle or while watching it) must not keep running unobserved.
    if (p.liveJobId) await this.cancel({ dispatchId: '', nodeId: 0, nodeIds: [], name: '' }, { jobId: p.liveJobId, submittedVia: this.submittedVia(), remoteDir: p.taskDir! });
    if (this.options.cleanup && p.workDir && p.taskDir) await removeTaskDir(p.cluster.host, p.workDir, p.taskDir);
  }

  /**
   * `scancel` the job and wait until Slurm reports it terminal. Concurrent
   * calls for jobs on the same cluster share one `scancel`.
   */
  async cancel(_meta: TaskMetadata, jobHandle: JobHandle): Promise<boolean> {
    const h = jobHandle as Partial<SlurmJobHandle>;
    if (!isSlurmJobId(h.jobId)) throw new InvalidInputError(ErrorCodes.INVALID_ARGUMENT, `Not a Slurm job handle: ${JSON.stringify(jobHandle)}.`);
    if (h.submittedVia && h.submittedVia !== this.submittedVia()) {
      throw new InvalidInputError(
        ErrorCodes.INVALID_ARGUMENT,
        `Slurm job ${h.jobId} was submitted via ${h.submittedVia}, but this executor submits via ${this.submittedVia()}: cancel it with the executor that submitted it.`,
      );
    }
    const cluster = this.cluster();
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
    if (this.options.cleanup && typeof h.remoteDir === 'string') {
      await sleepUnlessAborted(0);
      const workDir = await resolveWorkDir(cluster.host, this.options.remoteWorkDir);
      await removeTaskDir(cluster.host, workDir, h.remoteDir).catch(() => undefined);
    }
    return true;
  }
}
