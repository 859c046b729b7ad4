/**
 * SSHExecutor: runs a task on a remote host over SSH.
 *
 * serialize -> upload (SFTP into a per-task directory, runner cached by
 * content hash) -> run (start detached in its own session, store the handle
 * {host, port, username, pgid, remoteDir} at once, poll without blocking) ->
 * fetch (result, stdout, stderr) -> cleanup (remove the directory, also after
 * a cancel). `cancel` TERMs then KILLs the task's process group with a kill
 * script (through the connection's script server, see script-server.ts, or
 * an exec) and confirms nothing is left.
 */
import type { Price } from '../price';
import { randomBytes } from 'node:crypto';
import * as path from 'node:path';
import { ErrorCodes, ExecutorError, InvalidInputError } from '../../errors';
import { cancelledAt, Executor, type CancelVerdict, type ExecutionContext, type JobHandle, type TaskMetadata } from '../executor';
import type { TaskOutput, TaskPayload } from '../task-payload';
import type { ExecResult } from '../remote/remote-host';
import { encodePayload } from '../runner/payload-codec';
import { Backoff, sleepUnlessAborted, sleepUnlessCancelled } from '../remote/backoff';
import { isEnvName } from '../remote/shell-quote';
import {
  ensureRunner,
  newTaskDir,
  readTaskFiles,
  removeTaskDir,
  resolveWorkDir,
  stageTask,
  taskOutputFrom,
  TaskFiles,
  type TaskFilesRead,
} from '../remote/task-staging';
import { connectionLost, isTransientConnectionError, sshPool } from './connection-pool';
import { provideSSHCredentials } from './credentials';
import { isTaskIdentity, killScript, launchScript, parseLaunchAnswer, statusScript, type TaskIdentity } from './remote-process';
import { SSHHost } from './ssh-host';
import { positiveInt, publicSSHOptions, resolveSSHOptions, type ResolvedSSHOptions, type SSHConnectionOptions } from './ssh-options';

export interface SSHExecutorOptions extends SSHConnectionOptions {
  /** Price of running there, e.g. `{ perHour: 3.06 }` (see ct.dispatch's budget). */
  price?: Price;
  /** Where tasks are staged on the remote host (`~/` or relative = under the home directory). Default `~/.covalent-ts`. */
  remoteWorkDir?: string;
  /** Node.js (20 or later) on the remote host. Default `node` (found on the login's PATH). */
  nodePath?: string;
  /** Environment variables for the task. Stored with the configuration: put no secrets here. */
  env?: Record<string, string>;
  /** First poll interval while waiting for the task (default 200 ms); grows to `maxPollIntervalMs`. */
  pollIntervalMs?: number;
  /** Longest poll interval (default 2000 ms). */
  maxPollIntervalMs?: number;
  /** How long a cancelled task gets after SIGTERM before SIGKILL (default 3000 ms). */
  cancelGraceMs?: number;
  /** How long to keep retrying when the connection drops while a task runs (default 300000 ms). */
  reconnectForMs?: number;
  /** Remove the remote task directory afterwards (default true). */
  cleanup?: boolean;
}

export interface SSHJobHandle extends JobHandle {
  host: string;
  port: number;
  username: string;
  /** The task's process group (= session) id on the host. */
  pgid: number;
  /** Start time of the group's leader and the host's boot id: the pgid is the task's only while both match. */
  startTime: string;
  bootId: string;
  /** Marker in the environment of every process of the task. */
  marker: string;
  remoteDir: string;
}

interface Prepared {
  payload: TaskPayload;
  host: SSHHost;
  token: string;
  /** Goes into the environment of the task's processes (see remote-process.ts). */
  marker: string;
  workDir?: string;
  runnerDir?: string;
  taskDir?: string;
}

interface Job {
  handle: SSHJobHandle;
  files: TaskFilesRead;
}

/** Launch sends (each resent by the batcher if its exec died) before a task's start is reported unknown. */
const LAUNCH_ATTEMPTS = 3;

