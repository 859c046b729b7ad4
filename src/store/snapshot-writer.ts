import * as fs from 'node:fs';
import * as path from 'node:path';
import * as lockfile from 'proper-lockfile';
import { syncDirectory } from './atomic-file';
import type { StorePaths } from './ct-home';
import type { JournalWriter } from './journal';
import type { RowSource } from './journal-entries';
import type { JournalReplay } from './journal-replay';
import { RowWriter } from './row-writer';
import type { SqliteFile } from './sqlite-file';
import type { ValueFiles } from './value-files';

interface Pending {
  source: RowSource;
  allNodes: boolean;
  nodes: Set<number>;
}

/**
 * The snapshot writer: collects which rows of this process's dispatches
 * changed, and (debounced, under `store.lock`) writes them on top of the
 * newest snapshot and every journal, saves the file, and compacts journals:
 * a journal file is deleted only once two successive durable snapshots hold
 * all of it (`store.sqlite` and `store.sqlite.prev`).
 */
export class SnapshotWriter {
  private pending = new Map<string, Pending>();
  /** True while rows are written: the database must not be swapped for a newer file meanwhile. */
  writing = false;
  /** performance.now() when the rows of the newest snapshot on disk were taken. */
  lastSnapshotTakenAt = -Infinity;
  /** Called after each snapshot reaches the disk. */
  onFlushed: (() => void) | undefined;
  /** Called once a snapshot is saved, with the journal sequence number up to which its rows hold every change. */
  onSaved: ((seq: number) => void) | undefined;
  /** A snapshot is due even without changed rows (a rebuilt store must reach the disk). */
  wanted = false;
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> | undefined;
  private flushRequested = false;
  private lastFlushMs = 0;
  private closed = false;
  /** Journal files the previous snapshot held completely: deleted once the next one is durable too. */
  private compactable = new Set<string>();

  constructor(
    private readonly paths: StorePaths,
    private readonly file: SqliteFile,
    private readonly journal: JournalWriter,
    private readonly replay: JournalReplay,
    private readonly values: ValueFiles,
    /** Bring the database up to date with the disk (newest snapshot, every journal); our own rows come with the batch. */
    private readonly refresh: () => void,
  ) {}

  /** Mark a dispatch row (and optionally a node) as changed; written with the next snapshot. */
  touch(dispatchId: string, source: RowSource, nodeId?: number): void {
    let p = this.pending.get(dispatchId);
    if (!p) {
      p = { source, allNodes: false, nodes: new Set() };
      this.pending.set(dispatchId, p);
    }
    if (nodeId !== undefined) p.nodes.add(nodeId);
    this.schedule();
  }

  /** Mark every node of a dispatch as changed (a new dispatch). */
  touchAll(dispatchId: string, source: RowSource): void {
    this.pending.set(dispatchId, { source, allNodes: true, nodes: new Set() });
    this.schedule();
  }

  schedule(): void {
    if (this.timer || this.closed) return;
    // Batch: wait at least 250 ms, and twenty times the last snapshot, so
    // writing the store takes at most about a twentieth of the time. Facts
    // that are reported do not wait for this: they are in the journal already.
    const delay = Math.min(10_000, Math.max(250, this.lastFlushMs * 20));
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.flush().catch((e) => process.emitWarning(`covalent-ts: store flush failed: ${(e as Error).message}`));
    }, delay);
    this.timer.unref();
  }

  /** Write a snapshot now (journal entries are already durable; this compacts them). */
  async flush(): Promise<void> {
    if (this.flushing) {
      this.flushRequested = true;
      await this.flushing;
      if (this.flushRequested) return this.flush();
      return;
    }
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    this.flushRequested = false;
    this.flushing = this.write()
      .then(() => this.onFlushed?.())
      .finally(() => {
        this.flushing = undefined;
      });
    return this.flushing;
  }

  /** Stop scheduling snapshots. */
  close(): void {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private async write(): Promise<void> {
    if (this.pending.size === 0 && !this.wanted) return;
    const release = await lockfile.lock(this.paths.home, {
      lockfilePath: this.paths.lock,
      realpath: false,
      stale: 30_000,
      retries: { retries: 400, factor: 1.3, minTimeout: 2, maxTimeout: 100 },
    });
    const t0 = performance.now();
    try {
      this.wanted = false;
      // Our own journal first: every entry in the files sealed now is held by this snapshot.
      await this.journal.sync();
      const sealed = this.journal.rotate();
      this.refresh();
      const batch = this.pending;
      this.pending = new Map();
      const batchTakenAt = performance.now();
      const batchSeq = this.journal.lastSeq;
      await this.writeRows(batch);
      this.replay.recordIn(this.file.db, sealed);
      this.file.save();
      this.onSaved?.(batchSeq);
      this.compact(sealed);
      this.lastSnapshotTakenAt = batchTakenAt;
    } finally {
      this.lastFlushMs = performance.now() - t0;
      await release();
    }
  }

  /**
   * Delete the journal files that the previous snapshot already held
   * completely (so both `store.sqlite` and `store.sqlite.prev` hold them), and
   * note the ones this snapshot holds completely, for next time: our own
   * sealed files, and complete files of writers that are gone.
   */
  private compact(sealed: string[]): void {
    let removed = false;
    for (const name of this.compactable) {
      fs.rmSync(path.join(this.paths.journalDir, name), { force: true });
      removed = true;
    }
    if (removed) syncDirectory(this.paths.journalDir);
    this.compactable = new Set(sealed.map((f) => path.basename(f)));
    for (const name of this.replay.completeFilesOfGoneWriters()) this.compactable.add(name);
  }

  /**
   * Rows are written in slices of a few milliseconds, yielding in between,
   * so a dispatch of 100,000 tasks never freezes the kernel while it is
   * saved. The transaction spans the slices; the file is written once at the
   * end. A row already terminal in the file is never overwritten.
   */
  private async writeRows(batch: Map<string, Pending>): Promise<void> {
    const db = this.file.db;
    this.writing = true;
    let sliceStart = performance.now();
    const maybeYield = async () => {
      if (performance.now() - sliceStart > 8) {
        await new Promise((r) => setImmediate(r));
        sliceStart = performance.now();
      }
    };
    const rows = new RowWriter(db, this.values);
    db.exec('BEGIN');
    try {
      for (const [dispatchId, p] of batch) {
        rows.dispatch(dispatchId, p.source);
        const ids = p.allNodes ? range(p.source.nodeCount()) : p.nodes;
        for (const id of ids) {
          rows.node(dispatchId, p.source, id);
          if ((id & 255) === 0) await maybeYield();
        }
      }
      db.exec('COMMIT');
    } catch (e) {
      db.exec('ROLLBACK');
      // Journal entries applied meanwhile were rolled back too: read everything again next time.
      this.file.invalidate();
      throw e;
    } finally {
      rows.free();
      this.writing = false;
    }
  }
}

function* range(n: number): Iterable<number> {
  for (let i = 0; i < n; i++) yield i;
}
