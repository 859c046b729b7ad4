/**
 * Shell scripts that start, watch and kill a task's processes on a remote
 * host. Pure functions from validated values to POSIX sh text; every
 * variable part is quoted with `shq`, numbers are checked to be integers.
 *
 * The task runs in its own session (`setsid`), so its session id = process
 * group id = the launcher's `$!`. A pgid alone is not an identity: once the
 * task's processes are gone the kernel may hand the same number to an
 * unrelated session (a later login, another task). So the launcher records
 * the session leader's start time and the host's boot id, and gives every
 * process of the task a marker in its environment; the scripts below act on
 * a process only when one of those proves it is the task's, checked on the
 * host in the same exec, right before any signal.
 */
import * as path from 'node:path';
import { exportLines, shq } from '../remote/shell-quote';
import { runnerLines, TaskFiles } from '../remote/task-staging';

/** The environment variable that marks every process a task starts. */
export const TASK_MARKER_VAR = 'COVALENT_TS_TASK';

/** What identifies a task's processes on its host, recorded when it starts. */
export interface TaskIdentity {
  /** Process group (= session) id: the session leader's pid. */
  pgid: number;
  /** The leader's start time (/proc/<pid>/stat field 22, clock ticks since boot); '' if it ended before it was read. */
  startTime: string;
  /** /proc/sys/kernel/random/boot_id when the task started: start times count from this boot. */
  bootId: string;
  /** Value of TASK_MARKER_VAR in the environment of the task's processes. */
  marker: string;
}

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

const MARKER = /^[0-9a-f]{16,64}$/;
const START_TIME = /^\d*$/;
const BOOT_ID = /^[0-9a-f-]{36}$/;

/** True when `v` is a complete, well-formed identity (handles of older versions have none). */
export function isTaskIdentity(v: Partial<TaskIdentity>): v is TaskIdentity {
  return (
    typeof v.pgid === 'number' && Number.isInteger(v.pgid) && v.pgid > 1 &&
    typeof v.startTime === 'string' && START_TIME.test(v.startTime) &&
    typeof v.bootId === 'string' && BOOT_ID.test(v.bootId) &&
    typeof v.marker === 'string' && MARKER.test(v.marker)
  );
}

function checkedIdentity(id: TaskIdentity): TaskIdentity {
  pgidOf(id.pgid);
  if (!isTaskIdentity(id)) throw new TypeError(`Not a task identity: ${JSON.stringify(id)}`);
  return id;
}

/**
 * `ct_field PID N` sets `ct_v` to field N (3 = state, 22 = start time) of /proc/PID/stat, or to ''
 * when there is no such process. Builtins only (the kill loop calls it often): the command name may
 * hold spaces and parentheses, so fields are counted after its last ") ". N is always a literal.
 */
const STAT_FIELD =
  `ct_field() { ct_v=; ct_l=; { read -r ct_l < "/proc/$1/stat"; } 2>/dev/null; [ -n "$ct_l" ] || return 0; ` +
  `ct_n=$(($2 - 2)); ct_l=\${ct_l##*) }; set -- $ct_l; eval "ct_v=\\\${$ct_n}"; }`;

/** The launcher's answer and the pgid file: `PGID START_TIME BOOT_ID`. */
export function parseLaunchAnswer(text: string, marker: string): TaskIdentity | undefined {
  const [pg, startTime = '', bootId = ''] = text.trim().split(/\s+/);
  const id = { pgid: Number.parseInt(pg, 10), startTime, bootId, marker };
  return isTaskIdentity(id) ? id : undefined;
}

/**
 * Start the task detached (it outlives the SSH channel and connection) and
 * print `PGID START_TIME BOOT_ID`, also written to the task's pgid file.
 *
 * Running it again for the same task (its answer was lost with its exec or
 * connection) never starts a second copy: the task's session leader first
 * claims the task directory (`started`, created with O_EXCL) and a copy that
 * loses the claim exits at once; the launcher then reports the identity the
 * winner wrote. The leader records its own pid, start time and boot id, so
 * the identity is right even when the launcher died right after the fork.
 */
