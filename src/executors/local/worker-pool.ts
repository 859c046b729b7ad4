import { fork, type ChildProcess, type Serializable } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { TaskCancelledError, TaskFailedError } from '../../errors';
import type { CancelVerdictDetails } from '../executor';
import type { TaskOutput, TaskPayload } from '../task-payload';
import { killProcessGroup, killRecordedProcessGroup, type KillGroupResult } from './process-group';
import { identityOfPid, currentProcessIdentity, type ProcessIdentity } from '../../process/process-identity';

export interface PoolJob {
  key: string;
  dispatchId: string;
  payload: TaskPayload;
  /** Called when the job is handed to a worker, with the worker's identity (its pid is its process group). */
  onStart(worker: ProcessIdentity): void;
  onOutput(stream: 'stdout' | 'stderr', text: string): void;
  resolve(output: TaskOutput): void;
  reject(error: Error): void;
}

interface Worker {
  child: ChildProcess;
  pid: number;
  /** Recorded in job handles, so a later cancel can tell this worker from a process that got its pid. */
  identity: ProcessIdentity;
  ready: boolean;
  /** Jobs sent to this worker, in the order it runs them; the first is running. */
  jobs: PoolJob[];
  /** Set once we stop it on purpose (a cancel, close): resolves when its process group is gone. */
  stopping: Promise<KillGroupResult> | undefined;
  /** False once its channel failed or closed: it is going away and nothing more is sent to it. */
  reachable: boolean;
  /** Answers to 'skip' requests, by job key. */
  skipAnswers: Map<string, (answer: SkipAnswer) => void>;
}

/**
 * What a worker said about a job we asked it to skip; `gone` when it went
 * away (or could not be written to) before answering.
 */
type SkipAnswer = 'skipped' | 'running' | 'done' | 'timeout' | 'gone';

/** Messages to a worker (worker-main.ts reads them). */
type ToWorker =
  | { t: 'run'; jobs: Array<{ key: string; dispatchId: string; payload: TaskPayload }> }
  | { t: 'skip'; key: string };

/**
 * The rejection of a job removed before any worker had it. Always the same
 * fact, so one instance serves: cancelling 10,000 queued tasks then costs no
 * 10,000 stack traces.
 */
let notStarted: TaskCancelledError | undefined;
const notStartedError = () => (notStarted ??= new TaskCancelledError('The task was cancelled before a worker started it.'));

/** Tasks whose runs took less than this (moving average) are sent to workers in batches. */
const QUICK_TASK_MS = 2;
const MAX_BATCH = 64;

/**
 * A fixed pool of worker processes, each in its own process group, so
 * cancelling a running task kills exactly that task's process tree; the
 * worker is then replaced.
 *
 * Messages between processes are the main per-task cost, so tasks that are
 * known to be quick (by the durations of their earlier runs) are sent to a
 * worker several at a time. A batched task that has not started yet is
 * skipped by message when cancelled; only a running task costs a worker.
 */
export class WorkerPool {
  private workers: Worker[] = [];
  private queue: PoolJob[] = [];
  private closed = false;
  private readonly workerScript = resolveWorkerScript();
  /** Moving average of run time per task source. */
  private readonly durations = new Map<string, number>();

  constructor(readonly size: number = Math.max(1, os.availableParallelism?.() ?? os.cpus().length)) {
    // Workers must not outlive us: if we exit without closing the pool, kill their groups.
    process.once('exit', () => this.killAllSync());
  }

  submit(job: PoolJob): void {
    if (this.closed) {
      job.reject(new TaskFailedError('The local worker pool is closed.'));
      return;
    }
    this.queue.push(job);
    this.pump();
    this.updateRef();
  }

  /** Remove a job that no worker has yet. True if it was still queued here. */
  dequeue(key: string): boolean {
    const i = this.queue.findIndex((j) => j.key === key);
    if (i < 0) return false;
    const [job] = this.queue.splice(i, 1);
    job.reject(notStartedError());
    this.updateRef();
    return true;
  }

