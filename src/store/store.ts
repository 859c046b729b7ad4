import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import initSqlJs, { type Database, type SqlJsStatic } from 'sql.js';
import * as lockfile from 'proper-lockfile';
import { ErrorCodes, StoreError } from '../errors';
import { processLiveness, type ProcessIdentity } from '../process/process-identity';
import { syncDirectory, writeFileAtomicSync } from './atomic-file';
import { ctHome, storePaths, type StorePaths } from './ct-home';
import { JournalWriter, listJournalFiles, readJournalTail, readJournalWriter, type JournalEntry } from './journal';
import { JournalApplier } from './journal-apply';
import { entryDispatchId, type RowSource } from './journal-entries';
import { ADDED_COLUMNS, SCHEMA_SQL, SCHEMA_VERSION, type DispatchRow, type NodeRow } from './schema';

export type { RowSource } from './journal-entries';

/** Outputs larger than this go to a file beside the database, not into it. */
const LARGE_OUTPUT_BYTES = 256 * 1024;
const TERMINAL = `('COMPLETED', 'FAILED', 'CANCELLED')`;

let sqlJs: Promise<SqlJsStatic> | undefined;
function loadSqlJs(): Promise<SqlJsStatic> {
  const dir = path.dirname(require.resolve('sql.js'));
  sqlJs ??= initSqlJs({ locateFile: (file: string) => path.join(dir, file) });
  return sqlJs;
}

interface Pending {
  source: RowSource;
  allNodes: boolean;
  nodes: Set<number>;
}

/** What happened when the store file could not be read and was rebuilt. */
export interface StoreRecovery {
  /** Where the unreadable file was kept. */
  keptAs: string;
  /** What the store was rebuilt from: the previous snapshot plus every journal, or the journals alone. */
  rebuiltFrom: 'previous snapshot and journals' | 'journals';
  reason: string;
}

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
 */
export class Store {
  private pending = new Map<string, Pending>();
  /** Dispatches this process runs: their rows reach the file through its snapshots. */
  private readonly live = new Set<string>();
  private writing = false;
  /** Called after each snapshot reaches the disk. */
  onFlushed: (() => void) | undefined;
  /** performance.now() when the rows of the newest snapshot on disk were taken. */
  lastSnapshotTakenAt = -Infinity;
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> | undefined;
  private flushRequested = false;
  private diskStamp: string | null = null;
  /** Bytes of each journal file (by name) that this database holds. */
  private offsets = new Map<string, number>();
  private writers = new Map<string, ProcessIdentity>();
  /** Journal files the previous snapshot held completely: deleted once the next one is durable too. */
  private compactable = new Set<string>();
  private lastFlushMs = 0;
  private closed = false;
  private snapshotWanted = false;
  readonly journal: JournalWriter;
  /** Set when the file on disk was unreadable and the store was rebuilt (see StoreRecovery). */
  recovery: StoreRecovery | undefined;

  private constructor(
    private readonly SQL: SqlJsStatic,
    private db: Database,
    readonly paths: StorePaths,
  ) {
    this.journal = new JournalWriter(paths.journalDir);
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
    const SQL = await loadSqlJs();
    const store = new Store(SQL, new SQL.Database(), paths);
    store.reload(true);
    store.applyJournals();
    if (store.recovery) {
      process.emitWarning(
        `covalent-ts: the store ${paths.database} was unreadable (${store.recovery.reason}); it was kept as ${store.recovery.keptAs} ` +
          `and the store was rebuilt from the ${store.recovery.rebuiltFrom}.`,
      );
    }
    return store;
  }

  private stamp(): string | null {
    try {
      const st = fs.statSync(this.paths.database, { bigint: true });
      return `${st.ino}:${st.size}:${st.mtimeNs}`;
    } catch {
      return null;
    }
  }

  private get previousFile(): string {
    return `${this.paths.database}.prev`;
  }