export function launchScript(opts: { taskDir: string; runnerDir: string; nodePath: string; marker: string; env?: Record<string, string> }): string {
  if (!MARKER.test(opts.marker)) throw new TypeError(`Not a task marker: ${opts.marker}`);
  const f = (name: string) => shq(path.posix.join(opts.taskDir, name));
  const inner = [
    `set -C; if ! { echo "$$" > ${f(TaskFiles.started)}; } 2>/dev/null; then exit 0; fi; set +C`,
    // Builtins only: this runs once per task on the host.
    `read -r ct_boot < /proc/sys/kernel/random/boot_id`,
    `read -r ct_stat < /proc/$$/stat; ct_stat=\${ct_stat##*) }; set -- $ct_stat`,
    `ct_id="$$ \${20} $ct_boot"`,
    `echo "$ct_id" > ${f(TaskFiles.pgid)}`,
    `echo "$ct_id" >&3; exec 3>&-`,
    `exec >${f(TaskFiles.stdout)} 2>${f(TaskFiles.stderr)}`,
    ...exportLines(opts.env),
    ...runnerLines({ nodePath: opts.nodePath, runnerDir: opts.runnerDir, taskDir: opts.taskDir }),
  ].join('\n');
  return [
    `cd ${shq(opts.taskDir)} || exit 97`,
    `command -v setsid >/dev/null 2>&1 || { echo 'setsid is not installed on this host (package util-linux)' >&2; exit 98; }`,
    `[ -r /proc/self/stat ] || { echo 'covalent-ts needs /proc on the remote host to identify its processes' >&2; exit 98; }`,
    // The marker is in the environment of the session leader and everything it starts; the
    // leader sends its identity through fd 3 and closes it, which ends the command substitution.
    `ct_id=; if [ ! -e ${f(TaskFiles.started)} ]; then`,
    `  ct_id=$(${TASK_MARKER_VAR}=${shq(opts.marker)} nohup setsid /bin/sh -c ${shq(inner)} 3>&1 >/dev/null 2>&1 </dev/null &)`,
    `fi`,
    // Empty: an earlier launch of this task claimed it; its leader writes the pgid file at once.
    `ct_i=0`,
    `while [ -z "$ct_id" ]; do`,
    `  if [ -f ${f(TaskFiles.pgid)} ]; then read -r ct_id < ${f(TaskFiles.pgid)}; fi`,
    `  case "$ct_id" in *-*-*-*-????????????) break ;; esac`,
    `  ct_id=`,
    `  if [ "$ct_i" -ge 200 ]; then echo 'an earlier start of this task claimed it but recorded no identity within 10 s' >&2; exit 96; fi`,
    `  ct_i=$((ct_i + 1)); sleep 0.05`,
    `done`,
    `echo "$ct_id"`,
  ].join('\n');
}

/**
 * Shell functions over one task's identity:
 * - `ct_leader_ours`: the session leader still runs and is the task's (same boot, same start time);
 * - `ct_pids`: the task's live (non-zombie) processes: the session's members
 *   while the leader is the task's, plus any process carrying the marker
 *   (also those that left the session);
 * - `ct_alive`: whether any is left.
 */
