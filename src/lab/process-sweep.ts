import * as fs from 'fs';

/**
 * Every process started under a lab session carries this variable: the server,
 * its kernels (which jupyter_client starts in sessions of their own, outside the
 * server's process group) and the tasks those kernels run. Stopping the session
 * ends exactly the processes that carry its value, and nothing else.
 */
export const SESSION_ENV = 'COVALENT_TS_LAB_SESSION';

/** Pids of live processes whose environment holds `SESSION_ENV=value`. */
export function processesOfSession(value: string): number[] {
  const needle = Buffer.from(`${SESSION_ENV}=${value}\0`);
  const pids: number[] = [];
  let entries: string[];
  try {
    entries = fs.readdirSync('/proc');
  } catch {
    return pids; // Not Linux: fall back to the process-group kill alone.
  }
  for (const entry of entries) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) {
      continue;
    }
    try {
      const env = fs.readFileSync(`/proc/${entry}/environ`);
      if (env.indexOf(needle) !== -1) {
        pids.push(Number(entry));
      }
    } catch {
      // Gone already, or not ours to read.
    }
  }
  return pids;
}

/** Signal every process of the session; returns how many were signalled. */
export function signalSession(value: string, signal: NodeJS.Signals): number {
  let n = 0;
  for (const pid of processesOfSession(value)) {
    try {
      process.kill(pid, signal);
      n++;
    } catch {
      // Exited between the scan and the signal.
    }
  }
  return n;
}
