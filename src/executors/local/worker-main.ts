/**
 * Entry point of a local worker process. It runs one task at a time and
 * reports its outcome; the pool kills the whole process group to cancel it.
 */
import { runPayload } from '../runner/run-payload';
import type { TaskPayload } from '../task-payload';

interface RunMessage {
  t: 'run';
  key: string;
  dispatchId: string;
  payload: TaskPayload;
}

// Tasks reach the task API as `ct` (what the free-variable check allows).
(globalThis as any).ct ??= require('../../index');

// The pool's process is gone: take this worker's whole group down with it,
// so no task outlives the process that dispatched it.
process.on('disconnect', () => {
  try {
    process.kill(-process.pid, 'SIGKILL');
  } finally {
    process.exit(1);
  }
});

process.on('message', (msg: RunMessage) => {
  if (!msg || msg.t !== 'run') return;
  void runPayload(msg.payload, { dispatchId: msg.dispatchId }).then((output) => {
    try {
      process.send!({ t: 'done', key: msg.key, output });
    } catch (e) {
      // A returned value that cannot cross the process boundary is the task's failure, not the worker's.
      process.send!({
        t: 'done',
        key: msg.key,
        output: {
          steps: output.steps.map((s) => ({
            nodeId: s.nodeId,
            ok: false,
            error: { name: 'NotSerializable', message: `The task returned a value that cannot be sent back: ${(e as Error).message}. Return plain data.` },
          })),
        },
      });
    }
  });
});

process.send!({ t: 'ready' });
