/**
 * Shell scripts that start, watch and kill a task's processes on a remote
 * host. Pure functions from validated values to POSIX sh text; every
 * variable part is quoted with `shq`, numbers are checked to be integers.
 *
 * The task runs in its own session (`setsid`), so its session id = process
 * group id = the launcher's `$!`: kill the group, plus any member of the
 * session that moved to another group, and nothing else.
 */
import * as path from 'node:path';
import { exportLines, shq } from '../remote/shell-quote';
import { runnerLines, TaskFiles } from '../remote/task-staging';

/** Only directories named as newTaskDir() names them, under a `jobs` directory, are ever removed. */
export function isTaskDir(dir: string): boolean {
  const norm = path.posix.normalize(dir);
  return (
    norm === dir &&
    dir.startsWith('/') &&
    path.posix.basename(path.posix.dirname(dir)) === 'jobs' &&
    /^[A-Za-z0-9_.-]+-\d+-[0-9a-f]{10}$/.test(path.posix.basename(dir))
  );
}

function pgidOf(pgid: number): number {
  if (!Number.isInteger(pgid) || pgid <= 1) throw new TypeError(`Not a process group id: ${pgid}`);
  return pgid;
}

/** Start the task detached (it outlives the SSH channel and connection) and print its pgid. */
export function launchScript(opts: { taskDir: string; runnerDir: string; nodePath: string; env?: Record<string, string> }): string {
  const f = (name: string) => shq(path.posix.join(opts.taskDir, name));
  const inner = [
    `exec >${f(TaskFiles.stdout)} 2>${f(TaskFiles.stderr)}`,
    ...exportLines(opts.env),
    ...runnerLines({ nodePath: opts.nodePath, runnerDir: opts.runnerDir, taskDir: opts.taskDir }),
  ].join('\n');
  return [
    `cd ${shq(opts.taskDir)} || exit 97`,
    `command -v setsid >/dev/null 2>&1 || { echo 'setsid is not installed on this host (package util-linux)' >&2; exit 98; }`,
    `nohup setsid /bin/sh -c ${shq(inner)} >/dev/null 2>&1 </dev/null &`,
    `ct_pid=$!`,
    `echo "$ct_pid" > ${f(TaskFiles.pgid)}`,
    `echo "$ct_pid"`,
  ].join('\n');
}

/** Lines that set `ct_alive=yes` when a non-zombie process of session $ct_pg is left. */
const ALIVE_CHECK = `ct_alive=no; if ps -o stat= -s "$ct_pg" 2>/dev/null | grep -qv '^Z'; then ct_alive=yes; fi`;

/** Prints DONE (exit code written), RUNNING, or GONE (no process left, no exit code). */
export function statusScript(opts: { taskDir: string; pgid: number }): string {
  const exit = shq(path.posix.join(opts.taskDir, TaskFiles.exitCode));
  return [
    `ct_pg=${pgidOf(opts.pgid)}`,
    `if [ -f ${exit} ]; then echo DONE; exit 0; fi`,
    ALIVE_CHECK,
    `if [ "$ct_alive" = yes ]; then echo RUNNING; exit 0; fi`,
    `if [ -f ${exit} ]; then echo DONE; else echo GONE; fi`,
  ].join('\n');
}

/**
 * TERM the task's session, KILL it after the grace period, and wait until no
 * process of it is left. Prints GONE, or ALIVE followed by what survived.
 * Only acts on the session when it is this task's (its pgid file, or a
 * process naming its directory), so a recycled pid is never signalled.
 */
export function killScript(opts: { taskDir: string; pgid: number; graceMs: number; timeoutMs: number; removeDir?: boolean }): string {
  const tick = 50;
  const graceTicks = Math.max(0, Math.ceil(opts.graceMs / tick));
  const maxTicks = Math.max(graceTicks + 1, Math.ceil(opts.timeoutMs / tick));
  const pgidFile = shq(path.posix.join(opts.taskDir, TaskFiles.pgid));
  const signalAll = (sig: string) =>
    `kill -s ${sig} -- -"$ct_pg" 2>/dev/null; for ct_p in $(ps -o pid= -s "$ct_pg" 2>/dev/null); do kill -s ${sig} "$ct_p" 2>/dev/null; done`;
  // Once nothing is left, remove the task directory in the same round trip.
  const gone = opts.removeDir && isTaskDir(opts.taskDir) ? `{ rm -rf -- ${shq(opts.taskDir)}; echo GONE; exit 0; }` : `{ echo GONE; exit 0; }`;
  return [
    `ct_pg=${pgidOf(opts.pgid)}`,
    `ct_owned=no`,
    `if [ -f ${pgidFile} ] && [ "$(cat ${pgidFile})" = "$ct_pg" ]; then ct_owned=yes;`,
    `elif ps -o args= -s "$ct_pg" 2>/dev/null | grep -qF -- ${shq(opts.taskDir)}; then ct_owned=yes; fi`,
    ALIVE_CHECK,
    `if [ "$ct_owned" = no ] || [ "$ct_alive" = no ]; then ${gone}; fi`,
    signalAll('TERM'),
    `ct_i=0`,
    `while :; do`,
    `  ${ALIVE_CHECK}`,
    `  if [ "$ct_alive" = no ]; then ${gone}; fi`,
    `  if [ "$ct_i" -ge ${graceTicks} ]; then ${signalAll('KILL')}; fi`,
    `  if [ "$ct_i" -ge ${maxTicks} ]; then echo ALIVE; ps -o pid=,stat=,args= -s "$ct_pg"; exit 0; fi`,
    `  ct_i=$((ct_i + 1)); sleep 0.05`,
    `done`,
  ].join('\n');
}
