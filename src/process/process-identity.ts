import * as fs from 'node:fs';
import * as os from 'node:os';

/**
 * Who a recorded process is. A pid alone names nothing once its process has
 * exited: the kernel hands the number to the next process that starts. So a
 * process is recorded with its host and its start time, and a recorded pid
 * is signalled, or believed alive, only while a process with that pid, on
 * that host, with that start time, still runs.
 *
 * This module is the one place that answers "is this recorded process still
 * the same one?"; the store, the dispatcher and the executors all ask it.
 */
export interface ProcessIdentity {
  /** `os.hostname()` of the machine the process runs on. */
  host: string;
  pid: number;
  /**
   * `<boot id>:<start time>`: the kernel's boot id and the process's start
   * time in clock ticks since boot (/proc/<pid>/stat, field 22). Together
   * they are unique for the life of the machine. Null where the system does
   * not expose them (not Linux); then only the pid can be checked.
   */
  startTime: string | null;
}

/**
 * What can be said about a recorded process:
 * - `alive`: the very process recorded still runs here;
 * - `gone`: it exited (its pid is free, or now belongs to another process, or
 *   the machine rebooted since);
 * - `unknown`: it ran on another host, which this machine cannot check (a
 *   store on a shared file system). Never signal such a process, and never
 *   declare it dead either.
 */
export type ProcessLiveness = 'alive' | 'gone' | 'unknown';

let bootIdCache: string | null | undefined;
function bootId(): string | null {
  if (bootIdCache === undefined) {
    try {
      bootIdCache = fs.readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim() || null;
    } catch {
      bootIdCache = null;
    }
  }
  return bootIdCache;
}

interface ProcStat {
  state: string;
  startTicks: string;
}

/** Fields of /proc/<pid>/stat that matter here; undefined when there is no such process (or no /proc). */
function readProcStat(pid: number): ProcStat | undefined {
  let stat: string;
  try {
    stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // The command name (field 2) may hold spaces and parentheses: fields are counted after the last ')'.
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // rest[0] is field 3 (state); field 22 (starttime) is rest[19].
  return { state: rest[0], startTicks: rest[19] };
}

function hasProc(): boolean {
  return readProcStat(process.pid) !== undefined;
}

/** The identity of a live process on this host; undefined when none runs with that pid (zombies count as gone). */
export function identityOfPid(pid: number): ProcessIdentity | undefined {
  if (!Number.isInteger(pid) || pid <= 0) return undefined;
  const stat = readProcStat(pid);
  if (stat) {
    if (stat.state === 'Z' || stat.state === 'X') return undefined;
    const boot = bootId();
    return { host: os.hostname(), pid, startTime: boot ? `${boot}:${stat.startTicks}` : `:${stat.startTicks}` };
  }
  if (hasProc()) return undefined;
  // No /proc (not Linux): the pid is all there is.
  return pidExists(pid) ? { host: os.hostname(), pid, startTime: null } : undefined;
}

let selfCache: ProcessIdentity | undefined;
/** This process. */
export function currentProcessIdentity(): ProcessIdentity {
  if (!selfCache || selfCache.pid !== process.pid) {
    selfCache = identityOfPid(process.pid) ?? { host: os.hostname(), pid: process.pid, startTime: null };
  }
  return selfCache;
}

/**
 * Whether the recorded process still runs. A record without a host is taken
 * to be from this host (rows written before hosts were recorded); one
 * without a start time can only be checked by pid.
 */
export function processLiveness(recorded: { host?: string | null; pid: number | null; startTime?: string | null }): ProcessLiveness {
  const pid = recorded.pid;
  if (pid === null || !Number.isInteger(pid) || pid <= 0) return 'gone';
  if (recorded.host && recorded.host !== os.hostname()) return 'unknown';
  const now = identityOfPid(pid);
  if (!now) return 'gone';
  if (!recorded.startTime || !now.startTime) return 'alive';
  return now.startTime === recorded.startTime ? 'alive' : 'gone';
}

/** True only when the recorded process is verifiably the one running now (never for another host). */
export function isSameProcessRunning(recorded: { host?: string | null; pid: number | null; startTime?: string | null }): boolean {
  return processLiveness(recorded) === 'alive';
}

/** Whether a recorded identity is this very process. */
export function isCurrentProcess(recorded: { host?: string | null; pid: number | null; startTime?: string | null }): boolean {
  const me = currentProcessIdentity();
  if (recorded.pid !== me.pid) return false;
  if (recorded.host && recorded.host !== me.host) return false;
  return !recorded.startTime || !me.startTime || recorded.startTime === me.startTime;
}

function pidExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}
