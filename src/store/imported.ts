import * as fs from 'node:fs';
import * as path from 'node:path';
import { ErrorCodes, InvalidInputError } from '../errors';
import { writeFileAtomicSync } from './atomic-file';

/**
 * Where a dispatch imported from another store came from (`covalent-ts
 * import`). Kept beside the database, one small file per dispatch, so the
 * database schema is untouched. A dispatch with such a record is read-only:
 * its jobs belong to someone else, so nothing here may cancel them.
 */
export interface ImportRecord {
  dispatchId: string;
  /** The exporting store (`CT_HOME`) and host, as the export file says. */
  home: string;
  host: string;
  user: string | null;
  exportedAt: string;
  importedAt: string;
  /** The file it was imported from. */
  file: string;
  formatVersion: number;
}

const dirOf = (home: string) => path.join(home, 'imported');
const fileOf = (home: string, dispatchId: string) => path.join(dirOf(home), `${dispatchId}.json`);

export function recordImport(home: string, record: ImportRecord): void {
  fs.mkdirSync(dirOf(home), { recursive: true, mode: 0o700 });
  writeFileAtomicSync(fileOf(home, record.dispatchId), Buffer.from(JSON.stringify(record, null, 2)));
}

/** The import record of a dispatch, or null when it was dispatched here. */
export function importRecordOf(home: string, dispatchId: string): ImportRecord | null {
  try {
    return JSON.parse(fs.readFileSync(fileOf(home, dispatchId), 'utf8')) as ImportRecord;
  } catch {
    return null;
  }
}

/** Every import record of a store, by dispatch id (one directory read). */
export function importRecords(home: string): Map<string, ImportRecord> {
  const out = new Map<string, ImportRecord>();
  let names: string[];
  try {
    names = fs.readdirSync(dirOf(home));
  } catch {
    return out;
  }
  for (const n of names) {
    if (!n.endsWith('.json') || n.startsWith('.')) continue;
    const r = importRecordOf(home, n.slice(0, -5));
    if (r) out.set(r.dispatchId, r);
  }
  return out;
}

/** Refuse to change an imported dispatch (its jobs belong to whoever exported it). */
export function assertNotImported(home: string, dispatchId: string): void {
  const r = importRecordOf(home, dispatchId);
  if (!r) return;
  throw new InvalidInputError(
    ErrorCodes.READ_ONLY,
    `Dispatch ${dispatchId} was imported from ${r.user ? `${r.user}@` : ''}${r.host} (${r.file}): it is a read-only record here, ` +
      `its jobs are not yours to cancel. Ask its owner to cancel it from their store.`,
    { details: { dispatchId, importedFrom: r.host } },
  );
}
