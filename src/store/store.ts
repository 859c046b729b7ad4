import * as fs from 'node:fs';
import * as os from 'node:os';
import { ErrorCodes, StoreError } from '../errors';
import { ctHome, storePaths, type StorePaths } from './ct-home';
import { JournalWriter, type JournalEntry } from './journal';
import type { RowSource } from './journal-entries';
import { JournalReplay } from './journal-replay';
import { OwnFacts } from './own-facts';
import { DISPATCHES, decodeRow, NODES, selectSql, type DispatchRow, type NodeRow } from './row-codec';
import { SnapshotWriter } from './snapshot-writer';
import { loadSqlJs, SqliteFile, type StoreRecovery } from './sqlite-file';
import { ValueFiles } from './value-files';

export type { RowSource } from './journal-entries';
export type { StoreRecovery } from './sqlite-file';

const SELECT_DISPATCH = `${selectSql(DISPATCHES)} WHERE dispatch_id = ?`;
const SELECT_NODES = `${selectSql(NODES)} WHERE dispatch_id = ? ORDER BY node_id`;
// A listing needs no results or inputs (they can be large).
const LIST_DISPATCHES = `${selectSql(DISPATCHES, ['result', 'result_ref', 'inputs', 'workflow', 'workflow_ref'])} ORDER BY started_at`;

/**
 * The persistent store: a SQLite database (sql.js) in `CT_HOME`, shared by
 * every process of a user. The protocol is written down in docs/store.md:
 *
 * - every fact that is reported (task and dispatch terminal states, outputs,
 *   cancel requests, remote job handles, orphan cancels) is first appended to
 *   the writer's journal and fsynced (group commit);
 * - every read first applies what other processes journaled since (and the
 *   newest snapshot, when one was written), so readers see each other's facts
 *   at once, without waiting for a snapshot;
 * - a snapshot (under a lock, on top of the newest file, in time slices) writes
 *   this process's rows and everything journaled, and compacts journals: a
 *   journal file is deleted only when two successive durable snapshots hold
 *   all of it (the newest and `store.sqlite.prev`).
 *
 * The parts: `SqliteFile` (the file: load, save, recover), `JournalWriter`
 * (this process's journal, group commit), `JournalReplay` (applying every
 * journal), `SnapshotWriter` (snapshots and compaction), `ValueFiles`
 * (large outputs), and the row codec (`row-codec.ts`).
 */
export class Store {
  readonly journal: JournalWriter;
  /** Set when the file on disk was unreadable and the store was rebuilt (see StoreRecovery). */
  recovery: StoreRecovery | undefined;
  private readonly replay: JournalReplay;
  private readonly snapshots: SnapshotWriter;
  private readonly values: ValueFiles;
  /** What this process made durable itself (it never reads its own journal files back). */
  private readonly own: OwnFacts;

  private constructor(
    private readonly file: SqliteFile,
    readonly paths: StorePaths,
  ) {
    this.journal = new JournalWriter(paths.journalDir);
    this.values = new ValueFiles(paths.outputsDir);
    this.replay = new JournalReplay(paths.journalDir, this.journal);
    this.own = new OwnFacts(this.journal, this.values);
    this.snapshots = new SnapshotWriter(paths, file, this.journal, this.replay, this.values, () => this.refresh(false));
    this.snapshots.onSaved = (seq) => this.own.snapshotted(seq);
  }

  /**
   * Open (or create) the store in `home`. A file that is not a readable
   * SQLite database is kept aside (`store.sqlite.corrupt-<time>`), never
   * overwritten, and the store is rebuilt from the previous snapshot and the
   * journals (`store.recovery` says so, and a warning is emitted).
   */
  static async open(home: string = ctHome()): Promise<Store> {
    const paths = storePaths(home);
    try {
      fs.mkdirSync(home, { recursive: true, mode: 0o700 });
      fs.mkdirSync(paths.outputsDir, { recursive: true });
    } catch (e) {
      throw new StoreError(ErrorCodes.STORE_IO, `Cannot create the covalent-ts home ${home}: ${(e as Error).message}. Set CT_HOME to a writable directory.`, { cause: e });
    }
    const store = new Store(new SqliteFile(await loadSqlJs(), paths), paths);
    store.load(true);
    store.replay.applyNew(store.file.db);
    if (store.recovery) {
      process.emitWarning(
        `covalent-ts: the store ${paths.database} was unreadable (${store.recovery.reason}); it was kept as ${store.recovery.keptAs} ` +
          `and the store was rebuilt from the ${store.recovery.rebuiltFrom}.`,
      );
    }
    return store;
  }

  /**
   * Load the newest snapshot. A store rebuilt from an older file (the newest
   * was unreadable) replays every journal, our own files too, gets every row
   * of our dispatches again, and is written back as soon as possible, so the
   * next reader does not rebuild it again.
   */
  private load(checkIntegrity: boolean): void {
    const loaded = this.file.load(checkIntegrity);
    this.replay.reset(loaded.offsets);
    this.own.reloaded();
    if (loaded.recovery) {
      this.recovery = loaded.recovery;
      this.replay.applyNew(this.file.db, true);
      for (const [id, source] of this.own.sources()) this.snapshots.touchAll(id, source);
      this.snapshots.wanted = true;
      this.snapshots.schedule();
    }
  }

