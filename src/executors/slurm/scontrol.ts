/**
 * Parsing `scontrol show job -o` (one line per job). Only the fields the
 * executor needs are read, each from its first occurrence: JobState and
 * ExitCode come before any user-controlled path in Slurm's output.
 */

export interface SlurmJobInfo {
  jobId: string;
  /** e.g. PENDING, RUNNING, COMPLETING, COMPLETED, CANCELLED, FAILED, TIMEOUT. */
  state: string;
  reason: string;
  /** `ExitCode=<code>:<signal>` */
  exitCode?: number;
  exitSignal?: number;
}

/** States after which the job never runs again (and its processes are gone). */
const TERMINAL = new Set([
  'COMPLETED',
  'CANCELLED',
  'FAILED',
  'TIMEOUT',
  'NODE_FAIL',
  'PREEMPTED',
  'BOOT_FAIL',
  'DEADLINE',
  'OUT_OF_MEMORY',
  'REVOKED',
  'SPECIAL_EXIT',
]);

export function isTerminalSlurmState(state: string): boolean {
  return TERMINAL.has(state);
}

const JOB_ID = /^\d+$/;
export function isSlurmJobId(id: unknown): id is string {
  return typeof id === 'string' && JOB_ID.test(id);
}

function field(line: string, key: string): string | undefined {
  const m = new RegExp(`(?:^|\\s)${key}=(\\S*)`).exec(line);
  return m ? m[1] : undefined;
}

/** Every job in the output, by id. Lines that are not job records are ignored. */
export function parseScontrolJobs(output: string): Map<string, SlurmJobInfo> {
  const jobs = new Map<string, SlurmJobInfo>();
  for (const line of output.split('\n')) {
    const jobId = field(line, 'JobId');
    const rawState = field(line, 'JobState');
    if (!jobId || !JOB_ID.test(jobId) || !rawState) continue;
    const info: SlurmJobInfo = { jobId, state: rawState.split('+')[0], reason: field(line, 'Reason') ?? 'None' };
    const ec = field(line, 'ExitCode');
    const m = ec ? /^(\d+):(\d+)$/.exec(ec) : null;
    if (m) {
      info.exitCode = Number(m[1]);
      info.exitSignal = Number(m[2]);
    }
    jobs.set(jobId, info);
  }
  return jobs;
}