/** One poll in this many runs the status script; the others only look for the exit code file. */
const STATUS_EXEC_EVERY = 5;

function fail(message: string): never {
  throw new InvalidInputError(ErrorCodes.INVALID_ARGUMENT, message);
}

export class SSHExecutor extends Executor<Prepared, Job> {
  readonly type = 'ssh';
  readonly ssh: ResolvedSSHOptions;
  readonly remoteWorkDir: string;
  readonly nodePath: string;
  readonly env: Record<string, string>;
  readonly pollIntervalMs: number;
  readonly maxPollIntervalMs: number;
  readonly cancelGraceMs: number;
  readonly reconnectForMs: number;
  readonly cleanupRemote: boolean;

  constructor(options: SSHExecutorOptions) {
    super();
    this.price = options.price;
    const where = 'SSHExecutor options';
    this.ssh = resolveSSHOptions(options, where);
    const o = options as unknown as Record<string, unknown>;
    const text = (key: string, dflt: string) => {
      const v = o[key];
      if (v === undefined || v === null) return dflt;
      if (typeof v !== 'string' || v === '' || /[\0\n\r]/.test(v)) fail(`${where}: "${key}" must be a non-empty single-line string.`);
      return v;
    };
    this.remoteWorkDir = text('remoteWorkDir', '~/.covalent-ts');
    this.nodePath = text('nodePath', 'node');
    this.env = {};
    if (options.env !== undefined && options.env !== null) {
      if (typeof options.env !== 'object') fail(`${where}: "env" must be an object of strings.`);
      for (const [k, v] of Object.entries(options.env)) {
        if (!isEnvName(k)) fail(`${where}: env name ${JSON.stringify(k)} is not a valid variable name.`);
        if (typeof v !== 'string' || v.includes('\0')) fail(`${where}: env "${k}" must be a string.`);
        this.env[k] = v;
      }
    }
    this.pollIntervalMs = positiveInt(o, 'pollIntervalMs', where, 200);
    this.maxPollIntervalMs = Math.max(this.pollIntervalMs, positiveInt(o, 'maxPollIntervalMs', where, 2000));
    this.cancelGraceMs = o.cancelGraceMs === 0 ? 0 : positiveInt(o, 'cancelGraceMs', where, 3000);
    this.reconnectForMs = positiveInt(o, 'reconnectForMs', where, 300000);
    if (o.cleanup !== undefined && typeof o.cleanup !== 'boolean') fail(`${where}: "cleanup" must be true or false.`);
    this.cleanupRemote = o.cleanup !== false;
    // Secrets stay in memory, where executors rebuilt from the stored configuration find them.
    if (this.ssh.privateKey || this.ssh.passphrase) {
      provideSSHCredentials(this.ssh, { privateKey: this.ssh.privateKey, passphrase: this.ssh.passphrase });
    }
  }

  /**
   * Node.js for the connection's script server (see script-server.ts), or undefined for plain
   * execs: a connection of one task's own (`reuseConnection: false`) would start a server, a
   * `node` process, for a handful of scripts.
   */
  private get scriptServerNode(): string | undefined {
    return this.ssh.reuseConnection ? this.nodePath : undefined;
  }

  protected publicOptions(): Record<string, unknown> {
    const out: Record<string, unknown> = { ...publicSSHOptions(this.ssh), remoteWorkDir: this.remoteWorkDir, nodePath: this.nodePath };
    if (Object.keys(this.env).length > 0) out.env = { ...this.env };
    if (this.pollIntervalMs !== 200) out.pollIntervalMs = this.pollIntervalMs;
    if (this.maxPollIntervalMs !== 2000) out.maxPollIntervalMs = this.maxPollIntervalMs;
    if (this.cancelGraceMs !== 3000) out.cancelGraceMs = this.cancelGraceMs;
    if (this.reconnectForMs !== 300000) out.reconnectForMs = this.reconnectForMs;
    if (!this.cleanupRemote) out.cleanup = false;
    return out;
  }

