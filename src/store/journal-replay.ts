import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Database } from 'sql.js';
import { processLiveness, type ProcessIdentity } from '../process/process-identity';
import { listJournalFiles, readJournalTail, readJournalWriter, type JournalWriter } from './journal';
import { JournalApplier } from './journal-apply';
import { inTransaction } from './sqlite-file';

/**
 * Journal replay: brings a database up to date with every process's
 * journal files, remembering how many bytes of each file it holds (so each
 * read applies only what is new), and says which files a snapshot of it
 * holds completely (for compaction).
 */
export class JournalReplay {
  /** Bytes of each journal file (by name) that the database holds. */
  private offsets = new Map<string, number>();
  private readonly writers = new Map<string, ProcessIdentity>();

  constructor(
    private readonly dir: string,
    private readonly journal: JournalWriter,
  ) {}

  /** Start from a freshly loaded database that holds these bytes of each file. */
  reset(offsets: Map<string, number>): void {
    this.offsets = offsets;
  }

  /**
   * Apply the new complete lines of every journal file; a torn last line
   * waits (it was never reported). This process's own files are not read
   * back (OwnFacts brings in what they hold), unless `readOwn`: a store
   * rebuilt from an older file needs all of them.
   */
  applyNew(db: Database, readOwn = false): void {
    const files = listJournalFiles(this.dir);
    const present = new Set<string>();
    let applier: JournalApplier | undefined;
    try {
      for (const file of files) {
        const name = path.basename(file);
        present.add(name);
        if (!readOwn && this.journal.isOwn(file)) {
          this.offsets.set(name, sizeOf(file));
          continue;
        }
        const offset = this.offsets.get(name) ?? 0;
        const tail = readJournalTail(file, offset);
        if (!tail.exists) continue;
        if (tail.writer) this.writers.set(name, tail.writer);
        if (!tail.consumed) continue;
        if (tail.entries.length) {
          const a = (applier ??= new JournalApplier(db));
          inTransaction(db, () => {
            for (const e of tail.entries) a.apply(e);
          });
        }
        this.offsets.set(name, offset + tail.consumed);
      }
    } finally {
      applier?.free();
    }
    for (const name of [...this.offsets.keys()]) if (!present.has(name)) this.offsets.delete(name);
  }

  /**
   * Record, inside the database (before it is saved as a snapshot), how much
   * of each journal it holds. This process's current file is recorded as not
   * read at all: the rows of its own dispatches cover its entries only up to
   * when they were taken, so other readers replay that file from its start.
   */
  recordIn(db: Database, sealed: readonly string[]): void {
    const sealedNames = new Set(sealed.map((f) => path.basename(f)));
    db.exec('DELETE FROM journal_applied');
    const ins = db.prepare('INSERT INTO journal_applied (file, offset) VALUES (?, ?)');
    try {
      for (const [name, offset] of this.offsets) {
        if (this.journal.isOwn(name) && !sealedNames.has(name)) continue;
        ins.run([name, offset]);
      }
    } finally {
      ins.free();
    }
  }

  /**
   * Files of other processes that the database holds completely and whose
   * writer is verifiably gone (never one that still runs, or runs on another
   * host: it may append again).
   */
  completeFilesOfGoneWriters(): string[] {
    const out: string[] = [];
    for (const [name, offset] of this.offsets) {
      if (this.journal.isOwn(name)) continue;
      const file = path.join(this.dir, name);
      let writer = this.writers.get(name);
      if (!writer) this.writers.set(name, (writer = readJournalWriter(file)));
      if (processLiveness(writer) !== 'gone') continue;
      // Nothing complete left unread (a torn last line of a dead writer was never reported).
      if (readJournalTail(file, offset).consumed === 0) out.push(name);
    }
    return out;
  }
}

/** Our own file's size: every line in it is complete (each commit writes whole lines before anyone reads). */
function sizeOf(file: string): number {
  try {
    return fs.statSync(file).size;
  } catch {
    return 0;
  }
}