  /**
   * Stop the job `key`. Queued here or waiting in a worker: it is removed
   * and never starts. Running: the worker's whole process group is killed
   * (SIGTERM, SIGKILL after `graceMs`) and the worker replaced; jobs queued
   * behind it go back to the pool. Resolves true when nothing of it runs.
   */
  async kill(key: string, recorded: ProcessIdentity, graceMs: number): Promise<CancelVerdictDetails> {
    // A job moves (a worker that dies hands its waiting jobs back): look again until it is settled.
    for (;;) {
      if (this.dequeue(key)) return { confirmed: true, started: false, detail: 'removed from the local queue before a worker started it' };
      const worker = this.workers.find((w) => w.jobs.some((j) => j.key === key));
      if (!worker) {
        // One of our own workers (alive, perhaps running other jobs by now): the job finished here.
        if (this.workers.some((w) => w.pid === recorded.pid)) return { confirmed: true, alreadyFinished: true };
        // A handle recorded by another process (whose workers die with it): signal its
        // group only while the recorded worker still runs, never a process that reused its pid.
        const r = await killRecordedProcessGroup(recorded, graceMs);
        return { confirmed: r.gone, escalated: r.escalated, detail: r.detail ?? describeGroupKill(r) };
      }
      // A worker going away takes the job with it: never ask it anything.
      if (worker.stopping || !worker.reachable || worker.jobs[0].key === key) return this.killWorker(worker, key, graceMs);
      const answer = await this.askSkip(worker, key);
      if (answer === 'skipped') return { confirmed: true, started: false, detail: 'skipped in its worker before it started' };
      if (answer === 'done') return { confirmed: true, alreadyFinished: true };
      if (answer !== 'gone') return this.killWorker(worker, key, graceMs);
    }
  }