  /**
   * Bring the database up to date with the disk: the newest snapshot (when
   * another process wrote one) and every journal. A journal file is deleted
   * only after a newer snapshot holds it, so when one vanished while we read,
   * the snapshot changed too and we start over from it.
   */
  private refresh(ownRows = true): void {
    for (let attempt = 0; attempt < 5; attempt++) {
      // Never swap the database under a snapshot being written (this process holds the lock then: nobody else writes one).
      if (!this.snapshots.writing && this.file.changedOnDisk()) this.load(false);
      this.replay.applyNew(this.file.db);
      this.own.apply(this.file.db, ownRows);
      if (this.snapshots.writing || !this.file.changedOnDisk()) return;
    }
  }

  // ---- writing ------------------------------------------------------------

  /** Called after each snapshot reaches the disk. */
  get onFlushed(): (() => void) | undefined {
    return this.snapshots.onFlushed;
  }
  set onFlushed(f: (() => void) | undefined) {
    this.snapshots.onFlushed = f;
  }

  /** performance.now() when the rows of the newest snapshot on disk were taken. */
  get lastSnapshotTakenAt(): number {
    return this.snapshots.lastSnapshotTakenAt;
  }

  /** A dispatch this process runs: its rows are written from `source` with each snapshot. */
  register(dispatchId: string, source: RowSource): void {
    this.own.register(dispatchId, source);
    this.touchAll(dispatchId, source);
  }

  /** Mark a dispatch row (and optionally nodes) as changed; written with the next batch. */
  touch(dispatchId: string, source: RowSource, nodeId?: number): void {
    this.snapshots.touch(dispatchId, source, nodeId);
  }

  /** Mark every node of a dispatch as changed (a new dispatch). */
  touchAll(dispatchId: string, source: RowSource): void {
    this.snapshots.touchAll(dispatchId, source);
  }

  /** Queue journal entries (group commit); returns the sequence number to pass to `whenDurable`. */
  append(entries: JournalEntry | JournalEntry[]): number {
    const list = Array.isArray(entries) ? entries : [entries];
    const seq = this.journal.append(list);
    this.own.appended(list, seq, (id, source, nodeId) => this.snapshots.touch(id, source, nodeId));
    return seq;
  }

  /** Resolves once every entry appended up to `seq` (default: all so far) is on disk. */
  whenDurable(seq?: number): Promise<void> {
    return this.journal.whenDurable(seq);
  }

  /** Append and wait until the entries are on disk. */
  async commit(entries: JournalEntry | JournalEntry[]): Promise<void> {
    await this.journal.whenDurable(this.append(entries));
  }

  /**
   * Where an encoded value is kept: small ones in the row, large ones in a
   * file (written durably now) whose name the row keeps.
   */
  placeValue(dispatchId: string, key: string, bytes: Uint8Array | null): { inline: Uint8Array | null; ref: string | null } {
    return this.values.place(dispatchId, key, bytes);
  }

  /** Write a snapshot now (journal entries are already durable; this compacts them). */
  flush(): Promise<void> {
    return this.snapshots.flush();
  }

  // ---- reading ------------------------------------------------------------

  /** A dispatch as stored (another process's, or one that finished before this process started). */
  readDispatch(dispatchId: string): { dispatch: DispatchRow; nodes: NodeRow[] } | undefined {
    this.refresh();
    const db = this.file.db;
    const stmt = db.prepare(SELECT_DISPATCH);
    let dispatch: DispatchRow | undefined;
    try {
      stmt.bind([dispatchId]);
      if (stmt.step()) dispatch = this.withValue(this.withValue(decodeRow(DISPATCHES, stmt.getAsObject()), 'result', 'resultRef'), 'workflow', 'workflowRef');
    } finally {
      stmt.free();
    }
    if (!dispatch) return undefined;
    const nodes: NodeRow[] = [];
    const ns = db.prepare(SELECT_NODES);
    try {
      ns.bind([dispatchId]);
      while (ns.step()) nodes.push(this.withValue(decodeRow(NODES, ns.getAsObject()), 'output', 'outputRef'));
    } finally {
      ns.free();
    }
    return { dispatch, nodes };
  }

  /** A row's value read from its file when it is kept in one. */
  private withValue<R extends object, K extends keyof R, F extends keyof R>(row: R, value: K, ref: F): R {
    if (row[ref]) row[value] = this.values.read(row[value] as Uint8Array | null, row[ref] as string) as R[K];
    return row;
  }

  listDispatchRows(): DispatchRow[] {
    this.refresh();
    const out: DispatchRow[] = [];
    const stmt = this.file.db.prepare(LIST_DISPATCHES);
    try {
      while (stmt.step()) out.push(decodeRow(DISPATCHES, stmt.getAsObject()));
    } finally {
      stmt.free();
    }
    return out;
  }

  /** How many tasks of each dispatch are in each status: `counts.get(id)?.RUNNING`. One query for every dispatch. */
  nodeStatusCounts(): Map<string, Record<string, number>> {
    this.refresh();
    const out = new Map<string, Record<string, number>>();
    const stmt = this.file.db.prepare('SELECT dispatch_id, status, count(*) AS n FROM nodes GROUP BY dispatch_id, status');
    try {
      while (stmt.step()) {
        const [id, status, n] = stmt.get() as [string, string, number];
        let c = out.get(id);
        if (!c) out.set(id, (c = {}));
        c[status] = n;
      }
    } finally {
      stmt.free();
    }
    return out;
  }

  /** Write what is journaled, take a last snapshot, and stop the timer. */
  async close(): Promise<void> {
    await this.journal.sync();
    await this.flush();
    this.snapshots.close();
    this.journal.close();
  }

  get hostname(): string {
    return os.hostname();
  }
}
