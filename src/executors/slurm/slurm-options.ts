/** SlurmExecutor options and their validation. */
import type { Price } from '../price';
import { ErrorCodes, InvalidInputError } from '../../errors';
import { isEnvName } from '../remote/shell-quote';
import { positiveInt, resolveSSHOptions, type ResolvedSSHOptions, type SSHConnectionOptions } from '../ssh/ssh-options';

export interface SlurmExecutorOptions {
  /** Submit over SSH to a login node with these options; omit to submit on this machine. */
  ssh?: SSHConnectionOptions;
  /** Where task directories live; must be visible from the compute nodes (shared filesystem). Default `~/.covalent-ts/slurm`. */
  remoteWorkDir?: string;
  /** Node.js (20 or later) on the compute nodes. Default `node`. */
  nodePath?: string;
  /** `--partition`. */
  partition?: string;
  /** `--time`, e.g. `10` (minutes), `1:30:00`, `2-00:00:00`. */
  timeLimit?: string | number;
  /** `--cpus-per-task`. */
  cpus?: number;
  /** `--mem`, e.g. `2G`, `500M`. */
  memory?: string;
  /** Extra `#SBATCH` lines, e.g. `--gres=gpu:1` or `#SBATCH --qos=high`. */
  sbatchLines?: string[];
  /** Shell lines run in the job before the task, e.g. `module load nodejs/20`. These are shell code, by design. */
  setupLines?: string[];
  /** Environment variables for the task (stored with the configuration: no secrets). */
  env?: Record<string, string>;
  /** Path of slurm.conf for the client commands, when not the default. */
  slurmConf?: string;
  /** Directory of sbatch/scontrol/scancel, when they are not on PATH. */
  slurmBinDir?: string;
  /** First poll interval (default 300 ms); it grows while nothing changes, up to `maxPollIntervalMs`. */
  pollIntervalMs?: number;
  /** Longest poll interval (default 5000 ms). */
  maxPollIntervalMs?: number;
  /** How long a cancel waits for the job to become terminal (default 120000 ms). */
  cancelTimeoutMs?: number;
  /**
   * How long a cancelled task's processes get after SIGTERM before the job
   * script SIGKILLs them (default 3000 ms). Keep it below the cluster's
   * `KillWait`, after which Slurm kills the script itself.
   */
  cancelGraceMs?: number;
  /**
   * Submit a fan-out (one electron mapped over many inputs) as one job array,
   * `sbatch --array=0-(N-1)` (default true); `false` submits one job per task.
   * Arrays larger than the cluster's `MaxArraySize` are split.
   */
  array?: boolean;
  /** At most this many elements of an array run at once (`--array=...%N`). */
  arrayParallelism?: number;
  /** Remove the task directory afterwards (default true). */
  cleanup?: boolean;
  /** Price of a job, e.g. `{ perHour: 3.06 }` (see ct.dispatch's budget). */
  price?: Price;
}

export interface ResolvedSlurmOptions {
  ssh?: ResolvedSSHOptions;
  remoteWorkDir: string;
  nodePath: string;
  partition?: string;
  timeLimit?: string;
  cpus?: number;
  memory?: string;
  sbatchLines: string[];
  setupLines: string[];
  env: Record<string, string>;
  slurmConf?: string;
  slurmBinDir?: string;
  pollIntervalMs: number;
  maxPollIntervalMs: number;
  cancelTimeoutMs: number;
  cancelGraceMs: number;
  array: boolean;
  arrayParallelism?: number;
  cleanup: boolean;
}

const WHERE = 'SlurmExecutor options';
function fail(message: string): never {
  throw new InvalidInputError(ErrorCodes.INVALID_ARGUMENT, `${WHERE}: ${message}`);
}

