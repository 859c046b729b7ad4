import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import initSqlJs, { type Database, type SqlJsStatic } from 'sql.js';
import * as lockfile from 'proper-lockfile';
import { ErrorCodes, StoreError } from '../errors';
import { writeFileAtomicSync } from './atomic-file';
import { ctHome, storePaths, type StorePaths } from './ct-home';
import { Journal, journalOwnerPid, listJournalFiles, processAlive, readJournal, type JournalEntry } from './journal';
import { ADDED_COLUMNS, SCHEMA_SQL, SCHEMA_VERSION, type DispatchRow, type NodeRow } from './schema';
import { isTerminal } from '../workflow/status';

/** Outputs larger than this go to a file beside the database, not into it. */
const LARGE_OUTPUT_BYTES = 256 * 1024;

let sqlJs: Promise<SqlJsStatic> | undefined;
function loadSqlJs(): Promise<SqlJsStatic> {
  const dir = path.dirname(require.resolve('sql.js'));
  sqlJs ??= initSqlJs({ locateFile: (file: string) => path.join(dir, file) });
  return sqlJs;
}

/** Where the dispatcher's live rows come from when the store writes them. */
export interface RowSource {
  dispatchRow(): DispatchRow;
  nodeRow(nodeId: number): NodeRow;
  nodeCount(): number;
}

interface Pending {
  source: RowSource;
  allNodes: boolean;
  nodes: Set<number>;
}

/**
 * The persistent store: a SQLite database (sql.js) in `CT_HOME`.
 *
 * The dispatcher's in-memory state is the truth for the dispatches this
 * process runs; the store writes their changed rows in batches (a debounced
 * snapshot), and urgent facts (cancel flags, job handles) at once through
 * the journal. Several processes may share one home: each snapshot is taken
 * under a lock, on top of the newest file on disk, so processes never
 * overwrite each other's dispatches.
 */
export class Store {
  private pending = new Map<string, Pending>();
  private written = new Set<string>();
  private writing = false;
  /** Called after each snapshot reaches the disk. */
  onFlushed: (() => void) | undefined;
  /** performance.now() when the rows of the newest snapshot on disk were taken. */
  lastSnapshotTakenAt = -Infinity;
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> | undefined;
  private flushRequested = false;
  private diskStamp: string | null = null;
  private lastFlushMs = 0;
  private closed = false;
  readonly journal: Journal;

  private constructor(
    private readonly SQL: SqlJsStatic,
    private db: Database,
    readonly paths: StorePaths,
  ) {
    this.journal = new Journal(paths.journalDir);
  }

