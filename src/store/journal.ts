import * as fs from 'node:fs';
import * as path from 'node:path';
import { appendLineDurableSync } from './atomic-file';

/**
 * Records that must be on disk at once, without waiting for the next
 * snapshot of the database: cancel requests and job handles. Rewriting a
 * large SQLite file takes long (sql.js exports it whole), appending a line
 * takes a millisecond.
 *
 * Each process appends only to its own files, named `<pid>-<start>-<seq>.jsonl`,
 * so appends need no lock. A file is rotated when a snapshot begins and
 * deleted once that snapshot is on disk. Anyone opening the store replays
 * every file left behind (a crashed process's included).
 */
export type JournalEntry =
  | {
      t: 'cancel';
      dispatchId: string;
      nodeIds: number[];
      reason: string | null;
      source: string;
      at: string;
    }
  | { t: 'handle'; dispatchId: string; nodeIds: number[]; handle: string }
  | {
      /** Rows of a dispatch not yet in any snapshot; replay only creates missing rows, never overwrites. */
      t: 'rows';
      dispatchId: string;
      nodeIds: number[];
      dispatch: Record<string, unknown>;
      nodes: Array<Record<string, unknown>>;
    }
  | {
      /** A dispatch reached a terminal state (written by whoever ended it: its owner, or an orphan's canceller). */
      t: 'dispatch-final';
      dispatchId: string;
      nodeIds: number[];
      status: string;
      error: string | null;
      at: string;
    }
  | {
      t: 'final';
      dispatchId: string;
      nodeIds: number[];
      statuses: string[];
      outcomes: Array<string | null>;
      /** The executors' explanations (cancel details), when known. */
      details?: Array<string | null>;
      at: string;
    };

export class Journal {
  private seq = 0;
  private readonly prefix: string;

  constructor(private readonly dir: string) {
    fs.mkdirSync(dir, { recursive: true });
    this.prefix = `${process.pid}-${Date.now()}`;
  }

  private fileFor(seq: number): string {
    return path.join(this.dir, `${this.prefix}-${seq}.jsonl`);
  }

  /** Append entries (one write, one fsync), in order. */
  append(entries: JournalEntry | JournalEntry[]): void {
    const list = Array.isArray(entries) ? entries : [entries];
    if (list.length) appendLineDurableSync(this.fileFor(this.seq), list.map((e) => JSON.stringify(e)).join('\n'));
  }

  /** Start a new file; returns the files that the coming snapshot will make redundant. */
  rotate(): string[] {
    const old = this.ownFiles();
    this.seq += 1;
    return old;
  }

  private ownFiles(): string[] {
    return listJournalFiles(this.dir).filter((f) => path.basename(f).startsWith(this.prefix + '-'));
  }

  isOwn(file: string): boolean {
    return path.basename(file).startsWith(this.prefix + '-');
  }
}

export function listJournalFiles(dir: string): string[] {
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return [];
  }
  return names
    .filter((n) => n.endsWith('.jsonl'))
    .sort()
    .map((n) => path.join(dir, n));
}

/** The pid a journal file belongs to. */
export function journalOwnerPid(file: string): number {
  return Number(path.basename(file).split('-')[0]);
}

/** Entries of one file; a torn last line (crash mid-append) is ignored. */
export function readJournal(file: string): JournalEntry[] {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    return [];
  }
  const out: JournalEntry[] = [];
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    try {
      out.push(JSON.parse(line));
    } catch {
      // torn write: skip
    }
  }
  return out;
}

export function processAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}
