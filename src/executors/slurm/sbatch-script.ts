/**
 * The batch script and the sbatch command line for one task. The script
 * runs the task runner, which writes the result; the script then writes the
 * exit code next to it, so both survive the job record expiring.
 */
import * as path from 'node:path';
import { exportLines, shArgv } from '../remote/shell-quote';
import { runnerLines, TaskFiles } from '../remote/task-staging';
import type { ResolvedSlurmOptions } from './slurm-options';

export const JOB_SCRIPT = 'job.sh';

/** A job name Slurm shows in squeue: only safe characters survive. */
export function slurmJobName(taskName: string, nodeId: number): string {
  const safe = taskName.replace(/[^A-Za-z0-9_.-]/g, '_').slice(0, 40) || 'task';
  return `ct-${nodeId}-${safe}`;
}

export function renderJobScript(o: ResolvedSlurmOptions, taskDir: string, runnerDir: string): string {
  return [
    '#!/bin/bash',
    ...o.sbatchLines,
    '# covalent-ts task; set-up lines from the executor options follow',
    ...o.setupLines,
    ...exportLines(o.env),
    ...runnerLines({ nodePath: o.nodePath, runnerDir, taskDir }),
    '',
  ].join('\n');
}

/** `sbatch ...` with every value quoted. */
export function sbatchCommand(o: ResolvedSlurmOptions, taskDir: string, jobName: string, sbatch: string): string {
  const argv: string[] = [
    sbatch,
    '--parsable',
    `--job-name=${jobName}`,
    `--chdir=${taskDir}`,
    `--output=${path.posix.join(taskDir, TaskFiles.stdout)}`,
    `--error=${path.posix.join(taskDir, TaskFiles.stderr)}`,
  ];
  if (o.partition) argv.push(`--partition=${o.partition}`);
  if (o.timeLimit) argv.push(`--time=${o.timeLimit}`);
  if (o.cpus) argv.push(`--cpus-per-task=${o.cpus}`);
  if (o.memory) argv.push(`--mem=${o.memory}`);
  argv.push(path.posix.join(taskDir, JOB_SCRIPT));
  return shArgv(argv);
}
