import * as fs from 'node:fs';
import { identityOfPid, isSameProcessRunning, type ProcessIdentity } from './process-identity';

/**
 * Noticing that whoever started us is gone. A signal sent to the command a
 * user started (`npm start`, `npx covalent-ts lab`) often never reaches us:
 * npm forwards only SIGINT and SIGTERM, and a `sh -c` between npm and node
 * (dash does not exec its last command) dies of the signal without passing it
 * on. What does reach us is the loss of that chain of ancestors, which this
 * watches: the parent, and above it every `sh -c` wrapper up to and including
 * the first process that is not one.
 */
export interface ParentWatch {
  /** The processes watched, nearest first. */
  readonly chain: readonly ProcessIdentity[];
  stop(): void;
}

function ppidOf(pid: number): number | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
  } catch {
    return undefined;
  }
}

/** A non-interactive shell running a `-c` script: only a go-between. */
function isShellWrapper(pid: number): boolean {
  let argv: string[];
  try {
    argv = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
  } catch {
    return false;
  }
  const shell = (argv[0] ?? '').split('/').pop() ?? '';
  return /^(sh|dash|bash|zsh|ash)$/.test(shell) && argv.slice(1).some(a => /^-\w*c\w*$/.test(a));
}

/** The ancestors to watch, starting at `ppid`; empty when there is no parent to lose (pid 1). */
export function launchChain(ppid = process.ppid): ProcessIdentity[] {
  const chain: ProcessIdentity[] = [];
  for (let pid: number | undefined = ppid; pid && pid > 1 && chain.length < 8; pid = ppidOf(pid)) {
    const id = identityOfPid(pid);
    if (!id) break;
    chain.push(id);
    if (!isShellWrapper(pid)) break;
  }
  return chain;
}

/**
 * Call `onGone` once when any process of the launch chain exits (or our parent
 * changes, where there is no /proc). Polls every `intervalMs`; the timer does
 * not keep the process alive.
 */
export function watchParents(onGone: () => void, intervalMs = 250): ParentWatch {
  const chain = launchChain();
  const firstPpid = process.ppid;
  let fired = false;
  const timer = setInterval(() => {
    if (fired) return;
    if (process.ppid !== firstPpid || !chain.every(p => isSameProcessRunning(p))) {
      fired = true;
      clearInterval(timer);
      onGone();
    }
  }, intervalMs);
  timer.unref();
  return { chain, stop: () => clearInterval(timer) };
}
