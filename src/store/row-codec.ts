import { Status, TERMINAL_STATUSES } from '../protocol/status';

/**
 * The row codec: the store's two tables, each column listed once with the
 * row field it holds and how its value is converted. The schema
 * (`CREATE TABLE`, columns added by later versions), the statements that
 * read and write rows, and the JSON form of rows in the journal are all
 * derived from these lists, so a new column is one line here.
 */

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
  /** The file under outputs/ that holds the result when it is large (readers get its bytes in `result`). */
  resultRef?: string | null;
  nodeCount: number;
  /** The dispatch this one was redispatched from (ct.redispatch). */
  redispatchOf?: string | null;
  /** The lattice's arguments, encoded (a redispatch without arguments runs with these). */
  inputs?: Uint8Array | null;
  /** Sum of the tasks' estimated costs; null without a price. */
  cost?: number | null;
  limitWarning?: string | null;
  /** The encoded workflow (dispatcher/stored-workflow.ts): what ct.redispatch rebuilds the graph from without the lattice. */
  workflow?: Uint8Array | null;
  /** The file under outputs/ that holds the workflow when it is large (readers get its bytes in `workflow`). */
  workflowRef?: string | null;
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
  /** The file under outputs/ that holds the output when it is large (readers get its bytes in `output`). */
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

/** How a field is kept in SQLite (and in the journal's JSON). */
type Kind = 'text' | 'int' | 'real' | 'bool' | 'blob' | 'json';

const SQL_TYPE: Record<Kind, string> = { text: 'TEXT', int: 'INTEGER', real: 'REAL', bool: 'INTEGER', blob: 'BLOB', json: 'TEXT' };

export interface Column<R> {
  name: string;
  /** The row field; absent for a column the store fills itself (a key from the context, a write time). */
  field?: keyof R & string;
  kind: Kind;
  /** What follows the type in `CREATE TABLE`. */
  constraint?: string;
  /** The schema version that added the column (older files get it by `ALTER TABLE` when opened). */
  since?: number;
  /** What a missing value reads as. */
  empty?: unknown;
}

export interface Table<R> {
  name: string;
  columns: ReadonlyArray<Column<R>>;
  primaryKey: readonly string[];
}

export const DISPATCHES: Table<DispatchRow> = {
  name: 'dispatches',
  primaryKey: ['dispatch_id'],
  columns: [
    { name: 'dispatch_id', field: 'dispatchId', kind: 'text' },
    { name: 'name', field: 'name', kind: 'text', constraint: 'NOT NULL' },
    { name: 'status', field: 'status', kind: 'text', constraint: 'NOT NULL' },
    { name: 'started_at', field: 'startedAt', kind: 'text' },
    { name: 'completed_at', field: 'completedAt', kind: 'text' },
    { name: 'parent_dispatch_id', field: 'parentDispatchId', kind: 'text' },
    { name: 'parent_node_id', field: 'parentNodeId', kind: 'int' },
    { name: 'owner_pid', field: 'ownerPid', kind: 'int' },
    { name: 'owner_host', field: 'ownerHost', kind: 'text' },
    // Schema 2: the owner's start time, so a reused pid is not mistaken for the owner.
    { name: 'owner_start_time', field: 'ownerStartTime', kind: 'text', since: 2 },
    { name: 'error', field: 'error', kind: 'text' },
    { name: 'result', field: 'result', kind: 'blob' },
    { name: 'result_ref', field: 'resultRef', kind: 'text' },
    { name: 'node_count', field: 'nodeCount', kind: 'int', constraint: 'NOT NULL DEFAULT 0', empty: 0 },
    { name: 'updated_at', kind: 'text', constraint: 'NOT NULL' },
    // Schema 3 (limits and redispatch): lineage, the lattice's inputs, costs, warnings.
    { name: 'redispatch_of', field: 'redispatchOf', kind: 'text', since: 3 },
    { name: 'inputs', field: 'inputs', kind: 'blob', since: 3 },
    { name: 'cost', field: 'cost', kind: 'real', since: 3 },
    { name: 'limit_warning', field: 'limitWarning', kind: 'text', since: 3 },
    // Schema 4: the workflow itself (sources, arguments), so ct.redispatch rebuilds it from the store alone.
    { name: 'workflow', field: 'workflow', kind: 'blob', since: 4 },
    { name: 'workflow_ref', field: 'workflowRef', kind: 'text', since: 4 },
  ],
};

