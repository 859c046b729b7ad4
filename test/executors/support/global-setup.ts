/**
 * Starts the executor tests' daemons (private sshd + single-node Slurm) with
 * .ci/services/executors.sh, once per test run. In CI a failure to start
 * fails the run; elsewhere the tests that need them skip with a message.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { SERVICES_ENV, UNAVAILABLE_PREFIX } from './services';

const SCRIPT = path.resolve(__dirname, '../../../.ci/services/executors.sh');
export const DIR_ENV = 'CT_EXECUTOR_SERVICES_DIR';

export default async function globalSetup(): Promise<void> {
  const ci = process.env.CI === 'true' || process.env.CI === '1';
  const missing = ['/usr/sbin/sshd', '/usr/sbin/slurmctld', '/usr/sbin/slurmd', '/usr/sbin/munged'].filter((b) => !fs.existsSync(b));
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  if (!ci && (missing.length > 0 || !isRoot)) {
    process.env[SERVICES_ENV] = UNAVAILABLE_PREFIX + (missing.length > 0 ? `missing ${missing.join(', ')}` : 'the tests must run as root to start sshd and slurmd');
    return;
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ct-exec-'));
  try {
    execFileSync('bash', [SCRIPT, 'start', dir], { stdio: ['ignore', 'inherit', 'inherit'], timeout: 120000 });
  } catch (e) {
    try {
      execFileSync('bash', [SCRIPT, 'stop', dir], { stdio: 'inherit', timeout: 120000 });
    } catch {
      /* reported below */
    }
    const msg = `Could not start the executor test daemons (sshd, munged, slurmctld, slurmd) with ${SCRIPT}: ${(e as Error).message}`;
    if (ci) throw new Error(`${msg}\nCI needs them: run .ci/setup-executors.sh before the tests.`);
    process.env[SERVICES_ENV] = UNAVAILABLE_PREFIX + msg;
    return;
  }
  process.env[SERVICES_ENV] = path.join(dir, 'env.json');
  process.env[DIR_ENV] = dir;
}
