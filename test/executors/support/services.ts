/**
 * The daemons started by global-setup.ts (.ci/services/executors.sh): a
 * private sshd and a single-node Slurm cluster. Tests that need them use
 * `describeWithDaemons`; outside CI, on a machine without the packages, they
 * are skipped with a message saying how to enable them. In CI they never skip:
 * global setup fails the run instead.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';

export interface Login {
  username: string;
  privateKeyPath: string;
  passphrase?: string;
  workDir: string;
}

export interface Services {
  dir: string;
  ssh: { host: string; port: number; knownHostsFile: string; hostPublicKeyFile: string; root: Login; user: Login };
  slurm: SlurmCluster;
  /** Every cluster the harness runs: the primary one (cgroup where possible) and one with proctrack/linuxproc. */
  slurmClusters: SlurmCluster[];
}

export interface SlurmCluster {
  conf: string;
  proctrack: string;
  cpus: number;
  partition: string;
  maxArraySize: number;
}

export const SERVICES_ENV = 'CT_EXECUTOR_SERVICES';
export const UNAVAILABLE_PREFIX = 'unavailable:';

let cached: Services | undefined;

export function servicesUnavailableReason(): string | undefined {
  const v = process.env[SERVICES_ENV];
  if (!v) return 'global setup did not run';
  if (v.startsWith(UNAVAILABLE_PREFIX)) return v.slice(UNAVAILABLE_PREFIX.length);
  return undefined;
}

export function services(): Services {
  if (cached) return cached;
  const reason = servicesUnavailableReason();
  if (reason) throw new Error(`Executor test daemons are not running: ${reason}`);
  cached = JSON.parse(fs.readFileSync(process.env[SERVICES_ENV]!, 'utf8')) as Services;
  return cached;
}

/** `describe` when the daemons run, otherwise a visible skip with instructions. */
export function describeWithDaemons(name: string, fn: () => void): void {
  const reason = servicesUnavailableReason();
  if (reason) {
    // eslint-disable-next-line no-console
    console.warn(
      `SKIPPED "${name}": ${reason}. To enable: run \`sudo .ci/setup-executors.sh\` (installs openssh-server, slurm, munge) ` +
        `and run the tests as root; in CI (CI=true) these tests never skip.`,
    );
    describe.skip(name, fn);
  } else {
    describe(name, fn);
  }
}

/** Run a command on this machine (where the daemons and tasks run) and return stdout. */
export function sh(script: string, env: NodeJS.ProcessEnv = process.env): string {
  return execFileSync('/bin/sh', ['-c', script], { env, encoding: 'utf8' });
}

/** Processes (pid and args) whose command line contains `needle`, excluding the ps/grep itself. */
export function processesMatching(needle: string): string[] {
  const out = execFileSync('ps', ['-eo', 'pid=,args='], { encoding: 'utf8' });
  return out
    .split('\n')
    .filter((l) => l.includes(needle) && !/\bps -eo\b/.test(l))
    .map((l) => l.trim());
}

/** Safety net after a failed test: SIGKILL this machine's processes whose command line contains `needle`. */
export function killMatching(needle: string): void {
  for (const line of processesMatching(needle)) {
    const pid = Number.parseInt(line, 10);
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* already gone */
    }
  }
}

export function slurmEnv(conf = services().slurm.conf): NodeJS.ProcessEnv {
  return { ...process.env, SLURM_CONF: conf };
}

/**
 * A `slurmBinDir` whose sbatch, scontrol and scancel log each invocation's
 * arguments (one line per call, in `<dir>/<command>.log`) and then run the
 * real command: counts what the executor sends, locally or over SSH.
 */
export function countingSlurmBin(parent: string): { dir: string; calls: (cmd: 'sbatch' | 'scontrol' | 'scancel') => string[] } {
  const dir = fs.mkdtempSync(`${parent}/slurm-bin-`);
  fs.chmodSync(dir, 0o755);
  for (const cmd of ['sbatch', 'scontrol', 'scancel']) {
    const log = `${dir}/${cmd}.log`;
    fs.writeFileSync(log, '');
    fs.chmodSync(log, 0o666);
    fs.writeFileSync(`${dir}/${cmd}`, `#!/bin/sh\necho "$*" >> '${log}'\nexec /usr/bin/${cmd} "$@"\n`, { mode: 0o755 });
  }
  return {
    dir,
    calls: (cmd) => fs.readFileSync(`${dir}/${cmd}.log`, 'utf8').split('\n').filter((l) => l !== ''),
  };
}

/** `scontrol show job -o ID` parsed into fields, or undefined when the job is unknown. */
export function scontrolJob(jobId: string | number, conf?: string): Record<string, string> | undefined {
  try {
    const line = execFileSync('scontrol', ['show', 'job', '-o', String(jobId)], { env: slurmEnv(conf), encoding: 'utf8' });
    const fields: Record<string, string> = {};
    for (const m of line.matchAll(/(\S+?)=(\S*)/g)) if (!(m[1] in fields)) fields[m[1]] = m[2];
    return fields;
  } catch {
    return undefined;
  }
}

/** Wait until `probe` returns a truthy value, polling; throws with `what` after `timeoutMs`. */
export async function waitFor<T>(what: string, probe: () => T | Promise<T>, timeoutMs = 60000, everyMs = 100): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v) return v;
    if (Date.now() > end) throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