export const NODES: Table<NodeRow> = {
  name: 'nodes',
  primaryKey: ['dispatch_id', 'node_id'],
  columns: [
    { name: 'dispatch_id', kind: 'text', constraint: 'NOT NULL' },
    { name: 'node_id', field: 'nodeId', kind: 'int', constraint: 'NOT NULL' },
    { name: 'name', field: 'name', kind: 'text', constraint: 'NOT NULL' },
    { name: 'kind', field: 'kind', kind: 'text', constraint: 'NOT NULL' },
    { name: 'status', field: 'status', kind: 'text', constraint: 'NOT NULL' },
    { name: 'executor_config', field: 'executorConfig', kind: 'text' },
    { name: 'executor_label', field: 'executorLabel', kind: 'text' },
    { name: 'started_at', field: 'startedAt', kind: 'text' },
    { name: 'completed_at', field: 'completedAt', kind: 'text' },
    { name: 'output', field: 'output', kind: 'blob' },
    { name: 'output_ref', field: 'outputRef', kind: 'text' },
    { name: 'error', field: 'error', kind: 'text' },
    { name: 'cancel_requested', field: 'cancelRequested', kind: 'bool', constraint: 'NOT NULL DEFAULT 0', empty: false },
    { name: 'cancel_reason', field: 'cancelReason', kind: 'text' },
    { name: 'cancel_source', field: 'cancelSource', kind: 'text' },
    { name: 'cancel_outcome', field: 'cancelOutcome', kind: 'text' },
    { name: 'cancel_detail', field: 'cancelDetail', kind: 'text' },
    { name: 'job_handle', field: 'jobHandle', kind: 'text' },
    { name: 'sub_dispatch_id', field: 'subDispatchId', kind: 'text' },
    { name: 'depends_on', field: 'dependsOn', kind: 'json', constraint: "NOT NULL DEFAULT '[]'", empty: [] },
    // Schema 3: reuse by redispatch, costs, warnings.
    { name: 'reuse_key', field: 'reuseKey', kind: 'text', since: 3 },
    { name: 'reused_from', field: 'reusedFrom', kind: 'text', since: 3 },
    { name: 'cost', field: 'cost', kind: 'real', since: 3 },
    { name: 'limit_warning', field: 'limitWarning', kind: 'text', since: 3 },
  ],
};

/** `('COMPLETED', 'FAILED', 'CANCELLED')`: the terminal statuses of the status model, for SQL. */
export const TERMINAL_SQL = `(${[...TERMINAL_STATUSES].map((s) => `'${s}'`).join(', ')})`;

const columnOf = new Map<Table<any>, Map<string, Column<any>>>();
/** The column that holds `field` in `table`. */
export function column<R>(table: Table<R>, field: keyof R & string): Column<R> {
  let byField = columnOf.get(table);
  if (!byField) columnOf.set(table, (byField = new Map(table.columns.filter((c) => c.field).map((c) => [c.field!, c]))));
  const c = byField.get(field);
  if (!c) throw new Error(`no column for ${table.name}.${field}`);
  return c;
}

export function createTableSql(table: Table<any>): string {
  const inlineKey = table.primaryKey.length === 1 ? table.primaryKey[0] : undefined;
  const lines = table.columns.map((c) => {
    const parts = [c.name, SQL_TYPE[c.kind]];
    if (c.name === inlineKey) parts.push('PRIMARY KEY');
    if (c.constraint) parts.push(c.constraint);
    return `  ${parts.join(' ')}`;
  });
  if (!inlineKey) lines.push(`  PRIMARY KEY (${table.primaryKey.join(', ')})`);
  return `CREATE TABLE IF NOT EXISTS ${table.name} (\n${lines.join(',\n')}\n);`;
}

/** Columns added after schema 1, as `[table, column, type]`, in the order they were added. */
export function addedColumns(tables: ReadonlyArray<Table<any>>): Array<readonly [string, string, string]> {
  const out: Array<readonly [string, string, string]> = [];
  for (const since of [...new Set(tables.flatMap((t) => t.columns.map((c) => c.since ?? 1)))].sort()) {
    if (since === 1) continue;
    for (const t of tables) for (const c of t.columns) if (c.since === since) out.push([t.name, c.name, SQL_TYPE[c.kind]] as const);
  }
  return out;
}