function identityLines(id: TaskIdentity): string[] {
  const { pgid, startTime, bootId, marker } = checkedIdentity(id);
  return [
    `ct_pg=${pgid}; ct_start=${shq(startTime)}; ct_boot=${shq(bootId)}; ct_mark=${shq(`${TASK_MARKER_VAR}=${marker}`)}`,
    STAT_FIELD,
    `ct_leader_ours() {`,
    `  [ -n "$ct_start" ] || return 1; ct_b=; { read -r ct_b < /proc/sys/kernel/random/boot_id; } 2>/dev/null`,
    `  [ "$ct_b" = "$ct_boot" ] || return 1; ct_field "$ct_pg" 22; [ "$ct_v" = "$ct_start" ]`,
    `}`,
    `ct_pids() {`,
    `  { if ct_leader_ours; then ps -o pid=,stat= -s "$ct_pg" 2>/dev/null; fi`,
    `    for ct_f in $(grep -lxzF -- "$ct_mark" /proc/[0-9]*/environ 2>/dev/null); do ct_p=\${ct_f#/proc/}; ct_p=\${ct_p%/environ}; ct_field "$ct_p" 3; echo "$ct_p $ct_v"; done`,
    `  } | awk '$2 != "" && $2 !~ /^Z/ && !seen[$1]++ { print $1 }'`,
    `}`,
    `ct_alive() { if ct_leader_ours && { ct_field "$ct_pg" 3; [ "$ct_v" != Z ]; }; then return 0; fi; [ -n "$(ct_pids)" ]; }`,
  ];
}

/** Prints DONE (exit code written), RUNNING, or GONE (no process of the task left, no exit code). */
export function statusScript(opts: { taskDir: string; identity: TaskIdentity }): string {
  const exit = shq(path.posix.join(opts.taskDir, TaskFiles.exitCode));
  return [
    ...identityLines(opts.identity),
    `if [ -f ${exit} ]; then echo DONE; exit 0; fi`,
    `if ct_alive; then echo RUNNING; exit 0; fi`,
    `if [ -f ${exit} ]; then echo DONE; else echo GONE; fi`,
  ].join('\n');
}

/**
 * Stop the task: TERM, KILL after the grace period, and wait until none of
 * its processes is left. Prints
 * - FINISHED when the task had already ended by itself (its exit code is
 *   written); leftovers that carry its marker are still stopped, and its
 *   directory is kept (it holds the result);
 * - GONE once nothing of it is left (nothing may have been running);
 * - ALIVE followed by what survived.
 * Signals go only to processes proven to be the task's (see identityLines):
 * a pgid that now names an unrelated session is never signalled.
 */
export function killScript(opts: { taskDir: string; identity: TaskIdentity; graceMs: number; timeoutMs: number; removeDir?: boolean }): string {
  const tick = 50;
  const graceTicks = Math.max(0, Math.ceil(opts.graceMs / tick));
  const maxTicks = Math.max(graceTicks + 1, Math.ceil(opts.timeoutMs / tick));
  const exit = shq(path.posix.join(opts.taskDir, TaskFiles.exitCode));
  const signalAll = (sig: string) =>
    `if [ "$ct_finished" = no ] && ct_leader_ours; then kill -s ${sig} -- -"$ct_pg" 2>/dev/null; fi; for ct_p in $(ct_pids); do kill -s ${sig} "$ct_p" 2>/dev/null; done`;
  // Once nothing is left, remove the task directory in the same round trip (not a finished task's: it holds the result).
  const remove = opts.removeDir && isTaskDir(opts.taskDir) ? `rm -rf -- ${shq(opts.taskDir)}; ` : '';
  const gone = `{ if [ "$ct_finished" = yes ]; then echo FINISHED; else ${remove}echo GONE; fi; exit 0; }`;
  return [
    ...identityLines(opts.identity),
    `ct_finished=no; if [ -f ${exit} ]; then ct_finished=yes; fi`,
    `if ! ct_alive; then ${gone}; fi`,
    signalAll('TERM'),
    `ct_i=0`,
    `while :; do`,
    `  if ! ct_alive; then ${gone}; fi`,
    `  if [ "$ct_i" -ge ${graceTicks} ]; then ${signalAll('KILL')}; fi`,
    `  if [ "$ct_i" -ge ${maxTicks} ]; then echo ALIVE; for ct_p in $(ct_pids); do ps -o pid=,stat=,args= -p "$ct_p"; done; exit 0; fi`,
    `  ct_i=$((ct_i + 1)); sleep 0.05`,
    `done`,
  ].join('\n');
}
