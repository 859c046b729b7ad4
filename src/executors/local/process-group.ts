import * as fs from 'node:fs';
import { identityOfPid, processLiveness, type ProcessIdentity } from '../../process/process-identity';

/**
 * Live (non-zombie) members of a process group, read from /proc. A zombie
 * has already released everything but its table slot, so it counts as gone;
 * `kill(-pgid, 0)` cannot tell the difference.
 */
export function liveGroupMembers(pgid: number): number[] {
  // Cheap first: no process at all in the group (not even a zombie).
  if (!groupExists(pgid)) return [];
  const out: number[] = [];
  let entries: string[];
  try {
    entries = fs.readdirSync('/proc');
  } catch {
    return groupExists(pgid) ? [pgid] : [];
  }
  for (const name of entries) {
    const c = name.charCodeAt(0);
    if (c < 48 || c > 57) continue;
    let stat: string;
    try {
      stat = fs.readFileSync(`/proc/${name}/stat`, 'utf8');
    } catch {
      continue;
    }
    // Fields after the parenthesised command: state ppid pgrp ...
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (Number(rest[2]) === pgid && rest[0] !== 'Z' && rest[0] !== 'X') out.push(Number(name));
  }
  return out;
}

function groupExists(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface KillGroupResult {
  /** True when no live member of the group remains. */
  gone: boolean;
  /** True when SIGKILL was needed. */
  escalated: boolean;
  survivors: number[];
}

/**
 * Stop a whole process group: SIGTERM, wait up to `graceMs` for every member
 * to exit, then SIGKILL, and confirm from /proc that nothing survived.
 */
export async function killProcessGroup(pgid: number, graceMs = 2000, confirmMs = 5000): Promise<KillGroupResult> {
  const signal = (sig: NodeJS.Signals) => {
    try {
      process.kill(-pgid, sig);
    } catch {
      // ESRCH: already gone.
    }
  };
  signal('SIGTERM');
  const deadline = Date.now() + graceMs;
  let wait = 1;
  while (Date.now() < deadline) {
    if (liveGroupMembers(pgid).length === 0) return { gone: true, escalated: false, survivors: [] };
    await sleep(wait);
    wait = Math.min(wait * 2, 20);
  }
  signal('SIGKILL');
  const hardDeadline = Date.now() + confirmMs;
  let survivors = liveGroupMembers(pgid);
  while (survivors.length && Date.now() < hardDeadline) {
    await sleep(5);
    signal('SIGKILL');
    survivors = liveGroupMembers(pgid);
  }
  return { gone: survivors.length === 0, escalated: true, survivors };
}

export interface RecordedGroupKill extends KillGroupResult {
  /** False when nothing was signalled because the group could not be shown to be the recorded one. */
  signalled: boolean;
  /** Why nothing was signalled, or what remains; null after a clean kill. */
  detail: string | null;
}

/**
 * Stop a process group recorded earlier (perhaps by another process), whose
 * leader is `leader`. The group is signalled only while its leader is still
 * the recorded process (same host, pid and start time): a pid reused by an
 * unrelated process is never signalled. A group whose leader is gone but
 * which still has members is not signalled either (it cannot be shown to be
 * ours) and is reported as not confirmed.
 */
export async function killRecordedProcessGroup(leader: ProcessIdentity, graceMs = 2000): Promise<RecordedGroupKill> {
  const state = processLiveness(leader);
  if (state === 'unknown') {
    return { gone: false, escalated: false, survivors: [], signalled: false, detail: `it runs on host ${leader.host}, which this machine cannot check or signal` };
  }
  if (state === 'gone') {
    // Linux never hands out a pid while a group of that number exists. So if another process
    // holds the leader's pid now, the recorded group had ended before it started: whatever
    // group has that number today is someone else's.
    if (identityOfPid(leader.pid)) {
      return { gone: true, escalated: false, survivors: [], signalled: false, detail: `its process group had exited; pid ${leader.pid} now belongs to another process, which was not signalled` };
    }
    const left = liveGroupMembers(leader.pid);
    if (!left.length) return { gone: true, escalated: false, survivors: [], signalled: false, detail: 'its process group had already exited' };
    return {
      gone: false, escalated: false, survivors: left, signalled: false,
      detail: `its group leader (pid ${leader.pid}) is gone or is now another process, so the group was not signalled; members left: ${left.join(', ')}`,
    };
  }
  if (!leader.startTime) {
    // Recorded without a start time (an older handle): whoever has that pid now cannot be told apart from it.
    const left = liveGroupMembers(leader.pid);
    return { gone: !left.length, escalated: false, survivors: left, signalled: false, detail: left.length ? `no start time was recorded for pid ${leader.pid}, so it was not signalled` : null };
  }
  const result = await killProcessGroup(leader.pid, graceMs);
  return { ...result, signalled: true, detail: result.gone ? null : `members survived SIGKILL: ${result.survivors.join(', ')}` };
}
