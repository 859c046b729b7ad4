import * as fs from 'node:fs';
import * as path from 'node:path';
import { writeFileAtomicSync } from './atomic-file';

/** Outputs larger than this go to a file beside the database, not into it. */
const LARGE_OUTPUT_BYTES = 256 * 1024;

/** An encoded value as the store keeps it: in the row (`inline`), or in a file under outputs/ named by `ref`. */
export interface PlacedValue {
  inline: Uint8Array | null;
  ref: string | null;
}

/**
 * Large encoded values (outputs, results) live in files under `outputs/`,
 * so the database stays small enough to snapshot often; rows keep the
 * file's name.
 */
export class ValueFiles {
  constructor(private readonly dir: string) {}

  /** Small values stay in the row; a large one is written (durably, now) to a file whose name the row keeps. */
  place(dispatchId: string, key: string, bytes: Uint8Array | null): PlacedValue {
    if (!bytes || bytes.length <= LARGE_OUTPUT_BYTES) return { inline: bytes, ref: null };
    const ref = path.join(safeName(dispatchId), `${key}.bin`);
    const file = path.join(this.dir, ref);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    writeFileAtomicSync(file, bytes);
    return { inline: null, ref };
  }

  /** The bytes of a stored value: the row's own, or its file's (null if that file is gone). */
  read(inline: Uint8Array | null, ref: string | null | undefined): Uint8Array | null {
    if (inline instanceof Uint8Array) return inline;
    if (typeof ref === 'string' && ref) {
      try {
        return fs.readFileSync(path.join(this.dir, ref));
      } catch {
        return null;
      }
    }
    return null;
  }
}

function safeName(s: string): string {
  return s.replace(/[^A-Za-z0-9_-]/g, '_');
}
