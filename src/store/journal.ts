import * as fs from 'node:fs';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import { currentProcessIdentity, type ProcessIdentity } from '../process/process-identity';
import { syncDirectory } from './atomic-file';
import type { NodeFact } from './journal-apply';
import type { DispatchRow, JsonRow, NodeRow } from './row-codec';

/**
 * The write-ahead journal: every fact that must survive a crash is appended
 * here, fsynced, before anyone is told about it (see docs/store.md).
 *
 * Each process appends only to its own files, `<pid>-<ms>-<random>-<seq>.jsonl`,
 * so appends need no lock; the first line of each file names its writer
 * (host, pid, start time). A snapshot of the database compacts the journals:
 * a file is deleted only once two successive durable snapshots contain all of it.
 */
export type JournalEntry =
  | { t: 'writer'; host: string; pid: number; startTime: string | null }
  | {
      /** A dispatch row (at creation). Inserted if missing; a row already there keeps its state. */
      t: 'dispatch';
      row: DispatchRowJson;
    }
  | {
      /** The nodes of a new dispatch, column-wise (a 100,000-node graph stays a few MB). */
      t: 'graph';
      dispatchId: string;
      names: string[];
      kinds: string[];
      /** Index into `configs` / `labels` per node; -1 for none. */
      config: number[];
      configs: Array<string | null>;
      labels: string[];
      label: number[];
      dependsOn: number[][];
      /** Per node (absent in older journals): the reuse key, and the dispatch whose result it reused. */
      reuseKeys?: Array<string | null>;
      reusedFrom?: Array<string | null>;
    }
  | ({
      /** What changed about one node (fields left out are unchanged). Terminal states never change once stored. */
      t: 'node';
      dispatchId: string;
      nodeId: number;
    } & NodeFacts)
  | {
      /** A dispatch reached a terminal state (written by whoever ended it: its owner, or an orphan's canceller). */
      t: 'dispatch-final';
      dispatchId: string;
      nodeIds: number[];
      status: string;
      error: string | null;
      at: string;
      /** Base64 of the encoded result, or the name of its file. */
      result?: string | null;
      resultRef?: string | null;
      cost?: number | null;
      limitWarning?: string | null;
    }
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
      /** Rows of a dispatch (journals written before 'dispatch'/'graph' existed); replay only creates missing rows. */
      t: 'rows';
      dispatchId: string;
      nodeIds: number[];
      dispatch: Record<string, unknown>;
      nodes: Array<Record<string, unknown>>;
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

/** A dispatch row in JSON form (the result and inputs as base64). */
export type DispatchRowJson = JsonRow<DispatchRow>;

/** The facts a node entry may carry (see NODE_MERGE_RULES): row fields in JSON form. */
export type NodeFacts = { [K in NodeFact]?: JsonRow<NodeRow>[K] };

/** Buffered entries beyond this many characters are written at once (fsynced with the turn's commit). */
const WRITE_AHEAD_CHARS = 256 * 1024;

interface Waiter {
  seq: number;
  resolve: () => void;
  reject: (e: Error) => void;
}

/**
 * This process's journal: appends are buffered and written by one group
 * commit (one write, one fdatasync) per turn of the event loop, or as soon as
 * the commit in flight ends; `whenDurable(seq)` resolves when an entry is on
 * disk. Throughput holds because a thousand completions cost one fsync.
 */
export class JournalWriter {
  private seq = 0;
  private fileSeq = 0;
  private readonly prefix: string;
  private fd: number | undefined;
  private file: string | undefined;
  private buffer: string[] = [];
  private bufferedChars = 0;
  private appended = 0;
  /** Entries up to this sequence number are written to the current file (not necessarily synced). */
  private written = 0;
  private durable = 0;
  private syncing = false;
  private scheduled = false;
  private waiters: Waiter[] = [];
  private failure: Error | undefined;
  /** fdatasync calls made (for the benchmark of durability's cost). */
  fsyncs = 0;
  readonly writer: ProcessIdentity = currentProcessIdentity();

