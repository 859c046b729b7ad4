import type { Database } from 'sql.js';
import { isTerminal } from '../protocol/status';
import type { JournalEntry, JournalWriter } from './journal';
import { JournalApplier } from './journal-apply';
import { entryDispatchId, type RowSource } from './journal-entries';
import { RowWriter } from './row-writer';
import { inTransaction } from './sqlite-file';
import type { ValueFiles } from './value-files';

/** A dispatch this process runs: which of its rows changed since its last snapshot, and at which journal sequence number. */
interface LiveDispatch {
  source: RowSource;
  /** Sequence number of the latest journaled change of the dispatch row. */
  dispatchAt: number | undefined;
  dispatchApplied: boolean;
  /**
   * Per node: the sequence number of its latest journaled change since our
   * last snapshot (0: none), and whether the database lacks it. Typed
   * arrays: a 100,000-node dispatch costs 900 KB, not a map per node.
   */
  nodeAt: Float64Array;
  unapplied: Uint8Array;
  /** How many nodes are marked (nodeAt > 0), and how many of those are unapplied: work is skipped when none. */
  marked: number;
  unappliedCount: number;
}

/**
 * What this process itself made durable, brought into its own database for
 * its own readers without reading its journal files back (it wrote them,
 * so it knows what they hold):
 *
 * - a dispatch it runs: its creation entries, then, for each node whose
 *   latest journaled change is on disk, the node's row from the live state.
 *   Rows are written only when a reader asks, so a 100,000-task dispatch costs
 *   nothing while nobody reads it;
 * - its other entries (an orphan's cancel, say), once on disk.
 *
 * What its own snapshot holds is forgotten (every later snapshot, whoever
 * writes it, is built on top of it). When the database is swapped for
 * another process's newer snapshot, the rest is applied again: the merge
 * rules make that idempotent.
 */
export class OwnFacts {
  private readonly live = new Map<string, LiveDispatch>();
  /** Entries applied as they are: creations of live dispatches, and entries about other dispatches. */
  private entries: Array<{ seq: number; entry: JournalEntry; applied: boolean; live: boolean }> = [];

  constructor(
    private readonly journal: JournalWriter,
    private readonly values: ValueFiles,
  ) {}

  register(dispatchId: string, source: RowSource): void {
    const n = source.nodeCount();
    this.live.set(dispatchId, {
      source, dispatchAt: undefined, dispatchApplied: true, nodeAt: new Float64Array(n), unapplied: new Uint8Array(n), marked: 0, unappliedCount: 0,
    });
  }

  /** Entries this process appended, with the sequence number of the append; calls `changed` for the rows they change. */
  appended(entries: readonly JournalEntry[], seq: number, changed: (dispatchId: string, source: RowSource, nodeId?: number) => void): void {
    for (const e of entries) {
      const id = entryDispatchId(e);
      if (id === undefined) continue;
      const d = this.live.get(id);
      if (!d || e.t === 'dispatch' || e.t === 'graph') {
        this.entries.push({ seq, entry: e, applied: false, live: d !== undefined });
        continue;
      }
      if (e.t === 'node') {
        this.markNode(d, e.nodeId, seq);
        changed(id, d.source, e.nodeId);
      } else if (e.t === 'dispatch-final') {
        d.dispatchAt = seq;
        d.dispatchApplied = false;
        changed(id, d.source);
      } else if (e.t !== 'writer') {
        for (const n of e.nodeIds) {
          this.markNode(d, n, seq);
          changed(id, d.source, n);
        }
      }
      // (`changed`: the next snapshot writes these rows, then forgets these marks.)
    }
  }

  private markNode(d: LiveDispatch, nodeId: number, seq: number): void {
    if (nodeId < 0 || nodeId >= d.nodeAt.length) return;
    if (d.nodeAt[nodeId] === 0) d.marked++;
    d.nodeAt[nodeId] = seq;
    if (!d.unapplied[nodeId]) {
      d.unapplied[nodeId] = 1;
      d.unappliedCount++;
    }
  }

  /** The database was replaced by a newer snapshot file: apply again everything its own snapshot did not hold. */
  reloaded(): void {
    for (const d of this.live.values()) {
      if (d.unappliedCount < d.marked) {
        for (let n = 0; n < d.nodeAt.length; n++) if (d.nodeAt[n] > 0) d.unapplied[n] = 1;
        d.unappliedCount = d.marked;
      }
      if (d.dispatchAt !== undefined) d.dispatchApplied = false;
    }
    for (const e of this.entries) e.applied = false;
  }

  /**
   * Bring into `db` every fact of ours that is on disk and not in it yet;
   * without `rows`, only the entries (a snapshot writes the rows itself).
   */
  apply(db: Database, rows = true): void {
    inTransaction(db, () => this.applyDurable(db, rows));
  }

  private applyDurable(db: Database, rows: boolean): void {
    const durable = this.journal.durableSeq;
    const entries = this.entries.filter((e) => !e.applied && e.seq <= durable);
    if (entries.length) {
      const applier = new JournalApplier(db);
      try {
        for (const e of entries) {
          // A snapshot writes every row of a new live dispatch from its state: its creation entries would be written twice.
          if (rows || !e.live) applier.apply(e.entry);
          e.applied = true;
        }
      } finally {
        applier.free();
      }
    }
    if (!rows) return;
    let writer: RowWriter | undefined;
    try {
      for (const [id, d] of this.live) {
        const withDispatch = !d.dispatchApplied && d.dispatchAt! <= durable;
        if (!withDispatch && !d.unappliedCount) continue;
        writer ??= new RowWriter(db, this.values);
        if (withDispatch) {
          writer.dispatch(id, d.source);
          d.dispatchApplied = true;
        }
        for (let n = 0; n < d.unapplied.length && d.unappliedCount; n++) {
          // A node whose newest fact is still in flight waits for it (durable before reported).
          if (!d.unapplied[n] || d.nodeAt[n] > durable) continue;
          writer.node(id, d.source, n);
          d.unapplied[n] = 0;
          d.unappliedCount--;
        }
      }
    } finally {
      writer?.free();
    }
  }

  /**
   * This process wrote a snapshot holding every row changed up to `seq` and
   * every entry applied: forget them. A live dispatch that ended and has
   * nothing left to apply is forgotten too (the file holds it).
   */
  snapshotted(seq: number): void {
    this.entries = this.entries.filter((e) => !e.applied || e.seq > seq);
    for (const [id, d] of this.live) {
      for (let n = 0; n < d.nodeAt.length && d.marked; n++) {
        const at = d.nodeAt[n];
        if (at === 0 || at > seq) continue;
        d.nodeAt[n] = 0;
        d.marked--;
        if (d.unapplied[n]) {
          d.unapplied[n] = 0;
          d.unappliedCount--;
        }
      }
      if (d.dispatchAt !== undefined && d.dispatchAt <= seq) {
        d.dispatchAt = undefined;
        d.dispatchApplied = true;
      }
      if (!d.marked && d.dispatchAt === undefined && isTerminal(d.source.dispatchRow().status)) this.live.delete(id);
    }
  }

  /** Every dispatch this process runs (a rebuilt store gets all their rows again). */
  sources(): Array<[string, RowSource]> {
    return [...this.live].map(([id, d]) => [id, d.source]);
  }
}