  label(): string {
    return `ssh(${this.ssh.username}@${this.ssh.host})`;
  }

  protected async serialize(payload: TaskPayload): Promise<Prepared> {
    encodePayload(payload); // fail now, before anything remote happens, if it cannot travel
    const token = randomBytes(6).toString('hex');
    return { payload, token, marker: randomBytes(16).toString('hex'), host: new SSHHost(this.ssh, token) };
  }

  protected async upload(p: Prepared, ctx: ExecutionContext): Promise<void> {
    p.workDir = await resolveWorkDir(p.host, this.remoteWorkDir);
    p.runnerDir = await ensureRunner(p.host, p.workDir);
    ctx.checkCancelled('upload');
    p.taskDir = newTaskDir(p.workDir, ctx.metadata);
    await stageTask(p.host, p.taskDir, p.payload, ctx.metadata);
  }

  protected async run(p: Prepared, ctx: ExecutionContext): Promise<Job> {
    const taskDir = p.taskDir!;
    await p.host.connection();
    ctx.checkCancelled('run');
    const identity = await this.launch(p, launchScript({ taskDir, runnerDir: p.runnerDir!, nodePath: this.nodePath, marker: p.marker, env: this.env }));
    const handle: SSHJobHandle = { host: this.ssh.host, port: this.ssh.port, username: this.ssh.username, ...identity, remoteDir: taskDir };
    await ctx.setJobHandle(handle);
    return { handle, files: await this.waitForExit(p.host, handle, ctx) };
  }

  /**
   * Start the task and return its identity. Launches of a sweep's tasks share
   * execs (a server session each, see exec-batcher.ts). The launch script
   * never starts a task twice, so an answer lost with its exec or with the
   * connection is asked for again (the batcher resends it at once; a new
   * connection is tried a few times) instead of failing a task that may be
   * running: at worst the error says its start is unknown, and cleanup stops
   * it if it did start.
   */
  private async launch(p: Prepared, script: string): Promise<TaskIdentity> {
    for (let attempt = 1; ; attempt++) {
      let lost: unknown;
      try {
        const r = await p.host.execBatched(script, { idempotent: true, nodePath: this.scriptServerNode });
        const identity = r.code === 0 ? parseLaunchAnswer(r.stdout, p.marker) : undefined;
        if (identity) return identity;
        // A launch killed by a signal (128 + N) went the way of a dead exec: unknown, so ask again.
        if (r.code !== null && r.code <= 128) {
          throw new ExecutorError(ErrorCodes.EXECUTOR_FAILED, `Could not start the task on ${p.host.describe()} (exit ${r.code}): ${r.stderr.trim() || r.stdout.trim()}`);
        }
        lost = new Error(r.stderr);
      } catch (e) {
        if (!isTransientConnectionError(e)) throw e;
        lost = e;
      }
      if (attempt >= LAUNCH_ATTEMPTS) {
        throw new ExecutorError(
          ErrorCodes.CONNECTION_FAILED,
          `The start of the task on ${p.host.describe()} got no answer ${attempt} times (the exec or the connection ended first), so whether it started is unknown; ` +
            `it is stopped if it did. Last: ${(lost as Error).message}`,
          { cause: lost, details: { transient: true } },
        );
      }
      await sleepUnlessAborted(250 * attempt);
    }
  }