  private askSkip(worker: Worker, key: string): Promise<SkipAnswer> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => answer('timeout'), 1000);
      const answer = (a: SkipAnswer) => {
        clearTimeout(timer);
        worker.skipAnswers.delete(key);
        resolve(a);
      };
      worker.skipAnswers.set(key, answer);
      this.send(worker, { t: 'skip', key });
    });
  }

  /**
   * Write to a worker. A worker can go away at any moment (killed by a
   * cancel, crashed): a failed write is an expected event, never an
   * exception, and whoever waits on that worker hears at once that it is gone.
   */
  private send(worker: Worker, msg: ToWorker): void {
    if (!worker.reachable || !worker.child.connected) {
      this.lostChannel(worker);
      return;
    }
    worker.child.send(msg as Serializable, (err) => {
      if (err) this.lostChannel(worker);
    });
  }

  /** The channel to a worker failed: it is exiting; its 'exit' hands its jobs back. */
  private lostChannel(worker: Worker): void {
    worker.reachable = false;
    for (const answer of [...worker.skipAnswers.values()]) answer('gone');
  }

  /** Cancel `key` by stopping the worker holding it (once, however many of its jobs are cancelled). */
  private async killWorker(worker: Worker, key: string, graceMs: number): Promise<CancelVerdictDetails> {
    const i = worker.jobs.findIndex((j) => j.key === key);
    if (i >= 0) worker.jobs.splice(i, 1)[0].reject(new TaskCancelledError('The task was cancelled and its process tree was killed.'));
    const r = await this.stopWorker(worker, graceMs);
    return { confirmed: r.gone, started: true, escalated: r.escalated, detail: describeGroupKill(r, worker.pid) };
  }

  private stopWorker(worker: Worker, graceMs: number): Promise<KillGroupResult> {
    worker.stopping ??= (async () => {
      this.lostChannel(worker);
      // The worker is our child: its exit is an event, no need to scan /proc for it. Once it is
      // reaped, the group check that confirms the kill is one syscall unless a task's child lingers.
      const started = Date.now();
      const exited = new Promise<void>((resolve) => {
        if (worker.child.exitCode !== null || worker.child.signalCode !== null) resolve();
        else worker.child.once('exit', () => resolve());
      });
      try {
        process.kill(-worker.pid, 'SIGTERM');
      } catch {
        // Already gone.
      }
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([exited, new Promise<void>((r) => (timer = setTimeout(r, graceMs)))]);
      clearTimeout(timer);
      const result = await killProcessGroup(worker.pid, Math.max(0, graceMs - (Date.now() - started)));
      // Jobs that were waiting behind it in that worker had not started: run them elsewhere.
      this.queue.unshift(...worker.jobs.splice(0));
      this.remove(worker);
      // Forking a replacement (a synchronous spawn, then a node start competing for the CPU) is no
      // part of the cancel: it was a third of the time to cancel a batched dispatch. Replace the
      // worker once the verdict is out, and only when work waits; otherwise the next submit does.
      if (this.queue.length) setImmediate(() => this.pump());
      this.updateRef();
      return result;
    })();
    return worker.stopping;
  }

  private spawn(): Worker {
    const child = fork(this.workerScript, [], {
      detached: true, // own process group: one kill reaches the task and everything it started
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      serialization: 'advanced',
      // A small young generation: workers allocate little that lives, and every megabyte counts twice.
      execArgv: ['--max-semi-space-size=2'],
    });
    const pid = child.pid!;
    // The child exists once fork returns: its start time is already fixed.
    const identity = identityOfPid(pid) ?? { host: currentProcessIdentity().host, pid, startTime: null };
    const worker: Worker = { child, pid, identity, ready: false, jobs: [], stopping: undefined, reachable: true, skipAnswers: new Map() };
    // EPIPE and friends from a worker that is exiting: 'exit' follows and cleans up.
    child.on('error', () => this.lostChannel(worker));
    child.stdout!.setEncoding('utf8').on('data', (d: string) => worker.jobs[0]?.onOutput('stdout', d));
    child.stderr!.setEncoding('utf8').on('data', (d: string) => worker.jobs[0]?.onOutput('stderr', d));
    child.on('message', (msg: any) => {
      if (msg?.t === 'ready') {
        worker.ready = true;
        this.pump();
      } else if (msg?.t === 'batch') {
        for (const m of msg.messages) this.onWorkerMessage(worker, m);
        this.pump();
        this.updateRef();
      }
    });
    child.on('exit', (code, sig) => {
      this.lostChannel(worker);
      if (worker.stopping) return;
      const jobs = worker.jobs.splice(0);
      const [running, ...waiting] = jobs;
      running?.reject(new TaskFailedError(`The worker process running the task exited unexpectedly (${sig ?? `exit code ${code}`}).`));
      this.queue.unshift(...waiting);
      this.remove(worker);
      this.pump();
      this.updateRef();
    });
    return worker;
  }

  private onWorkerMessage(worker: Worker, m: { t: string; key: string; output?: TaskOutput; ms?: number; stream?: 'stdout' | 'stderr'; text?: string }): void {
    const i = worker.jobs.findIndex((j) => j.key === m.key);
    if (m.t === 'done' || m.t === 'skipped') {
      if (i >= 0) {
        const [job] = worker.jobs.splice(i, 1);
        if (m.t === 'done') {
          this.recordDuration(job, m.ms ?? 0);
          job.resolve(m.output!);
        } else {
          job.reject(new TaskCancelledError('The task was cancelled before it started.'));
        }
      }
      worker.skipAnswers.get(m.key)?.(m.t === 'done' ? 'done' : 'skipped');
    } else if (m.t === 'out') {
      if (i >= 0) worker.jobs[i].onOutput(m.stream!, m.text!);
    } else if (m.t === 'running') {
      worker.skipAnswers.get(m.key)?.('running');
    }
  }

  private sourceKey(job: PoolJob): string {
    return job.payload.steps.length === 1 ? job.payload.steps[0].source : job.payload.steps.map((s) => s.source).join('\u0000');
  }

  private recordDuration(job: PoolJob, ms: number): void {
    const k = this.sourceKey(job);
    const prev = this.durations.get(k);
    this.durations.set(k, prev === undefined ? ms : prev * 0.8 + ms * 0.2);
    if (this.durations.size > 10_000) this.durations.clear();
  }

  private isQuick(job: PoolJob): boolean {
    const d = this.durations.get(this.sourceKey(job));
    return d !== undefined && d < QUICK_TASK_MS;
  }

  private remove(worker: Worker): void {
    const i = this.workers.indexOf(worker);
    if (i >= 0) this.workers.splice(i, 1);
  }

  // The pool keeps the event loop alive only while it has work; idle workers never block exit.
  private updateRef(): void {
    const busy = this.queue.length > 0 || this.workers.some((w) => w.jobs.length > 0);
    for (const w of this.workers) {
      const channel = (w.child as any).channel;
      const streams = [w.child.stdout as any, w.child.stderr as any];
      if (busy) {
        w.child.ref();
        channel?.ref?.();
        streams.forEach((s) => s?.ref?.());
      } else {
        w.child.unref();
        channel?.unref?.();
        streams.forEach((s) => s?.unref?.());
      }
    }
  }

  private pump(): void {
    if (this.closed) return;
    // Workers are started (and replaced) when there is work for them, never during a cancel's bookkeeping.
    if (this.queue.length && this.workers.length < this.size) {
      while (this.workers.length < this.size) this.workers.push(this.spawn());
      this.updateRef();
    }
    const idle = this.workers.filter((w) => w.ready && w.reachable && !w.stopping && w.jobs.length === 0);
    for (let wi = 0; wi < idle.length && this.queue.length; wi++) {
      const w = idle[wi];
      const batch = [this.queue.shift()!];
      if (this.isQuick(batch[0])) {
        // Share what is queued among the idle workers, in runs of quick tasks.
        const share = Math.min(MAX_BATCH, Math.ceil(this.queue.length / (idle.length - wi)));
        while (batch.length < share + 1 && this.queue.length && this.isQuick(this.queue[0])) batch.push(this.queue.shift()!);
      }
      w.jobs.push(...batch);
      this.send(w, { t: 'run', jobs: batch.map((j) => ({ key: j.key, dispatchId: j.dispatchId, payload: j.payload })) });
      for (const j of batch) j.onStart(w.identity);
    }
  }

  private killAllSync(): void {
    for (const w of this.workers) {
      try {
        process.kill(-w.pid, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const job of this.queue.splice(0)) job.reject(new TaskCancelledError('The local worker pool was closed.'));
    const workers = [...this.workers];
    const jobs = workers.flatMap((w) => w.jobs.splice(0));
    await Promise.all(workers.map((w) => this.stopWorker(w, 500)));
    for (const j of jobs) j.reject(new TaskCancelledError('The local worker pool was closed.'));
  }
}

/**
 * The compiled worker entry. When the library itself runs from TypeScript
 * sources (under ts-jest), the worker still runs the compiled copy in dist/.
 */
function resolveWorkerScript(): string {
  const beside = path.join(__dirname, 'worker-main.js');
  if (fs.existsSync(beside)) return beside;
  const built = path.resolve(__dirname, '../../../dist/src/executors/local/worker-main.js');
  if (fs.existsSync(built)) return built;
  throw new TaskFailedError(`The local worker script is missing (looked for ${beside} and ${built}). Run "npm run build".`);
}

const POOL_KEY = Symbol.for('covalent-ts.localWorkerPool');
/** One pool per process, shared by every copy of the library. */
export function sharedWorkerPool(): WorkerPool {
  const g = globalThis as any;
  g[POOL_KEY] ??= new WorkerPool(Number(process.env.CT_LOCAL_WORKERS) || undefined);
  return g[POOL_KEY];
}
export async function closeSharedWorkerPool(): Promise<void> {
  const g = globalThis as any;
  const pool: WorkerPool | undefined = g[POOL_KEY];
  g[POOL_KEY] = undefined;
  await pool?.close();
}

/** What a group kill did, as the cancel report and the details view say it. */
function describeGroupKill(r: KillGroupResult, pgid?: number): string {
  const group = pgid === undefined ? 'the worker\'s process group' : `worker process group ${pgid}`;
  if (!r.gone) return `SIGTERM, then SIGKILL to ${group}; still alive: ${r.survivors.join(', ')}`;
  return r.escalated ? `SIGKILL to ${group} after the grace period; nothing of it is left` : `SIGTERM to ${group}; nothing of it is left`;
}
