/** Stops the daemons global-setup.ts started and removes their directory. */
import { execFileSync } from 'node:child_process';
import * as path from 'node:path';

const SCRIPT = path.resolve(__dirname, '../../../.ci/services/executors.sh');

export default async function globalTeardown(): Promise<void> {
  const dir = process.env.CT_EXECUTOR_SERVICES_DIR;
  if (!dir) return;
  execFileSync('bash', [SCRIPT, 'stop', dir], { stdio: ['ignore', 'inherit', 'inherit'], timeout: 120000 });
  delete process.env.CT_EXECUTOR_SERVICES_DIR;
}