/** `INSERT` of every column; `onConflict` is appended (an upsert), `orIgnore` keeps rows already there. */
export function insertSql(table: Table<any>, how: { orIgnore?: boolean; onConflict?: string } = {}): string {
  const names = table.columns.map((c) => c.name);
  return (
    `INSERT ${how.orIgnore ? 'OR IGNORE ' : ''}INTO ${table.name} (${names.join(', ')}) VALUES (${names.map(() => '?').join(',')})` +
    (how.onConflict ? ` ${how.onConflict}` : '')
  );
}

/**
 * An upsert that replaces every column but the key, unless the stored row is
 * terminal: a terminal state, and what came with it, never changes.
 */
export function upsertUnlessTerminalSql(table: Table<any>): string {
  const set = table.columns.filter((c) => !table.primaryKey.includes(c.name)).map((c) => `${c.name} = excluded.${c.name}`);
  return insertSql(table, {
    onConflict: `ON CONFLICT (${table.primaryKey.join(', ')}) DO UPDATE SET ${set.join(', ')} WHERE ${table.name}.status NOT IN ${TERMINAL_SQL}`,
  });
}

/** `SELECT` of every column, with the `blank` ones read as NULL (large values a listing does not need). */
export function selectSql(table: Table<any>, blank: readonly string[] = []): string {
  return `SELECT ${table.columns.map((c) => (blank.includes(c.name) ? `NULL AS ${c.name}` : c.name)).join(', ')} FROM ${table.name}`;
}

/** A field's value as SQLite keeps it. */
export function toSql(c: Column<any>, v: unknown): unknown {
  if (v === undefined || v === null) return null;
  if (c.kind === 'bool') return v ? 1 : 0;
  if (c.kind === 'json') return JSON.stringify(v);
  return v;
}

/** A stored value as the row field holds it. */
export function fromSql(c: Column<any>, v: unknown): unknown {
  if (v === undefined || v === null) return c.empty ?? null;
  if (c.kind === 'bool') return v === 1;
  if (c.kind === 'json') return JSON.parse(v as string);
  return v;
}

/**
 * The values of a row in column order, for `insertSql`. `given` supplies
 * columns by name: those without a field, or a value to write instead of
 * the field's (a large output placed in a file).
 */
export function encodeRow<R>(table: Table<R>, row: R, given: Record<string, unknown> = {}): unknown[] {
  const out: unknown[] = new Array(table.columns.length);
  for (let i = 0; i < table.columns.length; i++) {
    const c = table.columns[i];
    out[i] = c.name in given ? (given[c.name] ?? null) : c.field ? toSql(c, row[c.field]) : null;
  }
  return out;
}

/** A row read with `getAsObject()` (column name to value). */
export function decodeRow<R>(table: Table<R>, stored: Record<string, unknown>): R {
  const row: Record<string, unknown> = {};
  for (const c of table.columns) if (c.field) row[c.field] = fromSql(c, stored[c.name]);
  return row as R;
}

/** A field's value in the journal's JSON: blobs as base64. */
export function toJson(c: Column<any>, v: unknown): unknown {
  if (v === undefined || v === null) return null;
  if (c.kind === 'blob') {
    const b = v as Uint8Array;
    return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('base64');
  }
  return v;
}

/** A field's value read back from the journal's JSON. */
export function fromJson(c: Column<any>, v: unknown): unknown {
  if (v === undefined || v === null) return c.empty ?? null;
  if (c.kind === 'blob') return typeof v === 'string' ? Buffer.from(v, 'base64') : null;
  return v;
}

/** A row with its blobs as base64 (the journal's form of a row). */
export type JsonRow<R> = { [K in keyof R]: R[K] extends Uint8Array | null | undefined ? string | null : R[K] };

export function rowToJson<R>(table: Table<R>, row: R): JsonRow<R> {
  const out: Record<string, unknown> = {};
  for (const c of table.columns) if (c.field) out[c.field] = toJson(c, row[c.field]);
  return out as JsonRow<R>;
}

export function rowFromJson<R>(table: Table<R>, json: Record<string, unknown>): R {
  const out: Record<string, unknown> = {};
  for (const c of table.columns) if (c.field) out[c.field] = fromJson(c, json[c.field]);
  return out as R;
}

/** A node row of a new dispatch: what is given, every other field empty (NEW_OBJECT, nothing run). */
export function newNodeRow(given: Pick<NodeRow, 'nodeId' | 'name' | 'kind'> & Partial<NodeRow>): NodeRow {
  const row: Record<string, unknown> = { status: Status.NEW_OBJECT };
  for (const c of NODES.columns) if (c.field && !(c.field in row)) row[c.field] = c.empty ?? null;
  return Object.assign(row, given) as unknown as NodeRow;
}
