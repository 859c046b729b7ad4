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
  /**
   * Whether Slurm ever gave the job a node (`NodeList` other than `(null)`):
   * false for a job cancelled while PENDING, whatever its final state says.
   * Absent when the record does not say.
   */
  started?: boolean;
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
/** A job id (`123`) or an array element (`123_4`), as sbatch, scontrol and scancel name them. */
const JOB_OR_ELEMENT = /^\d+(_\d+)?$/;
export function isSlurmJobId(id: unknown): id is string {
  return typeof id === 'string' && JOB_OR_ELEMENT.test(id);
}

/** Indices of an `ArrayTaskId` expression: `7`, `0-499%10`, `1,3,5-7`, `0-10:2`. */
export function arrayIndices(expr: string): number[] {
  const out: number[] = [];
  for (const part of expr.replace(/%\d+$/, '').split(',')) {
    const m = /^(\d+)(?:-(\d+)(?::(\d+))?)?$/.exec(part);
    if (!m) continue;
    const from = Number(m[1]);
    const to = m[2] === undefined ? from : Number(m[2]);
    const step = m[3] === undefined ? 1 : Math.max(1, Number(m[3]));
    for (let i = from; i <= to && out.length < 1_000_000; i += step) out.push(i);
  }
  return out;
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
    const state = rawState.split('+')[0];
    const reason = field(line, 'Reason') ?? 'None';
    const ec = field(line, 'ExitCode');
    const m = ec ? /^(\d+):(\d+)$/.exec(ec) : null;
    const exit = m ? { exitCode: Number(m[1]), exitSignal: Number(m[2]) } : {};
    const nodeList = field(line, 'NodeList');
    const started = nodeList === undefined ? {} : { started: nodeList !== '(null)' && nodeList !== '' };
    // An array's elements are named ARRAY_INDEX; elements still pending share one record.
    const arrayJobId = field(line, 'ArrayJobId');
    const taskIds = field(line, 'ArrayTaskId');
    const ids = arrayJobId && JOB_ID.test(arrayJobId) && taskIds ? arrayIndices(taskIds).map((i) => `${arrayJobId}_${i}`) : [jobId];
    for (const id of ids) jobs.set(id, { jobId: id, state, reason, ...exit, ...started });
  }
  return jobs;
}

/** What the executor needs from `scontrol show config`. */
export interface SlurmConfigInfo {
  /** Array indices must be below this (`MaxArraySize`, default 1001). */
  maxArraySize: number;
  /** Seconds between Slurm's TERM and KILL of a cancelled job (`KillWait`, default 30). */
  killWaitS: number;
}

export function parseSlurmConfig(text: string): SlurmConfigInfo {
  const num = (key: string, dflt: number) => {
    const m = new RegExp(`^${key}\\s*=\\s*(\\d+)`, 'm').exec(text);
    return m ? Number(m[1]) : dflt;
  };
  return { maxArraySize: num('MaxArraySize', 1001), killWaitS: num('KillWait', 30) };
}
