import { fork, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { TaskCancelledError, TaskFailedError } from '../../errors';
import type { TaskOutput, TaskPayload } from '../task-payload';
import { killProcessGroup } from './process-group';

export interface PoolJob {
  key: string;
  dispatchId: string;
  payload: TaskPayload;
  /** Called when a worker takes the job, with the worker's pid (= its process group). */
  onStart(pid: number): void;
  onOutput(stream: 'stdout' | 'stderr', text: string): void;
  resolve(output: TaskOutput): void;
  reject(error: Error): void;
}

interface Worker {
  child: ChildProcess;
  pid: number;
  ready: boolean;
  job: PoolJob | undefined;
  /** Set while we are killing it on purpose. */
  killing: boolean;
}

/**
 * A fixed pool of worker processes. Each runs one task at a time, in its own
 * process group, so cancelling a running task kills exactly that task's
 * process tree; the worker is then replaced. Reusing workers keeps the
 * per-task cost to one message each way.
 */
export class WorkerPool {
  private workers: Worker[] = [];
  private queue: PoolJob[] = [];
  private closed = false;
  private readonly workerScript = resolveWorkerScript();

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
    this.refCount(0);
  }

  /** Remove a job that has not started. True if it was still queued. */
  dequeue(key: string): boolean {
    const i = this.queue.findIndex((j) => j.key === key);
    if (i < 0) return false;
    const [job] = this.queue.splice(i, 1);
    job.reject(new TaskCancelledError('The task was cancelled before a worker started it.'));
    return true;
  }

  /** Is the job with this key running on a worker right now? */
  runningPid(key: string): number | undefined {
    return this.workers.find((w) => w.job?.key === key)?.pid;
  }

  /**
   * Kill the worker running `key` (its whole process group) and replace it.
   * Resolves true when no process of that group is left.
   */
  async kill(key: string, pid: number, graceMs: number): Promise<boolean> {
    const worker = this.workers.find((w) => w.pid === pid && w.job?.key === key);
    if (!worker) return true; // finished (or never started) here: nothing of it is running
    worker.killing = true;
    const job = worker.job!;
    const result = await killProcessGroup(worker.pid, graceMs);
    if (worker.job === job) {
      worker.job = undefined;
      job.reject(new TaskCancelledError('The task was cancelled and its process tree was killed.'));
    }
    this.replace(worker);
    return result.gone;
  }

  private spawn(): Worker {
    const child = fork(this.workerScript, [], {
      detached: true, // own process group: one kill reaches the task and everything it started
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      serialization: 'advanced',
      execArgv: [],
    });
    const worker: Worker = { child, pid: child.pid!, ready: false, job: undefined, killing: false };
    child.unref();
    (child as any).channel?.unref?.();
    child.stdout!.setEncoding('utf8').on('data', (d: string) => worker.job?.onOutput('stdout', d));
    child.stderr!.setEncoding('utf8').on('data', (d: string) => worker.job?.onOutput('stderr', d));
    (child.stdout as any).unref?.();
    (child.stderr as any).unref?.();
    child.on('message', (msg: any) => {
      if (msg?.t === 'ready') {
        worker.ready = true;
        this.pump();
      } else if (msg?.t === 'done' && worker.job?.key === msg.key) {
        const job = worker.job!;
        worker.job = undefined;
        this.refCount(-1);
        job.resolve(msg.output as TaskOutput);
        this.pump();
      }
    });
    child.on('exit', (code, sig) => {
      const job = worker.job;
      worker.job = undefined;
      if (job) {
        this.refCount(-1);
        if (worker.killing) job.reject(new TaskCancelledError('The task was cancelled and its process tree was killed.'));
        else job.reject(new TaskFailedError(`The worker process running the task exited unexpectedly (${sig ?? `exit code ${code}`}).`));
      }
      if (!worker.killing) this.replace(worker);
    });
    return worker;
  }

  private replace(worker: Worker): void {
    const i = this.workers.indexOf(worker);
    if (i >= 0) this.workers.splice(i, 1);
    if (!this.closed) this.pump();
  }

  // The pool keeps the event loop alive only while it has work; idle workers never block exit.
  private refCount(_delta: number): void {
    const busy = this.queue.length > 0 || this.workers.some((w) => w.job);
    for (const w of this.workers) {
      const channel = (w.child as any).channel;
      if (busy) {
        w.child.ref();
        channel?.ref?.();
      } else {
        w.child.unref();
        channel?.unref?.();
      }
    }
  }

  private pump(): void {
    if (this.closed) return;
    if (this.workers.length < this.size) {
      while (this.workers.length < this.size) this.workers.push(this.spawn());
      this.refCount(0);
    }
    for (const w of this.workers) {
      if (!this.queue.length) break;
      if (!w.ready || w.job || w.killing) continue;
      const job = this.queue.shift()!;
      w.job = job;
      this.refCount(1);
      w.child.send({ t: 'run', key: job.key, dispatchId: job.dispatchId, payload: job.payload });
      job.onStart(w.pid);
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
    await Promise.all(this.workers.map((w) => killProcessGroup(w.pid, 500)));
    this.workers = [];
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
  if (!g[POOL_KEY] || g[POOL_KEY].closedFlag) g[POOL_KEY] = new WorkerPool(Number(process.env.CT_LOCAL_WORKERS) || undefined);
  return g[POOL_KEY];
}
export async function closeSharedWorkerPool(): Promise<void> {
  const g = globalThis as any;
  const pool: WorkerPool | undefined = g[POOL_KEY];
  g[POOL_KEY] = undefined;
  await pool?.close();
}
