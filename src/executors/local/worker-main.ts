/**
 * Entry point of a local worker process. It runs one task at a time, in the
 * order received, and reports each outcome; the pool kills the whole process
 * group to cancel a running task. The pool may send several quick tasks at
 * once (fewer messages per task); a task not yet started can be skipped.
 */
import { runPayload } from '../runner/run-payload';
import type { TaskPayload } from '../task-payload';

interface WorkerJob {
  key: string;
  dispatchId: string;
  payload: TaskPayload;
}
type Incoming = { t: 'run'; jobs: WorkerJob[] } | { t: 'skip'; key: string };

// Tasks reach the task API as `ct` (what the free-variable check allows).
// The library is loaded on first use only: most tasks never touch it, and a
// lean worker starts faster (a killed worker is replaced) and uses less memory.
if (!('ct' in globalThis)) {
  let lib: unknown;
  Object.defineProperty(globalThis, 'ct', {
    configurable: true,
    get() {
      lib ??= require('../../index');
      return lib;
    },
  });
}

// The pool's process is gone: take this worker's whole group down with it,
// so no task outlives the process that dispatched it.
process.on('disconnect', () => {
  try {
    process.kill(-process.pid, 'SIGKILL');
  } finally {
    process.exit(1);
  }
});

const queue: WorkerJob[] = [];
let current: string | undefined;

// What a task prints in this process travels on the message channel, in
// order with its 'done': the stdout/stderr pipes are separate streams, so
// text sent there can arrive after the outcome and be lost or credited to
// the next task. Output of the task's own child processes still uses the
// pipes (it cannot be told apart), credited to the task the pool is running.
for (const stream of ['stdout', 'stderr'] as const) {
  const target = process[stream];
  const write = target.write.bind(target) as (...a: any[]) => boolean;
  target.write = ((chunk: any, ...rest: any[]) => {
    if (current === undefined) return write(chunk, ...rest);
    send({ t: 'out', key: current, stream, text: typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8') });
    const cb = rest.find((r) => typeof r === 'function');
    if (cb) process.nextTick(cb);
    return true;
  }) as typeof target.write;
}
let outbox: unknown[] = [];
let flushScheduled = false;

function send(msg: unknown): void {
  outbox.push(msg);
  if (!flushScheduled) {
    flushScheduled = true;
    setImmediate(flush);
  }
}
function flush(): void {
  flushScheduled = false;
  if (!outbox.length) return;
  const batch = outbox;
  outbox = [];
  try {
    process.send!({ t: 'batch', messages: batch });
  } catch (e) {
    // A returned value that cannot cross the process boundary is that task's failure, not the worker's.
    for (const m of batch as any[]) {
      try {
        process.send!({ t: 'batch', messages: [m] });
      } catch {
        process.send!({
          t: 'batch',
          messages: [{
            t: 'done',
            key: m.key,
            ms: m.ms,
            output: {
              steps: m.output.steps.map((s: { nodeId: number }) => ({
                nodeId: s.nodeId,
                ok: false,
                error: { name: 'NotSerializable', message: `The task returned a value that cannot be sent back: ${(e as Error).message}. Return plain data.` },
              })),
            },
          }],
        });
      }
    }
  }
}

let draining = false;
let lastYield = 0;
async function drain(): Promise<void> {
  if (draining) return;
  draining = true;
  while (queue.length) {
    const job = queue.shift()!;
    current = job.key;
    const t0 = performance.now();
    const output = await runPayload(job.payload, { dispatchId: job.dispatchId });
    current = undefined;
    const now = performance.now();
    send({ t: 'done', key: job.key, output, ms: now - t0 });
    // Every millisecond or so, let pending messages in (a skip, say) and send the finished outcomes together.
    if (queue.length && now - lastYield > 1) {
      await new Promise((r) => setImmediate(r));
      lastYield = performance.now();
    }
  }
  draining = false;
  lastYield = performance.now();
}

process.on('message', (msg: Incoming) => {
  if (msg?.t === 'run') {
    queue.push(...msg.jobs);
    void drain();
  } else if (msg?.t === 'skip') {
    const i = queue.findIndex((j) => j.key === msg.key);
    if (i >= 0) {
      queue.splice(i, 1);
      send({ t: 'skipped', key: msg.key });
    } else if (current === msg.key) {
      send({ t: 'running', key: msg.key });
    }
    // Otherwise it already finished; its 'done' was sent before this answer would be.
  }
});

process.send!({ t: 'ready' });