  private async waitForExit(host: SSHHost, handle: SSHJobHandle, ctx: ExecutionContext): Promise<TaskFilesRead> {
    const backoff = new Backoff(this.pollIntervalMs, this.maxPollIntervalMs);
    let failingSince: number | undefined;
    let sawCancel = false;
    let polls = 0;
    for (;;) {
      if (ctx.isCancelRequested() && !sawCancel) {
        sawCancel = true; // the dispatcher is killing the job: watch closely
        backoff.reset();
      }
      let state: string | undefined;
      try {
        // Most polls only look for the exit code over SFTP (a few ms); every few polls, and after a
        // cancel, a status exec (a server session, about 200 ms) also notices a task that died without one.
        if (!sawCancel && polls++ % STATUS_EXEC_EVERY !== STATUS_EXEC_EVERY - 1) {
          // Any trouble here (a dropped connection) only defers the answer to the next status exec.
          const done = await host.exists(path.posix.join(handle.remoteDir, TaskFiles.exitCode)).catch(() => false);
          if (done) return readTaskFiles(host, handle.remoteDir);
          await sleepUnlessCancelled(backoff.next(), (l) => ctx.onCancel(l));
          continue;
        }
        const r = await host.execBatched(statusScript({ taskDir: handle.remoteDir, identity: handle }), { timeoutMs: 60000, idempotent: true, nodePath: this.scriptServerNode });
        // No answer (its exec died, also when resent): unknown, like a dropped connection.
        if (r.code === null) throw connectionLost(host.describe(), new Error(r.stderr));
        state = r.stdout.trim();
        failingSince = undefined;
        if (r.code !== 0 || !['DONE', 'RUNNING', 'GONE'].includes(state)) {
          throw new ExecutorError(ErrorCodes.EXECUTOR_FAILED, `Unexpected answer while watching the task on ${host.describe()}: ${r.stderr.trim() || state}`);
        }
      } catch (e) {
        if (e instanceof ExecutorError && e.code === ErrorCodes.EXECUTOR_FAILED) throw e;
        // A different host key on reconnect may be an attacker: never keep trying.
        if (e instanceof ExecutorError && (e.code === ErrorCodes.HOST_KEY_MISMATCH || e.code === ErrorCodes.HOST_KEY_UNKNOWN)) throw e;
        // Connection trouble: the task runs on regardless; keep trying for a while.
        failingSince ??= Date.now();
        if (Date.now() - failingSince > this.reconnectForMs) {
          throw new ExecutorError(ErrorCodes.CONNECTION_FAILED, `Lost contact with ${host.describe()} for ${this.reconnectForMs} ms while task pgid ${handle.pgid} ran; it may still be running there.`, { cause: e });
        }
      }
      if (state === 'DONE') return readTaskFiles(host, handle.remoteDir);
      if (state === 'GONE') {
        if (ctx.isCancelRequested()) throw cancelledAt('run', ctx.metadata);
        const files = await readTaskFiles(host, handle.remoteDir);
        if (files.exitCode !== undefined) return files;
        throw new ExecutorError(
          ErrorCodes.EXECUTOR_FAILED,
          `The task's processes on ${host.describe()} ended without writing an exit code: they were killed outside covalent-ts (or the host rebooted).`,
          { details: { ...handle, stderr: files.stderr } },
        );
      }
      await sleepUnlessCancelled(backoff.next(), sawCancel ? undefined : (l) => ctx.onCancel(l));
    }
  }

  protected async fetch(job: Job, _p: Prepared, ctx: ExecutionContext): Promise<TaskOutput> {
    const output = taskOutputFrom(job.files, this.label());
    if (output.stdout) ctx.log('stdout', output.stdout);
    if (output.stderr) ctx.log('stderr', output.stderr);
    return output;
  }

  protected async cleanup(p: Prepared, _ctx: ExecutionContext, job: Job | undefined): Promise<void> {
    try {
      if (job === undefined && p.taskDir) await this.stopLeftover(p);
      if (this.cleanupRemote && p.workDir && p.taskDir) await removeTaskDir(p.host, p.workDir, p.taskDir);
    } finally {
      await sshPool().release(this.ssh, p.token);
    }
  }

