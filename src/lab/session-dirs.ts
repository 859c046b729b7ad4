import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { currentProcessIdentity, processLiveness, type ProcessIdentity } from '../process/process-identity';

/**
 * A lab session's private folder (prefix, runtime files, token file, log) in the
 * temp dir. A lab that stops removes its own; one that was SIGKILLed cannot, so
 * each folder records the lab process that owns it, and the next lab removes
 * folders whose owner is verifiably gone (never one whose owner still runs, or
 * that it cannot account for).
 */
const PREFIX = 'covalent-ts-lab-';
const OWNER_FILE = 'owner.json';

/** Create a session folder (mode 0700) owned by this process. */
export function createSessionDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), PREFIX));
  fs.writeFileSync(path.join(dir, OWNER_FILE), JSON.stringify(currentProcessIdentity()), { mode: 0o600 });
  return dir;
}

/** Remove session folders left by labs that no longer run; returns how many. */
export function removeStaleSessionDirs(): number {
  let removed = 0;
  let names: string[];
  try {
    names = fs.readdirSync(os.tmpdir()).filter(n => n.startsWith(PREFIX));
  } catch {
    return 0;
  }
  const uid = process.getuid?.();
  for (const name of names) {
    const dir = path.join(os.tmpdir(), name);
    try {
      if (uid !== undefined && fs.statSync(dir).uid !== uid) continue;
      const owner = JSON.parse(fs.readFileSync(path.join(dir, OWNER_FILE), 'utf8')) as ProcessIdentity;
      if (processLiveness(owner) === 'gone') {
        fs.rmSync(dir, { recursive: true, force: true });
        removed++;
      }
    } catch {
      // No owner record (an older lab, or not ours): leave it alone.
    }
  }
  return removed;
}