function line(o: Record<string, unknown>, key: string, pattern?: RegExp, example?: string): string | undefined {
  const v = o[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string' || v === '' || /[\0\n\r]/.test(v)) fail(`"${key}" must be a non-empty single-line string.`);
  if (pattern && !pattern.test(v)) fail(`"${key}" ${JSON.stringify(v)} is not valid${example ? `; for example ${example}` : ''}.`);
  return v;
}

function lines(o: Record<string, unknown>, key: string): string[] {
  const v = o[key];
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v) || v.some((l) => typeof l !== 'string' || /[\0\n\r]/.test(l))) fail(`"${key}" must be an array of single-line strings.`);
  return v as string[];
}

export function resolveSlurmOptions(raw: unknown): ResolvedSlurmOptions {
  const o = (raw ?? {}) as Record<string, unknown>;
  if (typeof o !== 'object') fail('must be an object.');
  const ssh = o.ssh === undefined || o.ssh === null ? undefined : resolveSSHOptions(o.ssh, `${WHERE}.ssh`);
  let timeLimit: string | undefined;
  if (typeof o.timeLimit === 'number') {
    if (!Number.isInteger(o.timeLimit) || o.timeLimit <= 0) fail('"timeLimit" in minutes must be a positive integer.');
    timeLimit = String(o.timeLimit);
  } else {
    timeLimit = line(o, 'timeLimit', /^(\d+-)?\d+(:\d+){0,2}$|^UNLIMITED$/i, `'30', '1:30:00' or '2-00:00:00'`);
  }
  const sbatchLines = lines(o, 'sbatchLines').map((l) => {
    const body = l.trim().replace(/^#SBATCH\s+/, '');
    if (!body.startsWith('-')) fail(`"sbatchLines" entries are sbatch options such as "--gres=gpu:1", got ${JSON.stringify(l)}.`);
    return `#SBATCH ${body}`;
  });
  const env: Record<string, string> = {};
  if (o.env !== undefined && o.env !== null) {
    if (typeof o.env !== 'object') fail('"env" must be an object of strings.');
    for (const [k, v] of Object.entries(o.env as object)) {
      if (!isEnvName(k)) fail(`env name ${JSON.stringify(k)} is not a valid variable name.`);
      if (typeof v !== 'string' || v.includes('\0')) fail(`env "${k}" must be a string.`);
      env[k] = v;
    }
  }
  if (o.cleanup !== undefined && typeof o.cleanup !== 'boolean') fail('"cleanup" must be true or false.');
  if (o.array !== undefined && typeof o.array !== 'boolean') fail('"array" must be true or false.');
  const pollIntervalMs = positiveInt(o, 'pollIntervalMs', WHERE, 300);
  const cpus = o.cpus === undefined || o.cpus === null ? undefined : positiveInt(o, 'cpus', WHERE, 1);
  return {
    ssh,
    remoteWorkDir: line(o, 'remoteWorkDir') ?? '~/.covalent-ts/slurm',
    nodePath: line(o, 'nodePath') ?? 'node',
    partition: line(o, 'partition', /^[A-Za-z0-9_.,-]+$/, `'debug' or 'gpu,cpu'`),
    timeLimit,
    cpus,
    memory: line(o, 'memory', /^\d+[KMGT]?B?$/i, `'2G' or '500M'`),
    sbatchLines,
    setupLines: lines(o, 'setupLines'),
    env,
    slurmConf: line(o, 'slurmConf'),
    slurmBinDir: line(o, 'slurmBinDir'),
    pollIntervalMs,
    maxPollIntervalMs: Math.max(pollIntervalMs, positiveInt(o, 'maxPollIntervalMs', WHERE, 5000)),
    cancelTimeoutMs: positiveInt(o, 'cancelTimeoutMs', WHERE, 120000),
    cancelGraceMs: o.cancelGraceMs === 0 ? 0 : positiveInt(o, 'cancelGraceMs', WHERE, 3000),
    array: o.array !== false,
    arrayParallelism: o.arrayParallelism === undefined || o.arrayParallelism === null ? undefined : positiveInt(o, 'arrayParallelism', WHERE, 1),
    cleanup: o.cleanup !== false,
  };
}
