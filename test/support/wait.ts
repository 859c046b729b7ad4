import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { identityOfPid } from '../../src/process/process-identity';

/** Poll until `check` returns a truthy value; fail with `what` after `timeoutMs`. */
export async function waitFor<T>(what: string, check: () => T | Promise<T>, timeoutMs = 30_000, everyMs = 10): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** True while the process exists and is not a zombie (the product's own check). */
export function processRunning(pid: number): boolean {
  return identityOfPid(pid) !== undefined;
}

/** A fresh, empty directory under the OS temp dir. */
export function tempDir(prefix = 'ct-test-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

/** Use a private store for this test file (call at the top, before any dispatch). */
export function usePrivateHome(): string {
  const home = tempDir('ct-home-');
  process.env.CT_HOME = home;
  return home;
}
