/** SQLite schema of the store. Bump SCHEMA_VERSION and add a migration when it changes. */
export const SCHEMA_VERSION = 3;

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
  updated_at TEXT NOT NULL,
  redispatch_of TEXT,
  inputs BLOB,
  cost REAL,
  limit_warning TEXT
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
  reuse_key TEXT,
  reused_from TEXT,
  cost REAL,
  limit_warning TEXT,
  PRIMARY KEY (dispatch_id, node_id)
);
CREATE INDEX IF NOT EXISTS nodes_sub ON nodes (sub_dispatch_id);
CREATE TABLE IF NOT EXISTS journal_applied (file TEXT PRIMARY KEY, offset INTEGER NOT NULL);
`;

/**
 * Columns added after schema 1, as `[table, column, type]`. Added to an
 * older file when it is opened (SQLite adds a nullable column in place).
 */
export const ADDED_COLUMNS: ReadonlyArray<readonly [string, string, string]> = [
  // Schema 2: the owner's start time, so a reused pid is not mistaken for the owner.
  ['dispatches', 'owner_start_time', 'TEXT'],
  // Schema 3 (limits and redispatch): lineage, the lattice's inputs, costs, warnings, reuse.
  ['dispatches', 'redispatch_of', 'TEXT'],
  ['dispatches', 'inputs', 'BLOB'],
  ['dispatches', 'cost', 'REAL'],
  ['dispatches', 'limit_warning', 'TEXT'],
  ['nodes', 'reuse_key', 'TEXT'],
  ['nodes', 'reused_from', 'TEXT'],
  ['nodes', 'cost', 'REAL'],
  ['nodes', 'limit_warning', 'TEXT'],
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
  /** When writing: the result is already in this file under outputs/ (not read back; readers get `result`). */
  resultRef?: string | null;
  nodeCount: number;
  /** The dispatch this one was redispatched from (ct.redispatch). */
  redispatchOf?: string | null;
  /** The lattice's arguments, encoded (a redispatch without arguments runs with these). */
  inputs?: Uint8Array | null;
  /** Sum of the tasks' estimated costs; null without a price. */
  cost?: number | null;
  limitWarning?: string | null;
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
  /** When writing: the output is already in this file under outputs/ (not read back; readers get `output`). */
  outputRef?: string | null;
  error: string | null;
  cancelRequested: boolean;
  cancelReason: string | null;
  cancelSource: string | null;
  cancelOutcome: string | null;
  cancelDetail: string | null;
  jobHandle: string | null;
  subDispatchId: string | null;
  dependsOn: number[];
  /** Hash of the task's function source, inputs and executor configuration: a redispatch reuses the task when it matches. */
  reuseKey?: string | null;
  /** The dispatch whose result this node reused instead of running. */
  reusedFrom?: string | null;
  /** Estimated cost so far (final once ended); null without a price. */
  cost?: number | null;
  limitWarning?: string | null;
}
