import * as fs from 'node:fs';
import * as path from 'node:path';
import initSqlJs, { type Database, type SqlJsStatic } from 'sql.js';
import { ErrorCodes, StoreError } from '../errors';
import { writeFileAtomicSync } from './atomic-file';
import type { StorePaths } from './ct-home';
import { ADDED_COLUMNS, SCHEMA_SQL, SCHEMA_VERSION } from './schema';

let sqlJs: Promise<SqlJsStatic> | undefined;
/** sql.js, loaded once per process. */
export function loadSqlJs(): Promise<SqlJsStatic> {
  const dir = path.dirname(require.resolve('sql.js'));
  sqlJs ??= initSqlJs({ locateFile: (file: string) => path.join(dir, file) });
  return sqlJs;
}

/** What happened when the store file could not be read and was rebuilt. */
export interface StoreRecovery {
  /** Where the unreadable file was kept. */
  keptAs: string;
  /** What the store was rebuilt from: the previous snapshot plus every journal, or the journals alone. */
  rebuiltFrom: 'previous snapshot and journals' | 'journals';
  reason: string;
}

/** What loading the newest snapshot gave. */
export interface Loaded {
  /** Bytes of each journal file (by name) that the loaded database holds. */
  offsets: Map<string, number>;
  /** Set when the file was unreadable: the database was rebuilt from `store.sqlite.prev` (or is empty), every journal still to apply from its start. */
  recovery?: StoreRecovery;
}

/**
 * `store.sqlite`, the store's snapshot file, and this process's sql.js copy
 * of it: loading the newest file (keeping an unreadable one aside and
 * falling back to `store.sqlite.prev`), and saving a new snapshot
 * atomically with the one it replaces kept as `store.sqlite.prev`.
 */
export class SqliteFile {
  /** The in-memory database; replaced by `load`. */
  db: Database;
  /** Identity of the file the database was loaded from or saved as (inode, size, mtime); null: none. */
  private loadedStamp: string | null = null;

  constructor(
    private readonly SQL: SqlJsStatic,
    private readonly paths: StorePaths,
  ) {
    this.db = new SQL.Database();
  }

  get previousFile(): string {
    return `${this.paths.database}.prev`;
  }

  private stamp(): string | null {
    try {
      const st = fs.statSync(this.paths.database, { bigint: true });
      return `${st.ino}:${st.size}:${st.mtimeNs}`;
    } catch {
      return null;
    }
  }

  /** Whether another process wrote a newer snapshot since this database was loaded or saved. */
  changedOnDisk(): boolean {
    return this.stamp() !== this.loadedStamp;
  }

  /** Forget what the database was loaded from: the next `changedOnDisk()` is true (reload everything). */
  invalidate(): void {
    this.loadedStamp = null;
  }

  /** A database from a snapshot file; undefined when there is none; throws when it is unreadable. */
  private read(file: string, checkIntegrity: boolean): Database | undefined {
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
   * Replace the database with the newest snapshot on disk, and say which
   * journal bytes it already holds. An unreadable file is kept aside
   * (`store.sqlite.corrupt-<time>`, never overwritten) and the previous
   * snapshot (or an empty database) is used instead.
   */
  load(checkIntegrity: boolean): Loaded {
    const stamp = this.stamp();
    let db: Database | undefined;
    let recovery: StoreRecovery | undefined;
    try {
      db = this.read(this.paths.database, checkIntegrity);
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
        prev = this.read(this.previousFile, true);
      } catch {
        prev = undefined;
      }
      db = prev;
      recovery = { keptAs, rebuiltFrom: prev ? 'previous snapshot and journals' : 'journals', reason: (e as Error).message };
    }
    db ??= new this.SQL.Database();
    this.prepareSchema(db);
    const offsets = new Map<string, number>();
    if (!recovery) {
      for (const [file, offset] of db.exec('SELECT file, offset FROM journal_applied')[0]?.values ?? []) offsets.set(String(file), Number(offset));
    }
    this.db.close();
    this.db = db;
    this.loadedStamp = recovery ? this.stamp() : stamp;
    return { offsets, recovery };
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
   * Write the database as the new `store.sqlite` (atomically: a temp file,
   * fsynced, renamed over), keeping the file it replaces as
   * `store.sqlite.prev`.
   */
  save(): void {
    const bytes = this.db.export();
    this.keepPrevious();
    writeFileAtomicSync(this.paths.database, bytes);
    this.loadedStamp = this.stamp();
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
}

/** Bring an older file's schema up to SCHEMA_VERSION (additive changes only). */
function migrate(db: Database): void {
  for (const [table, column, type] of ADDED_COLUMNS) {
    const cols = db.exec(`PRAGMA table_info(${table})`)[0]?.values.map((r) => r[1]) ?? [];
    if (!cols.includes(column)) db.exec(`ALTER TABLE ${table} ADD COLUMN ${column} ${type}`);
  }
  db.run("UPDATE meta SET value = ? WHERE key = 'schema_version'", [String(SCHEMA_VERSION)]);
}

/**
 * Run `work` as one transaction (a savepoint, so it also nests inside the
 * snapshot's transaction). Without one, sql.js commits each statement on
 * its own, writing its rollback journal every time: applying a
 * 100,000-node creation took seconds instead of milliseconds.
 */
export function inTransaction<T>(db: Database, work: () => T): T {
  db.exec('SAVEPOINT ct_batch');
  try {
    const out = work();
    db.exec('RELEASE ct_batch');
    return out;
  } catch (e) {
    db.exec('ROLLBACK TO ct_batch');
    db.exec('RELEASE ct_batch');
    throw e;
  }
}
