import * as fs from 'node:fs';
import * as path from 'node:path';

export type TaskStream = 'stdout' | 'stderr';

/** Per task and stream, at most this much is kept; the rest is counted, not written. */
const MAX_LOG_BYTES = 16 * 1024 * 1024;

const logDir = (home: string, dispatchId: string) => path.join(home, 'logs', dispatchId);
const logFile = (home: string, dispatchId: string, nodeId: number, stream: TaskStream) => path.join(logDir(home, dispatchId), `${nodeId}.${stream}`);

/**
 * What tasks print, kept under `CT_HOME/logs/<dispatch>/<task>.<stream>`.
 * Every executor (local, SSH, Slurm, cloud) hands a task's output to the
 * dispatcher, which appends it here as it arrives; `covalent-ts logs` reads
 * it back from any process, also after the remote directory is gone.
 */
export class TaskLogWriter {
  private readonly sizes = new Map<string, number>();

  constructor(private readonly home: string) {}

  append(dispatchId: string, nodeId: number, stream: TaskStream, text: string): void {
    const file = logFile(this.home, dispatchId, nodeId, stream);
    const size = this.sizes.get(file) ?? 0;
    if (size >= MAX_LOG_BYTES) return;
    const bytes = Buffer.from(text);
    const room = MAX_LOG_BYTES - size;
    const chunk = bytes.length > room ? Buffer.concat([bytes.subarray(0, room), Buffer.from('\n[covalent-ts: output truncated at 16 MiB]\n')]) : bytes;
    try {
      if (size === 0) fs.mkdirSync(logDir(this.home, dispatchId), { recursive: true, mode: 0o700 });
      fs.appendFileSync(file, chunk, { mode: 0o600 });
      this.sizes.set(file, size + chunk.length);
    } catch {
      // A full or read-only disk must not fail the task: the output still reaches the notebook.
      this.sizes.set(file, MAX_LOG_BYTES);
    }
  }
}

/** A task's captured output, or null when it printed nothing there. */
export function readTaskLog(home: string, dispatchId: string, nodeId: number, stream: TaskStream): Buffer | null {
  try {
    return fs.readFileSync(logFile(home, dispatchId, nodeId, stream));
  } catch {
    return null;
  }
}