  /** A database from a snapshot file; undefined when there is none; throws when it is unreadable. */
  private readSnapshot(file: string, checkIntegrity: boolean): Database | undefined {
    let bytes: Buffer;
    try {
      bytes = fs.readFileSync(file);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw new StoreError(ErrorCodes.STORE_IO, `Cannot read the store ${file}: ${(e as Error).message}.`, { cause: e });
    }
    const db = new this.SQL.Database(bytes);
    try {
      if (checkIntegrity) {
        const verdict = db.exec('PRAGMA quick_check')[0]?.values[0]?.[0];
        if (verdict !== 'ok') throw new Error(String(verdict));
      }
      db.exec('SELECT count(*) FROM sqlite_master');
    } catch (e) {
      db.close();
      throw e;
    }
    return db;
  }

  /**
   * Replace the database with the newest snapshot on disk, and note which
   * journal bytes it already holds. An unreadable file is kept aside and
   * the previous snapshot (or an empty database) is used, with every
   * journal applied from its start.
   */
  private reload(checkIntegrity: boolean): void {
    const stamp = this.stamp();
    let db: Database | undefined;
    let fromStart = false;
    try {
      db = this.readSnapshot(this.paths.database, checkIntegrity);
    } catch (e) {
      if (e instanceof StoreError) throw e;
      const keptAs = `${this.paths.database}.corrupt-${new Date().toISOString().replace(/[:.]/g, '-')}`;
      try {
        fs.renameSync(this.paths.database, keptAs);
      } catch {
        // Another process kept it aside first.
      }
      let prev: Database | undefined;
      try {
        prev = this.readSnapshot(this.previousFile, true);
      } catch {
        prev = undefined;
      }
      db = prev;
      fromStart = true;
      this.recovery = { keptAs, rebuiltFrom: prev ? 'previous snapshot and journals' : 'journals', reason: (e as Error).message };
      // Write the rebuilt store as soon as possible, so the next reader does not rebuild it again.
      this.snapshotWanted = true;
    }
    db ??= new this.SQL.Database();
    this.prepareSchema(db);
    this.offsets = new Map();
    if (!fromStart) {
      for (const [file, offset] of db.exec('SELECT file, offset FROM journal_applied')[0]?.values ?? []) {
        this.offsets.set(String(file), Number(offset));
      }
    }
    this.db.close();
    this.db = db;
    this.diskStamp = fromStart ? this.stamp() : stamp;
    if (fromStart) this.schedule();
  }

  private prepareSchema(db: Database): void {
    db.exec(SCHEMA_SQL);
    db.run('INSERT OR IGNORE INTO meta (key, value) VALUES (?, ?)', ['schema_version', String(SCHEMA_VERSION)]);
    const version = Number(db.exec("SELECT value FROM meta WHERE key = 'schema_version'")[0]?.values[0]?.[0]);
    if (version > SCHEMA_VERSION) {
      throw new StoreError(
        ErrorCodes.STORE_IO,
        `The store ${this.paths.database} was written by a newer covalent-ts (schema ${version}). Upgrade covalent-ts, or point CT_HOME elsewhere.`,
      );
    }
    if (version < SCHEMA_VERSION) migrate(db);
  }

  /**
   * Apply what every process journaled since this database last looked: the
   * new complete lines of each journal file. Entries this process wrote about
   * the dispatches it runs are skipped (its snapshots write those rows, and it
   * answers for them from memory).
   */
  private applyJournals(): void {
    const files = listJournalFiles(this.paths.journalDir);
    const present = new Set<string>();
    const applier = new JournalApplier(this.db);
    try {
      for (const file of files) {
        const name = path.basename(file);
        present.add(name);
        const offset = this.offsets.get(name) ?? 0;
        const tail = readJournalTail(file, offset);
        if (!tail.exists) continue;
        if (tail.writer) this.writers.set(name, tail.writer);
        if (!tail.consumed) continue;
        const own = this.journal.isOwn(file);
        for (const e of tail.entries) {
          if (own && this.live.has(entryDispatchId(e) ?? '')) continue;
          applier.apply(e);
        }
        this.offsets.set(name, offset + tail.consumed);
      }
    } finally {
      applier.free();
    }
    for (const name of [...this.offsets.keys()]) if (!present.has(name)) this.offsets.delete(name);
  }