  constructor(private readonly dir: string) {
    fs.mkdirSync(dir, { recursive: true });
    this.prefix = `${process.pid}-${Date.now()}-${randomBytes(3).toString('hex')}`;
  }

  /** Queue entries; returns the sequence number to wait on with `whenDurable`. */
  append(entries: JournalEntry | JournalEntry[]): number {
    const list = Array.isArray(entries) ? entries : [entries];
    if (!list.length) return this.appended;
    let text = '';
    for (const e of list) text += JSON.stringify(e) + '\n';
    this.buffer.push(text);
    this.bufferedChars += text.length;
    this.seq = ++this.appended;
    // A burst (100,000 completions in a few turns) is written as it comes, not held as strings until the turn ends:
    // the page cache holds it, and the commit's one fsync still covers it all.
    if (this.bufferedChars > WRITE_AHEAD_CHARS) this.writeBuffered();
    this.schedule();
    return this.seq;
  }

  /** Write the buffered entries to the current file (no fsync): they are durable once a commit's sync covers them. */
  private writeBuffered(): boolean {
    if (!this.buffer.length) return true;
    const text = this.buffer.length === 1 ? this.buffer[0] : this.buffer.join('');
    this.buffer = [];
    this.bufferedChars = 0;
    try {
      const fd = this.openCurrent();
      const bytes = Buffer.from(text);
      let off = 0;
      while (off < bytes.length) off += fs.writeSync(fd, bytes, off, bytes.length - off);
    } catch (e) {
      this.fail(e as Error);
      return false;
    }
    this.written = this.appended;
    return true;
  }

  /** Sequence number of the newest entry appended so far. */
  get lastSeq(): number {
    return this.appended;
  }

  /** Sequence number up to which every entry is on disk. */
  get durableSeq(): number {
    return this.durable;
  }

  isDurable(seq: number): boolean {
    return seq <= this.durable;
  }