  /**
   * `run` ended without a result (an error after the start, or a cancel): if
   * the task was started (its pgid file exists), make sure nothing of it is
   * left running, even when no handle reached the store.
   */
  private async stopLeftover(p: Prepared): Promise<void> {
    const raw = await p.host.readFile(path.posix.join(p.taskDir!, TaskFiles.pgid)).catch(() => undefined);
    const identity = raw ? parseLaunchAnswer(raw.toString('utf8'), p.marker) : undefined;
    if (!identity) return;
    await this.runKill(p.host, killScript({ taskDir: p.taskDir!, identity, graceMs: this.cancelGraceMs, timeoutMs: this.cancelGraceMs + 20000 }));
  }

  /**
   * Run a kill script: through the connection's script server (no new server session, so a cancel
   * takes milliseconds, not a login), or an exec where none runs. Asked again when the answer is
   * lost (the connection or the server ended): the script signals only processes proven to be the
   * task's, so running it twice is harmless.
   */
  private async runKill(host: SSHHost, script: string): Promise<ExecResult> {
    for (let attempt = 1; ; attempt++) {
      try {
        const r = await host.execScript(script, { timeoutMs: this.cancelGraceMs + 60000, nodePath: this.scriptServerNode });
        if (r.code !== null || attempt >= 3) return r;
      } catch (e) {
        if (attempt >= 3 || !(e instanceof ExecutorError) || e.code !== ErrorCodes.CONNECTION_FAILED) throw e;
      }
      await sleepUnlessAborted(500 * attempt);
    }
  }

  /**
   * Stop the task named by the handle: true once none of its processes is
   * left, `already_finished` when it had ended by itself (its exit code is
   * written) before the cancel. Only processes proven to be the task's on
   * the host (leader start time and boot id, or the marker in their
   * environment) are signalled.
   */
  async cancel(_meta: TaskMetadata, jobHandle: JobHandle): Promise<CancelVerdict> {
    const h = jobHandle as Partial<SSHJobHandle>;
    if (typeof h.pgid !== 'number' || typeof h.remoteDir !== 'string' || typeof h.host !== 'string' || typeof h.username !== 'string') {
      throw new InvalidInputError(ErrorCodes.INVALID_ARGUMENT, `Not an SSH job handle: ${JSON.stringify(jobHandle)}.`);
    }
    const port = typeof h.port === 'number' ? h.port : this.ssh.port;
    if (h.host !== this.ssh.host || h.username !== this.ssh.username || port !== this.ssh.port) {
      // Credentials only ever go to the login this executor was configured for.
      throw new InvalidInputError(
        ErrorCodes.INVALID_ARGUMENT,
        `The job ran as ${h.username}@${h.host}:${port}, but this executor logs in as ${this.ssh.username}@${this.ssh.host}:${this.ssh.port}: cancel it with the executor that started it.`,
      );
    }
    if (!isTaskIdentity(h)) {
      throw new ExecutorError(
        ErrorCodes.EXECUTOR_FAILED,
        `The handle of task pgid ${h.pgid} on ${h.username}@${h.host} does not say how to recognise its processes (it was stored by an older ` +
          `covalent-ts), so nothing was signalled: a reused pgid may belong to another program. Check ${h.remoteDir} on the host and stop the task by hand.`,
        { details: { ...h } },
      );
    }
    const identity: TaskIdentity = h;
    const login = this.ssh;
    const host = new SSHHost(login, `cancel-${randomBytes(4).toString('hex')}`);
    const script = killScript({
      taskDir: h.remoteDir,
      identity,
      graceMs: this.cancelGraceMs,
      timeoutMs: this.cancelGraceMs + 20000,
      removeDir: this.cleanupRemote,
    });
    try {
      const result = await this.runKill(host, script);
      const answer = result.stdout.trim();
      if (result.code === 0 && answer === 'GONE') return true;
      if (result.code === 0 && answer === 'FINISHED') return 'already_finished';
      throw new ExecutorError(
        ErrorCodes.EXECUTOR_FAILED,
        `Could not confirm that task pgid ${h.pgid} on ${host.describe()} stopped: ${answer || result.stderr.trim()}`,
        { details: { ...h } },
      );
    } finally {
      await sshPool().release(login, host.token!);
    }
  }
}