  /** Open (or create) the store in `home`. A corrupt file is moved aside with a clear error. */
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
    store.db = store.loadFromDisk(true);
    return store;
  }

  private stamp(): string | null {
    try {
      const st = fs.statSync(this.paths.database);
      return `${st.ino}:${st.size}:${st.mtimeMs}`;
    } catch {
      return null;
    }
  }

  /** A fresh database from the file on disk (or empty), with every journal replayed. */
  private loadFromDisk(checkIntegrity: boolean): Database {
    const stamp = this.stamp();
    let db: Database;
    if (stamp === null) {
      db = new this.SQL.Database();
    } else {
      let bytes: Buffer;
      try {
        bytes = fs.readFileSync(this.paths.database);
      } catch (e) {
        throw new StoreError(ErrorCodes.STORE_IO, `Cannot read the store ${this.paths.database}: ${(e as Error).message}.`, { cause: e });
      }
      try {
        db = new this.SQL.Database(bytes);
        if (checkIntegrity) {
          const r = db.exec('PRAGMA quick_check');
          const verdict = r[0]?.values[0]?.[0];
          if (verdict !== 'ok') throw new Error(String(verdict));
        }
        db.exec('SELECT count(*) FROM sqlite_master');
      } catch (e) {
        const aside = `${this.paths.database}.corrupt-${new Date().toISOString().replace(/[:.]/g, '-')}`;
        fs.renameSync(this.paths.database, aside);
        throw new StoreError(
          ErrorCodes.STORE_CORRUPT,
          `The store ${this.paths.database} is not a readable SQLite database (${(e as Error).message}). ` +
            `It was kept aside as ${aside} and nothing was overwritten. Run again to start with an empty store, ` +
            `or put a backup back in its place.`,
          { cause: e, details: { file: this.paths.database, keptAs: aside } },
        );
      }
    }
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
    for (const file of listJournalFiles(this.paths.journalDir)) {
      for (const entry of readJournal(file)) applyJournalEntry(db, entry);
    }
    this.diskStamp = stamp;
    return db;
  }

  /** Pick up other processes' writes, when the file changed since we last saw it. */
  private refresh(): void {
    // Never swap the database under a snapshot being written.
    if (this.writing) return;
    if (this.stamp() !== this.diskStamp) {
      const fresh = this.loadFromDisk(false);
      this.db.close();
      this.db = fresh;
    }
  }

  // ---- writing ------------------------------------------------------------

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
    // writing the store takes at most about a twentieth of the time. Urgent
    // facts do not wait for this: they go through the journal.
    const delay = Math.min(10_000, Math.max(250, this.lastFlushMs * 20));
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.flush().catch((e) => process.emitWarning(`covalent-ts: store flush failed: ${(e as Error).message}`));
    }, delay);
    this.timer.unref();
  }

  /** Whether a dispatch's rows have reached the file (journal entries about it can then be applied). */
  hasWritten(dispatchId: string): boolean {
    return this.written.has(dispatchId);
  }

  /** Durable at once: returns when the entry is on disk. */
  appendDurable(entry: JournalEntry | JournalEntry[]): void {
    this.journal.append(entry);
  }

  /** Write every pending change to disk now. */
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
    if (this.pending.size === 0) return;
    const release = await lockfile.lock(this.paths.home, {
      lockfilePath: this.paths.lock,
      realpath: false,
      stale: 30_000,
      retries: { retries: 400, factor: 1.3, minTimeout: 2, maxTimeout: 100 },
    });
    const t0 = performance.now();
    try {
      this.refresh();
      const batch = this.pending;
      this.pending = new Map();
      const batchTakenAt = performance.now();
      const redundantJournals = this.journal.rotate();
      const deadJournals = listJournalFiles(this.paths.journalDir).filter(
        (f) => !this.journal.isOwn(f) && !processAlive(journalOwnerPid(f)),
      );
      await this.writeRows(batch);
      for (const id of batch.keys()) this.written.add(id);
      const bytes = this.db.export();
      writeFileAtomicSync(this.paths.database, bytes);
      this.diskStamp = this.stamp();
      for (const f of [...redundantJournals, ...deadJournals]) fs.rmSync(f, { force: true });
      this.lastSnapshotTakenAt = batchTakenAt;
    } finally {
      this.lastFlushMs = performance.now() - t0;
      await release();
    }
  }

  /**
   * Rows are written in slices of a few milliseconds, yielding in between,
   * so a dispatch of 100,000 tasks never freezes the kernel while it is
   * saved. The transaction spans the slices; the file is written once at the end.
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
      `INSERT OR REPLACE INTO dispatches (dispatch_id, name, status, started_at, completed_at, parent_dispatch_id,
        parent_node_id, owner_pid, owner_host, owner_start_time, error, result, result_ref, node_count, updated_at,
        redispatch_of, inputs, cost, limit_warning)
       VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)`,
    );
    const upNode = db.prepare(
      `INSERT OR REPLACE INTO nodes (dispatch_id, node_id, name, kind, status, executor_config, executor_label,
        started_at, completed_at, output, output_ref, error, cancel_requested, cancel_reason, cancel_source,
        cancel_outcome, cancel_detail, job_handle, sub_dispatch_id, depends_on, reuse_key, reused_from, cost, limit_warning)
       VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)`,
    );
    const now = new Date().toISOString();
    db.exec('BEGIN');
    try {
      for (const [dispatchId, p] of batch) {
        const d = p.source.dispatchRow();
        const [result, resultRef] = this.placeBlob(dispatchId, 'result', d.result);
        upDispatch.run([
          d.dispatchId, d.name, d.status, d.startedAt, d.completedAt, d.parentDispatchId, d.parentNodeId,
          d.ownerPid, d.ownerHost, d.ownerStartTime, d.error, result, resultRef, d.nodeCount, now,
          d.redispatchOf ?? null, d.inputs ?? null, d.cost ?? null, d.limitWarning ?? null,
        ]);
        const ids = p.allNodes ? range(p.source.nodeCount()) : p.nodes;
        for (const id of ids) {
          const n = p.source.nodeRow(id);
          const [output, outputRef] = this.placeBlob(dispatchId, `node-${id}`, n.output);
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

  /** Flush what is pending and stop the timer. */
  async close(): Promise<void> {
    await this.flush();
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
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

function applyJournalEntry(db: Database, e: JournalEntry): void {
  if (!e || typeof e !== 'object' || !Array.isArray((e as any).nodeIds)) return;
  if (e.t === 'rows') {
    insertMissingRows(db, e.dispatch as unknown as DispatchRow, e.nodes as unknown as NodeRow[]);
    return;
  }
  if (e.t === 'dispatch-final') {
    // Terminal states never change: only a dispatch not yet terminal takes it.
    db.run(
      `UPDATE dispatches SET status = ?, error = COALESCE(error, ?), completed_at = COALESCE(completed_at, ?)
       WHERE dispatch_id = ? AND status NOT IN ('COMPLETED', 'FAILED', 'CANCELLED')`,
      [e.status, e.error, e.at, e.dispatchId],
    );
    return;
  }
  e.nodeIds.forEach((id, i) => {
    if (e.t === 'final') {
      // A node left CANCELLING (its kill unconfirmed) has not completed.
      const terminal = isTerminal(e.statuses[i]);
      db.run(
        `UPDATE nodes SET status = ?, cancel_outcome = COALESCE(?, cancel_outcome), cancel_detail = COALESCE(?, cancel_detail),
         completed_at = CASE WHEN ? THEN COALESCE(completed_at, ?) ELSE completed_at END
         WHERE dispatch_id = ? AND node_id = ?`,
        [e.statuses[i], e.outcomes[i], e.details?.[i] ?? null, terminal ? 1 : 0, e.at, e.dispatchId, id],
      );
    } else if (e.t === 'cancel') {
      db.run(
        `UPDATE nodes SET cancel_requested = 1, cancel_reason = COALESCE(cancel_reason, ?), cancel_source = COALESCE(cancel_source, ?)
         WHERE dispatch_id = ? AND node_id = ?`,
        [e.reason, e.source, e.dispatchId, id],
      );
    } else if (e.t === 'handle') {
      db.run('UPDATE nodes SET job_handle = ? WHERE dispatch_id = ? AND node_id = ?', [e.handle, e.dispatchId, id]);
    }
  });
}

const fromB64 = (v: unknown): Uint8Array | null => (typeof v === 'string' ? Buffer.from(v, 'base64') : null);

function insertMissingRows(db: Database, d: DispatchRow, nodes: NodeRow[]): void {
  db.run(
    `INSERT OR IGNORE INTO dispatches (dispatch_id, name, status, started_at, completed_at, parent_dispatch_id,
      parent_node_id, owner_pid, owner_host, owner_start_time, error, result, result_ref, node_count, updated_at,
      redispatch_of, inputs, cost, limit_warning)
     VALUES (?,?,?,?,?,?,?,?,?,?,?,?,NULL,?,?,?,?,?,?)`,
    [d.dispatchId, d.name, d.status, d.startedAt, d.completedAt, d.parentDispatchId, d.parentNodeId, d.ownerPid,
      d.ownerHost, d.ownerStartTime ?? null, d.error, fromB64(d.result), d.nodeCount, new Date().toISOString(),
      d.redispatchOf ?? null, fromB64(d.inputs), d.cost ?? null, d.limitWarning ?? null],
  );
  for (const n of nodes) {
    db.run(
      `INSERT OR IGNORE INTO nodes (dispatch_id, node_id, name, kind, status, executor_config, executor_label,
        started_at, completed_at, output, output_ref, error, cancel_requested, cancel_reason, cancel_source,
        cancel_outcome, cancel_detail, job_handle, sub_dispatch_id, depends_on, reuse_key, reused_from, cost, limit_warning)
       VALUES (?,?,?,?,?,?,?,?,?,?,NULL,?,?,?,?,?,?,?,?,?,?,?,?,?)`,
      [d.dispatchId, n.nodeId, n.name, n.kind, n.status, n.executorConfig, n.executorLabel, n.startedAt, n.completedAt,
        fromB64(n.output), n.error, n.cancelRequested ? 1 : 0, n.cancelReason, n.cancelSource, n.cancelOutcome,
        n.cancelDetail, n.jobHandle, n.subDispatchId, JSON.stringify(n.dependsOn),
        n.reuseKey ?? null, n.reusedFrom ?? null, n.cost ?? null, n.limitWarning ?? null],
    );
  }
}

/** A dispatch's rows as a journal entry (blobs in base64), for dispatches not yet in a snapshot. */
export function rowsEntry(source: RowSource): JournalEntry {
  const b64 = (b: Uint8Array | null) => (b ? Buffer.from(b).toString('base64') : null);
  const d = source.dispatchRow();
  const nodes = [];
  for (let i = 0; i < source.nodeCount(); i++) {
    const n = source.nodeRow(i);
    nodes.push({ ...n, output: b64(n.output) });
  }
  return {
    t: 'rows',
    dispatchId: d.dispatchId,
    nodeIds: nodes.map((n) => n.nodeId),
    dispatch: { ...d, result: b64(d.result), inputs: b64(d.inputs ?? null) },
    nodes,
  };
}

function* range(n: number): Iterable<number> {
  for (let i = 0; i < n; i++) yield i;
}

function safeName(s: string): string {
  return s.replace(/[^A-Za-z0-9_-]/g, '_');
}
