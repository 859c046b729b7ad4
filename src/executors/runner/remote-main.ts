/**
 * Entry point of a task on a remote host or a Slurm node:
 *
 *     node remote-main.js TASK_DIR
 *
 * Reads TASK_DIR/payload.bin and TASK_DIR/task.json, runs the payload and
 * writes TASK_DIR/output.bin (atomically, through a temporary name). The
 * launcher around it redirects stdout/stderr into files of TASK_DIR and
 * records the exit code, so results survive a dropped connection or an
 * expired Slurm job record.
 *
 * Built-ins only: this file and the two it imports are uploaded as compiled.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { runPayload, taskContextStorage } from './run-payload';
import { decodePayload, encodeOutput } from './payload-codec';
import type { StepOutcome, TaskOutput } from '../task-payload';

/** File names inside a task directory; the executors use the same names. */
export const TaskFiles = {
  payload: 'payload.bin',
  task: 'task.json',
  output: 'output.bin',
  exitCode: 'exit_code',
  stdout: 'stdout',
  stderr: 'stderr',
  pgid: 'pgid',
  /** Created (O_EXCL) by the task's session leader: a second start of the same task stops there. */
  started: 'started',
} as const;

/** Give tasks the parts of the library they can use remotely: `ct.taskContext()`. */
export function installGlobals(): void {
  const g = globalThis as any;
  if (g.ct === undefined) {
    g.ct = {
      taskContext() {
        const c = taskContextStorage().getStore();
        if (!c) throw new Error('ct.taskContext() can only be called while a task runs.');
        return c;
      },
    };
  }
}

export function encodeSafely(output: TaskOutput): Buffer {
  try {
    return encodeOutput(output);
  } catch {
    // One value could not be serialized: report that step, keep the others.
    const steps: StepOutcome[] = output.steps.map((s) => {
      if (!s.ok) return s;
      try {
        encodeOutput({ steps: [s] });
        return s;
      } catch (e) {
        return {
          nodeId: s.nodeId,
          ok: false,
          error: { name: 'NotSerializable', message: `The task's return value cannot be sent back: ${(e as Error).message}` },
        };
      }
    });
    return encodeOutput({ steps });
  }
}

async function main(): Promise<void> {
  const dir = process.argv[2];
  if (!dir) {
    process.stderr.write('usage: node remote-main.js TASK_DIR\n');
    process.exit(2);
  }
  const payload = decodePayload(fs.readFileSync(path.join(dir, TaskFiles.payload)));
  const task = JSON.parse(fs.readFileSync(path.join(dir, TaskFiles.task), 'utf8')) as { dispatchId: string };
  installGlobals();
  const output = await runPayload(payload, { dispatchId: task.dispatchId });
  const tmp = path.join(dir, `${TaskFiles.output}.tmp`);
  fs.writeFileSync(tmp, encodeSafely(output));
  fs.renameSync(tmp, path.join(dir, TaskFiles.output));
}

if (require.main === module) {
  main().then(
    // Exit even if a task left timers or sockets open.
    () => process.exit(0),
    (e) => {
      process.stderr.write(`covalent-ts remote runner failed: ${e instanceof Error ? e.stack : String(e)}\n`);
      process.exit(3);
    },
  );
}
