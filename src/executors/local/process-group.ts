import * as fs from 'node:fs';

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
