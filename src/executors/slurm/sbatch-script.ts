/**
 * The batch script and the sbatch command line, for one task or for a job
 * array of many (one task directory per array index, listed in a file).
 *
 * The script starts the task runner in a process group of its own and stays
 * its parent: on TERM (scancel, a time limit) it forwards TERM to that whole
 * group, escalates to KILL after the grace period, and returns only when the
 * group is empty. Slurm's own process tracking then has nothing left to
 * find, whichever proctrack plugin the site runs (linuxproc loses track of
 * grandchildren whose parent died; pgid only signals the script's group).
 * The script also writes the task's exit code next to its result, so both
 * survive the job record expiring.
 */
import * as path from 'node:path';
import { exportLines, shArgv, shq } from '../remote/shell-quote';
import { runnerFiles } from '../remote/runner-files';
import { TaskFiles } from '../remote/task-staging';
import type { ResolvedSlurmOptions } from './slurm-options';

export const JOB_SCRIPT = 'job.sh';
/** Next to an array's script: one task directory per line, line N+1 for index N. */
export const ARRAY_DIRS = 'dirs';

/** A job name Slurm shows in squeue: only safe characters survive. */
export function slurmJobName(taskName: string, nodeId: number): string {
  const safe = taskName.replace(/[^A-Za-z0-9_.-]/g, '_').slice(0, 40) || 'task';
  return `ct-${nodeId}-${safe}`;
}

/** What one submission runs: a single task directory, or an array's list of them. */
export type JobTarget = { kind: 'single'; taskDir: string } | { kind: 'array'; dir: string };

export function renderJobScript(o: ResolvedSlurmOptions, runnerDir: string, target: JobTarget): string {
  const tick = 100;
  const graceTicks = Math.max(0, Math.ceil(o.cancelGraceMs / tick));
  const maxTicks = graceTicks + 100; // KILL cannot be ignored: 10 s more is plenty
  const main = path.posix.join(runnerDir, runnerFiles().main);
  const dirLine =
    target.kind === 'single'
      ? `ct_dir=${shq(target.taskDir)}`
      : `ct_dir=$(sed -n "$(( \${SLURM_ARRAY_TASK_ID:-0} + 1 ))p" ${shq(path.posix.join(target.dir, ARRAY_DIRS))})`;
  return [
    '#!/bin/bash',
    ...o.sbatchLines,
    '# covalent-ts task',
    dirLine,
    `[ -n "$ct_dir" ] && cd "$ct_dir" || { echo "covalent-ts: no task directory for this job" >&2; exit 97; }`,
    `exec >"$ct_dir/${TaskFiles.stdout}" 2>"$ct_dir/${TaskFiles.stderr}"`,
    '# set-up lines from the executor options follow',
    ...o.setupLines,
    ...exportLines(o.env),
    // TERM the task's group, KILL it after the grace, return once no process of it is left.
    `ct_pg=''`,
    `ct_stop() {`,
    `  [ -n "$ct_pg" ] || return 0`,
    `  kill -TERM -- -"$ct_pg" 2>/dev/null`,
    `  ct_i=0`,
    `  while kill -0 -- -"$ct_pg" 2>/dev/null && [ "$ct_i" -lt ${maxTicks} ]; do`,
    `    if [ "$ct_i" -ge ${graceTicks} ]; then kill -KILL -- -"$ct_pg" 2>/dev/null; fi`,
    `    sleep 0.1; ct_i=$((ct_i + 1))`,
    `  done`,
    `}`,
    `trap 'ct_stop; exit 143' TERM INT HUP`,
    `setsid ${shArgv([o.nodePath, main])} "$ct_dir" </dev/null &`,
    `ct_pg=$!`,
    `wait "$ct_pg"`,
    `ct_rc=$?`,
    // Whatever the task left running in its group ends with it.
    `ct_stop`,
    `echo "$ct_rc" > "$ct_dir/${TaskFiles.exitCode}.tmp" && mv -f "$ct_dir/${TaskFiles.exitCode}.tmp" "$ct_dir/${TaskFiles.exitCode}"`,
    `exit "$ct_rc"`,
    '',
  ].join('\n');
}

/**
 * `--time` for a job: the task's own time limit (whole minutes, rounded up:
 * Slurm's unit), or the executor's `timeLimit` when that is shorter or the
 * task has none. Slurm then ends the job even if the dispatcher is gone.
 */
export function slurmTimeLimit(executorLimit: string | undefined, taskLimitMs: number | undefined): string | undefined {
  if (taskLimitMs === undefined) return executorLimit;
  const taskMinutes = Math.max(1, Math.ceil(taskLimitMs / 60_000));
  const own = executorLimit === undefined ? undefined : slurmMinutes(executorLimit);
  return own !== undefined && own <= taskMinutes ? executorLimit : String(taskMinutes);
}

/** Minutes of a Slurm time (`M`, `M:S`, `H:M:S`, `D-H`, `D-H:M`, `D-H:M:S`); undefined for UNLIMITED. */
function slurmMinutes(time: string): number | undefined {
  const m = /^(?:(\d+)-)?(\d+)(?::(\d+))?(?::(\d+))?$/.exec(time);
  if (!m) return undefined;
  const [d, a, b, c] = [m[1], m[2], m[3], m[4]].map((x) => (x === undefined ? undefined : Number(x)));
  if (d !== undefined) return d * 1440 + a! * 60 + (b ?? 0) + (c ?? 0) / 60;
  if (c !== undefined) return a! * 60 + b! + c / 60;
  return a! + (b ?? 0) / 60;
}

/** `sbatch ...` with every value quoted; `array` submits indices 0..count-1, at most `parallelism` at once. */
export function sbatchCommand(
  o: ResolvedSlurmOptions,
  scriptDir: string,
  jobName: string,
  sbatch: string,
  array?: { count: number; parallelism?: number },
  /** The task's own time limit (see slurmTimeLimit). */
  taskLimitMs?: number,
): string {
  const argv: string[] = [
    sbatch,
    '--parsable',
    `--job-name=${jobName}`,
    `--chdir=${scriptDir}`,
    // The script redirects the task's own output into its directory; this only catches what comes before.
    `--output=${path.posix.join(scriptDir, array ? 'slurm-%a.log' : 'slurm.log')}`,
  ];
  if (array) argv.push(`--array=0-${array.count - 1}${array.parallelism ? `%${array.parallelism}` : ''}`);
  if (o.partition) argv.push(`--partition=${o.partition}`);
  const time = slurmTimeLimit(o.timeLimit, taskLimitMs);
  if (time) argv.push(`--time=${time}`);
  if (o.cpus) argv.push(`--cpus-per-task=${o.cpus}`);
  if (o.memory) argv.push(`--mem=${o.memory}`);
  argv.push(path.posix.join(scriptDir, JOB_SCRIPT));
  return shArgv(argv);
}
