import { addedColumns, createTableSql, DISPATCHES, NODES } from './row-codec';

export type { DispatchRow, NodeRow } from './row-codec';

/** SQLite schema of the store. Bump SCHEMA_VERSION when a column is added (its `since` in row-codec.ts). */
export const SCHEMA_VERSION = 4;

export const SCHEMA_SQL = `
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
${createTableSql(DISPATCHES)}
${createTableSql(NODES)}
CREATE INDEX IF NOT EXISTS nodes_sub ON nodes (sub_dispatch_id);
CREATE TABLE IF NOT EXISTS journal_applied (file TEXT PRIMARY KEY, offset INTEGER NOT NULL);
`;

/**
 * Columns added after schema 1, as `[table, column, type]`. Added to an
 * older file when it is opened (SQLite adds a nullable column in place).
 */
export const ADDED_COLUMNS: ReadonlyArray<readonly [string, string, string]> = addedColumns([DISPATCHES, NODES]);