  /**
   * Bring the database up to date with the disk: the newest snapshot (when
   * another process wrote one) and every journal. A journal file is deleted
   * only after a newer snapshot holds it, so when one vanished while we read,
   * the snapshot changed too and we start over from it.
   */
  private refresh(): void {
    for (let attempt = 0; attempt < 5; attempt++) {
      // Never swap the database under a snapshot being written (this process holds the lock then: nobody else writes one).
      if (!this.writing && this.stamp() !== this.diskStamp) this.reload(false);
      this.applyJournals();
      if (this.writing || this.stamp() === this.diskStamp) return;
    }
  }

  // ---- writing ------------------------------------------------------------

  /** A dispatch this process runs: its rows are written from `source` with each snapshot. */
  register(dispatchId: string, source: RowSource): void {
    this.live.add(dispatchId);
    this.touchAll(dispatchId, source);
  }

  /** Mark a dispatch row (and optionally nodes) as changed; written with the next batch. */
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

  private schedule(): void {
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

  /** Queue journal entries (group commit); returns the sequence number to pass to `whenDurable`. */
  append(entries: JournalEntry | JournalEntry[]): number {
    return this.journal.append(entries);
  }

  /** Resolves once every entry appended up to `seq` (default: all so far) is on disk. */
  whenDurable(seq?: number): Promise<void> {
    return this.journal.whenDurable(seq);
  }

  /** Append and wait until the entries are on disk. */
  async commit(entries: JournalEntry | JournalEntry[]): Promise<void> {
    await this.journal.whenDurable(this.journal.append(entries));
  }

  /**
   * Where an encoded value is kept: small ones in the row, large ones in a
   * file (written durably now) whose name the row keeps.
   */
  placeValue(dispatchId: string, key: string, bytes: Uint8Array | null): { inline: Uint8Array | null; ref: string | null } {
    const [inline, ref] = this.placeBlob(dispatchId, key, bytes);
    return { inline, ref };
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
    this.flushing = this.doFlush()
      .then(() => this.onFlushed?.())
      .finally(() => {
        this.flushing = undefined;
      });
    return this.flushing;
  }

  private async doFlush(): Promise<void> {
    if (this.pending.size === 0 && !this.snapshotWanted) return;
    const release = await lockfile.lock(this.paths.home, {
      lockfilePath: this.paths.lock,
      realpath: false,
      stale: 30_000,
      retries: { retries: 400, factor: 1.3, minTimeout: 2, maxTimeout: 100 },
    });
    const t0 = performance.now();
    try {
      this.snapshotWanted = false;
      // Our own journal first: every entry in the files sealed now is held by this snapshot.
      await this.journal.sync();
      const sealed = this.journal.rotate();
      this.refresh();
      const batch = this.pending;
      this.pending = new Map();
      const batchTakenAt = performance.now();
      await this.writeRows(batch);
      this.writeOffsets(sealed);
      const bytes = this.db.export();
      this.keepPrevious();
      writeFileAtomicSync(this.paths.database, bytes);
      this.diskStamp = this.stamp();
      this.compact(sealed);
      this.lastSnapshotTakenAt = batchTakenAt;
    } finally {
      this.lastFlushMs = performance.now() - t0;
      await release();
    }
  }

  /**
   * Record, inside the snapshot, how much of each journal it holds. Our own
   * current file is recorded as not read at all: entries about our own
   * dispatches were skipped here (the rows cover them only up to when they
   * were taken), so other readers replay that file from its start.
   */
  private writeOffsets(sealed: string[]): void {
    const sealedNames = new Set(sealed.map((f) => path.basename(f)));
    this.db.exec('DELETE FROM journal_applied');
    const ins = this.db.prepare('INSERT INTO journal_applied (file, offset) VALUES (?, ?)');
    try {
      for (const [name, offset] of this.offsets) {
        if (this.journal.isOwn(name) && !sealedNames.has(name)) continue;
        ins.run([name, offset]);
      }
    } finally {
      ins.free();
    }
  }

  /** Keep the snapshot being replaced as `store.sqlite.prev` (a hard link: no copy). */
  private keepPrevious(): void {
    const tmp = `${this.previousFile}.${process.pid}.tmp`;
    try {
      fs.rmSync(tmp, { force: true });
      fs.linkSync(this.paths.database, tmp);
      fs.renameSync(tmp, this.previousFile);
    } catch {
      // No file yet (first snapshot), or no hard links on this file system: nothing to keep.
      fs.rmSync(tmp, { force: true });
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
    for (const [name, offset] of this.offsets) {
      if (this.journal.isOwn(name) || this.compactable.has(name)) continue;
      const file = path.join(this.paths.journalDir, name);
      let writer = this.writers.get(name);
      if (!writer) this.writers.set(name, (writer = readJournalWriter(file)));
      // A writer on another host, or one that still runs, may append again.
      if (processLiveness(writer) !== 'gone') continue;
      // Nothing complete left unread (a torn last line of a dead writer was never reported).
      if (readJournalTail(file, offset).consumed === 0) this.compactable.add(name);
    }
  }

  /**
   * Rows are written in slices of a few milliseconds, yielding in between,
   * so a dispatch of 100,000 tasks never freezes the kernel while it is
   * saved. The transaction spans the slices; the file is written once at the
   * end. A row already terminal in the file is never overwritten.
   */
  private async writeRows(batch: Map<string, Pending>): Promise<void> {
    const db = this.db;
    this.writing = true;
    let sliceStart = performance.now();
    const maybeYield = async () => {
      if (performance.now() - sliceStart > 8) {
        await new Promise((r) => setImmediate(r));
        sliceStart = performance.now();
      }
    };
    const upDispatch = db.prepare(
      `INSERT INTO dispatches (dispatch_id, name, status, started_at, completed_at, parent_dispatch_id,
        parent_node_id, owner_pid, owner_host, owner_start_time, error, result, result_ref, node_count, updated_at,
        redispatch_of, inputs, cost, limit_warning)
       VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)
       ON CONFLICT (dispatch_id) DO UPDATE SET redispatch_of = excluded.redispatch_of, inputs = excluded.inputs,
        cost = excluded.cost, limit_warning = excluded.limit_warning, name = excluded.name, status = excluded.status, started_at = excluded.started_at,
        completed_at = excluded.completed_at, parent_dispatch_id = excluded.parent_dispatch_id, parent_node_id = excluded.parent_node_id,
        owner_pid = excluded.owner_pid, owner_host = excluded.owner_host, owner_start_time = excluded.owner_start_time,
        error = excluded.error, result = excluded.result, result_ref = excluded.result_ref, node_count = excluded.node_count,
        updated_at = excluded.updated_at
       WHERE dispatches.status NOT IN ${TERMINAL}`,
    );
    const upNode = db.prepare(
      `INSERT INTO nodes (dispatch_id, node_id, name, kind, status, executor_config, executor_label,
        started_at, completed_at, output, output_ref, error, cancel_requested, cancel_reason, cancel_source,
        cancel_outcome, cancel_detail, job_handle, sub_dispatch_id, depends_on, reuse_key, reused_from, cost, limit_warning)
       VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)
       ON CONFLICT (dispatch_id, node_id) DO UPDATE SET reuse_key = excluded.reuse_key, reused_from = excluded.reused_from,
        cost = excluded.cost, limit_warning = excluded.limit_warning, name = excluded.name, kind = excluded.kind, status = excluded.status,
        executor_config = excluded.executor_config, executor_label = excluded.executor_label, started_at = excluded.started_at,
        completed_at = excluded.completed_at, output = excluded.output, output_ref = excluded.output_ref, error = excluded.error,
        cancel_requested = excluded.cancel_requested, cancel_reason = excluded.cancel_reason, cancel_source = excluded.cancel_source,
        cancel_outcome = excluded.cancel_outcome, cancel_detail = excluded.cancel_detail, job_handle = excluded.job_handle,
        sub_dispatch_id = excluded.sub_dispatch_id, depends_on = excluded.depends_on
       WHERE nodes.status NOT IN ${TERMINAL}`,
    );
    const now = new Date().toISOString();
    db.exec('BEGIN');
    try {
      for (const [dispatchId, p] of batch) {
        const d = p.source.dispatchRow();
        const [result, resultRef] = d.resultRef ? [null, d.resultRef] : this.placeBlob(dispatchId, 'result', d.result);
        upDispatch.run([
          d.dispatchId, d.name, d.status, d.startedAt, d.completedAt, d.parentDispatchId, d.parentNodeId,
          d.ownerPid, d.ownerHost, d.ownerStartTime, d.error, result, resultRef, d.nodeCount, now,
          d.redispatchOf ?? null, d.inputs ?? null, d.cost ?? null, d.limitWarning ?? null,
        ]);
        const ids = p.allNodes ? range(p.source.nodeCount()) : p.nodes;
        for (const id of ids) {
          const n = p.source.nodeRow(id);
          const [output, outputRef] = n.outputRef ? [null, n.outputRef] : this.placeBlob(dispatchId, `node-${id}`, n.output);
          upNode.run([
            dispatchId, n.nodeId, n.name, n.kind, n.status, n.executorConfig, n.executorLabel, n.startedAt,
            n.completedAt, output, outputRef, n.error, n.cancelRequested ? 1 : 0, n.cancelReason, n.cancelSource,
            n.cancelOutcome, n.cancelDetail, n.jobHandle, n.subDispatchId, JSON.stringify(n.dependsOn),
            n.reuseKey ?? null, n.reusedFrom ?? null, n.cost ?? null, n.limitWarning ?? null,
          ]);
          if ((n.nodeId & 255) === 0) await maybeYield();
        }
      }
      db.exec('COMMIT');
    } catch (e) {
      db.exec('ROLLBACK');
      // Journal entries applied meanwhile were rolled back too: read everything again next time.
      this.diskStamp = null;
      throw e;
    } finally {
      upDispatch.free();
      upNode.free();
      this.writing = false;
    }
  }

  /** Small blobs stay in the row; large ones go to a file and the row keeps its name. */
  private placeBlob(dispatchId: string, key: string, bytes: Uint8Array | null): [Uint8Array | null, string | null] {
    if (!bytes || bytes.length <= LARGE_OUTPUT_BYTES) return [bytes, null];
    const rel = path.join(safeName(dispatchId), `${key}.bin`);
    const file = path.join(this.paths.outputsDir, rel);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    writeFileAtomicSync(file, bytes);
    return [null, rel];
  }

  private readBlob(inline: unknown, ref: unknown): Uint8Array | null {
    if (inline instanceof Uint8Array) return inline;
    if (typeof ref === 'string' && ref) {
      try {
        return fs.readFileSync(path.join(this.paths.outputsDir, ref));
      } catch {
        return null;
      }
    }
    return null;
  }

  // ---- reading ------------------------------------------------------------

  /** A dispatch as stored (another process's, or one that finished before this process started). */
  readDispatch(dispatchId: string): { dispatch: DispatchRow; nodes: NodeRow[] } | undefined {
    this.refresh();
    const stmt = this.db.prepare('SELECT * FROM dispatches WHERE dispatch_id = ?');
    let dispatch: DispatchRow | undefined;
    try {
      stmt.bind([dispatchId]);
      if (stmt.step()) dispatch = this.toDispatchRow(stmt.getAsObject());
    } finally {
      stmt.free();
    }
    if (!dispatch) return undefined;
    const nodes: NodeRow[] = [];
    const ns = this.db.prepare('SELECT * FROM nodes WHERE dispatch_id = ? ORDER BY node_id');
    try {
      ns.bind([dispatchId]);
      while (ns.step()) nodes.push(this.toNodeRow(ns.getAsObject()));
    } finally {
      ns.free();
    }
    return { dispatch, nodes };
  }

  listDispatchRows(): DispatchRow[] {
    this.refresh();
    const out: DispatchRow[] = [];
    const stmt = this.db.prepare(
      'SELECT dispatch_id, name, status, started_at, completed_at, parent_dispatch_id, parent_node_id, owner_pid, owner_host, owner_start_time, error, NULL AS result, NULL AS result_ref, node_count, redispatch_of, cost, limit_warning FROM dispatches ORDER BY started_at',
    );
    try {
      while (stmt.step()) out.push(this.toDispatchRow(stmt.getAsObject()));
    } finally {
      stmt.free();
    }
    return out;
  }

  /** How many tasks of each dispatch are in each status: `counts.get(id)?.RUNNING`. One query for every dispatch. */
  nodeStatusCounts(): Map<string, Record<string, number>> {
    this.refresh();
    const out = new Map<string, Record<string, number>>();
    const stmt = this.db.prepare('SELECT dispatch_id, status, count(*) AS n FROM nodes GROUP BY dispatch_id, status');
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

  private toDispatchRow(r: Record<string, any>): DispatchRow {
    return {
      dispatchId: r.dispatch_id,
      name: r.name,
      status: r.status,
      startedAt: r.started_at ?? null,
      completedAt: r.completed_at ?? null,
      parentDispatchId: r.parent_dispatch_id ?? null,
      parentNodeId: r.parent_node_id ?? null,
      ownerPid: r.owner_pid ?? null,
      ownerHost: r.owner_host ?? null,
      ownerStartTime: r.owner_start_time ?? null,
      error: r.error ?? null,
      result: this.readBlob(r.result, r.result_ref),
      nodeCount: r.node_count ?? 0,
      redispatchOf: r.redispatch_of ?? null,
      inputs: r.inputs ?? null,
      cost: r.cost ?? null,
      limitWarning: r.limit_warning ?? null,
    };
  }

  private toNodeRow(r: Record<string, any>): NodeRow {
    return {
      nodeId: r.node_id,
      name: r.name,
      kind: r.kind,
      status: r.status,
      executorConfig: r.executor_config ?? null,
      executorLabel: r.executor_label ?? null,
      startedAt: r.started_at ?? null,
      completedAt: r.completed_at ?? null,
      output: this.readBlob(r.output, r.output_ref),
      error: r.error ?? null,
      cancelRequested: r.cancel_requested === 1,
      cancelReason: r.cancel_reason ?? null,
      cancelSource: r.cancel_source ?? null,
      cancelOutcome: r.cancel_outcome ?? null,
      cancelDetail: r.cancel_detail ?? null,
      jobHandle: r.job_handle ?? null,
      subDispatchId: r.sub_dispatch_id ?? null,
      dependsOn: JSON.parse(r.depends_on ?? '[]'),
      reuseKey: r.reuse_key ?? null,
      reusedFrom: r.reused_from ?? null,
      cost: r.cost ?? null,
      limitWarning: r.limit_warning ?? null,
    };
  }

  /** Write what is journaled, take a last snapshot, and stop the timer. */
  async close(): Promise<void> {
    await this.journal.sync();
    await this.flush();
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.journal.close();
  }

  get hostname(): string {
    return os.hostname();
  }
}

/** Bring an older file's schema up to SCHEMA_VERSION (additive changes only). */
function migrate(db: Database): void {
  for (const [table, column, type] of ADDED_COLUMNS) {
    const cols = db.exec(`PRAGMA table_info(${table})`)[0]?.values.map((r) => r[1]) ?? [];
    if (!cols.includes(column)) db.exec(`ALTER TABLE ${table} ADD COLUMN ${column} ${type}`);
  }
  db.run("UPDATE meta SET value = ? WHERE key = 'schema_version'", [String(SCHEMA_VERSION)]);
}

function* range(n: number): Iterable<number> {
  for (let i = 0; i < n; i++) yield i;
}

function safeName(s: string): string {
  return s.replace(/[^A-Za-z0-9_-]/g, '_');
}
