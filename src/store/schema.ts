/** SQLite schema of the store. Bump SCHEMA_VERSION and add a migration when it changes. */
export const SCHEMA_VERSION = 2;

export const SCHEMA_SQL = `
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS dispatches (
  dispatch_id TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  status TEXT NOT NULL,
  started_at TEXT,
  completed_at TEXT,
  parent_dispatch_id TEXT,
  parent_node_id INTEGER,
  owner_pid INTEGER,
  owner_host TEXT,
  owner_start_time TEXT,
  error TEXT,
  result BLOB,
  result_ref TEXT,
  node_count INTEGER NOT NULL DEFAULT 0,
  updated_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS nodes (
  dispatch_id TEXT NOT NULL,
  node_id INTEGER NOT NULL,
  name TEXT NOT NULL,
  kind TEXT NOT NULL,
  status TEXT NOT NULL,
  executor_config TEXT,
  executor_label TEXT,
  started_at TEXT,
  completed_at TEXT,
  output BLOB,
  output_ref TEXT,
  error TEXT,
  cancel_requested INTEGER NOT NULL DEFAULT 0,
  cancel_reason TEXT,
  cancel_source TEXT,
  cancel_outcome TEXT,
  cancel_detail TEXT,
  job_handle TEXT,
  sub_dispatch_id TEXT,
  depends_on TEXT NOT NULL DEFAULT '[]',
  PRIMARY KEY (dispatch_id, node_id)
);
CREATE INDEX IF NOT EXISTS nodes_sub ON nodes (sub_dispatch_id);
`;

/**
 * Columns added after schema 1, as `[table, column, type]`. Added to an
 * older file when it is opened (SQLite adds a nullable column in place).
 */
export const ADDED_COLUMNS: ReadonlyArray<readonly [string, string, string]> = [
  // Schema 2: the owner's start time, so a reused pid is not mistaken for the owner.
  ['dispatches', 'owner_start_time', 'TEXT'],
];

export interface DispatchRow {
  dispatchId: string;
  name: string;
  status: string;
  startedAt: string | null;
  completedAt: string | null;
  parentDispatchId: string | null;
  parentNodeId: number | null;
  /** The process that runs (ran) the dispatch: pid, host, and start time (see ProcessIdentity). */
  ownerPid: number | null;
  ownerHost: string | null;
  /** `<boot id>:<start ticks>` of the owner; null in rows written before it was recorded. */
  ownerStartTime: string | null;
  error: string | null;
  /** Encoded result (small results live in the database, large ones in a file). */
  result: Uint8Array | null;
  nodeCount: number;
}

export interface NodeRow {
  nodeId: number;
  name: string;
  kind: string;
  status: string;
  executorConfig: string | null;
  executorLabel: string | null;
  startedAt: string | null;
  completedAt: string | null;
  output: Uint8Array | null;
  error: string | null;
  cancelRequested: boolean;
  cancelReason: string | null;
  cancelSource: string | null;
  cancelOutcome: string | null;
  cancelDetail: string | null;
  jobHandle: string | null;
  subDispatchId: string | null;
  dependsOn: number[];
}