  /** Resolves once every entry up to `seq` is on disk; rejects if the disk refused it. */
  whenDurable(seq: number = this.appended): Promise<void> {
    if (seq <= this.durable) return Promise.resolve();
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => this.waiters.push({ seq, resolve, reject }));
  }

  private schedule(): void {
    if (this.scheduled || this.syncing) return;
    this.scheduled = true;
    // One commit per turn: everything appended in this turn shares one fsync.
    setImmediate(() => this.commit());
  }

  private commit(): void {
    this.scheduled = false;
    if (this.syncing || !this.writeBuffered() || this.written <= this.durable) return;
    const covered = this.written;
    const fd = this.fd!;
    this.syncing = true;
    this.fsyncs++;
    fs.fdatasync(fd, (err) => {
      this.syncing = false;
      // Sealed (rotate) or closed while this sync was in flight: its descriptor is ours to close now.
      if (fd !== this.fd) fs.closeSync(fd);
      if (err) {
        this.fail(err);
        return;
      }
      this.durable = Math.max(this.durable, covered);
      this.release();
      if (this.buffer.length || this.written > this.durable) this.commit();
    });
  }

  private release(): void {
    if (!this.waiters.length) return;
    const ready = this.waiters.filter((w) => w.seq <= this.durable);
    this.waiters = this.waiters.filter((w) => w.seq > this.durable);
    for (const w of ready) w.resolve();
  }

  private fail(e: Error): void {
    this.failure = e;
    for (const w of this.waiters.splice(0)) w.reject(e);
  }

  private openCurrent(): number {
    if (this.fd !== undefined) return this.fd;
    this.file = path.join(this.dir, `${this.prefix}-${this.fileSeq}.jsonl`);
    this.fd = fs.openSync(this.file, 'a', 0o600);
    const header = JSON.stringify({ t: 'writer', ...this.writer } satisfies JournalEntry) + '\n';
    fs.writeSync(this.fd, header);
    // The new name must survive a crash too.
    syncDirectory(this.dir);
    return this.fd;
  }

  /** Write what is buffered and wait until all of it is on disk. */
  async sync(): Promise<void> {
    if ((this.buffer.length || this.written > this.durable) && !this.syncing && !this.scheduled) this.commit();
    await this.whenDurable(this.appended);
  }

  /**
   * Seal the current file (after `sync`): later entries go to a new file.
   * Returns the sealed files of this process (complete, never appended again).
   */
  rotate(): string[] {
    if (this.fd !== undefined && this.written > this.durable) {
      // Entries written ahead since the last sync (appended after it resolved) must not stay unsynced in a sealed file.
      fs.fdatasyncSync(this.fd);
      this.fsyncs++;
      this.durable = this.written;
      this.release();
    }
    if (this.fd !== undefined) {
      // A sync in flight closes the descriptor when it ends.
      if (!this.syncing) fs.closeSync(this.fd);
      this.fd = undefined;
      this.fileSeq += 1;
    }
    return listJournalFiles(this.dir).filter((f) => this.isOwn(f) && f !== this.file);
  }

  isOwn(file: string): boolean {
    return path.basename(file).startsWith(this.prefix + '-');
  }

  close(): void {
    if (this.fd !== undefined && !this.syncing) fs.closeSync(this.fd);
    this.fd = undefined;
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

/** The writer of a journal file written before files had a header: only its pid is known (from the name). */
export function legacyWriterOf(file: string): ProcessIdentity {
  return { host: '', pid: Number(path.basename(file).split('-')[0]), startTime: null };
}

export interface JournalTail {
  entries: JournalEntry[];
  /** Bytes consumed from `offset`: up to the last complete line (a torn last line waits, or is dropped with its dead writer). */
  consumed: number;
  /** The file's writer, when the tail included its header. */
  writer?: ProcessIdentity;
  /** False when the file is gone (compacted by a newer snapshot). */
  exists: boolean;
  size: number;
}

/** New complete lines of a journal file from `offset` on. Unparseable lines (torn writes) are skipped. */
export function readJournalTail(file: string, offset: number): JournalTail {
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch {
    return { entries: [], consumed: 0, exists: false, size: 0 };
  }
  try {
    const size = fs.fstatSync(fd).size;
    if (size <= offset) return { entries: [], consumed: 0, exists: true, size };
    const buf = Buffer.allocUnsafe(size - offset);
    let got = 0;
    while (got < buf.length) {
      const n = fs.readSync(fd, buf, got, buf.length - got, offset + got);
      if (n === 0) break;
      got += n;
    }
    const end = buf.lastIndexOf(10, got - 1);
    if (end < 0) return { entries: [], consumed: 0, exists: true, size };
    const entries: JournalEntry[] = [];
    let writer: ProcessIdentity | undefined;
    for (const line of buf.toString('utf8', 0, end).split('\n')) {
      if (!line) continue;
      let e: JournalEntry;
      try {
        e = JSON.parse(line);
      } catch {
        continue; // a torn write followed by later appends
      }
      if (e && e.t === 'writer') writer = { host: e.host, pid: e.pid, startTime: e.startTime };
      else if (e && typeof e === 'object') entries.push(e);
    }
    return { entries, consumed: end + 1, writer, exists: true, size };
  } finally {
    fs.closeSync(fd);
  }
}

/** The writer named by a journal file's first line (or, for files written before headers, by its name). */
export function readJournalWriter(file: string): ProcessIdentity {
  let fd: number | undefined;
  try {
    fd = fs.openSync(file, 'r');
    const buf = Buffer.alloc(4096);
    const n = fs.readSync(fd, buf, 0, buf.length, 0);
    const first = buf.toString('utf8', 0, n).split('\n')[0];
    const e = JSON.parse(first) as JournalEntry;
    if (e.t === 'writer') return { host: e.host, pid: e.pid, startTime: e.startTime };
  } catch {
    // unreadable or no header
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
  return legacyWriterOf(file);
}
