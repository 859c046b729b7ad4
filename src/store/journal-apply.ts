import type { Database, Statement } from 'sql.js';
import type { JournalEntry } from './journal';
import { Status, canTransition, isTerminal } from '../protocol/status';
import {
  column, DISPATCHES, encodeRow, fromJson, insertSql, newNodeRow, NODES, rowFromJson, TERMINAL_SQL, toSql, type DispatchRow, type NodeRow,
} from './row-codec';

/**
 * How journal entries change the database: the merge rules of the store
 * protocol (docs/store.md), in one place.
 *
 * - Every rule is idempotent and order-tolerant: applying an entry twice, or
 *   an older entry after a newer one of the same file, changes nothing. A
 *   reader may therefore re-read a journal from any earlier offset.
 * - A terminal state (COMPLETED, FAILED, CANCELLED) never changes once stored,
 *   for a node or a dispatch; nor do its output, error and completion time.
 * - Creation entries only insert what is missing.
 */

/**
 * How a `node` entry's fact merges into the stored node:
 * - `transition`: the status moves only as the status model allows (canTransition): a terminal status stays,
 *   and a CANCELLING node read from another process's journal is not set back to RUNNING or QUEUED by an
 *   older entry of its (dead) owner, whatever order the journals are applied in;
 * - `final`: taken (when given) unless the stored status is terminal: a terminal state, and what came with it, stays;
 * - `first`: the first value stored stays;
 * - `latest`: the newest value given wins;
 * - `flag`: once set, stays set.
 */
export const NODE_MERGE_RULES = {
  status: 'transition',
  startedAt: 'first',
  completedAt: 'final',
  output: 'final',
  outputRef: 'final',
  error: 'final',
  cancelRequested: 'flag',
  cancelReason: 'first',
  cancelSource: 'first',
  cancelOutcome: 'final',
  cancelDetail: 'final',
  jobHandle: 'latest',
  subDispatchId: 'first',
  cost: 'final',
  limitWarning: 'latest',
} as const satisfies Partial<Record<keyof NodeRow, 'transition' | 'final' | 'first' | 'latest' | 'flag'>>;

/** The node fields a `node` journal entry carries. */
export type NodeFact = keyof typeof NODE_MERGE_RULES;
export const NODE_FACTS = Object.keys(NODE_MERGE_RULES) as NodeFact[];

const keptIfTerminal = (col: string, value: string) => `CASE WHEN status IN ${TERMINAL_SQL} THEN ${col} ELSE ${value} END`;

/** The status model's moves in SQL: the given status (bound once, as `v`) replaces the stored one only where canTransition allows. */
function transitionSql(col: string): string {
  const all = Object.values(Status);
  const refused = all
    .map((from) => [from, all.filter((to) => !canTransition(from, to))] as const)
    .filter(([, to]) => to.length)
    .map(([from, to]) => `WHEN ${col} = '${from}' AND v IN (${to.map((t) => `'${t}'`).join(', ')}) THEN ${col}`);
  return `(SELECT CASE WHEN v IS NULL THEN ${col} ${refused.join(' ')} ELSE v END FROM (SELECT ? AS v))`;
}

/** In SET, column names are the row's values before the update: a stored terminal row keeps everything. */
function mergeSql(fact: NodeFact): string {
  const col = column(NODES, fact).name;
  const rule = NODE_MERGE_RULES[fact];
  const value =
    rule === 'transition' ? transitionSql(col)
    : rule === 'final' ? keptIfTerminal(col, `COALESCE(?, ${col})`)
    : rule === 'first' ? `COALESCE(${col}, ?)`
    : rule === 'latest' ? `COALESCE(?, ${col})`
    : `MAX(${col}, ?)`;
  return `${col} = ${value}`;
}

const SQL = {
  insertDispatch: insertSql(DISPATCHES, { orIgnore: true }),
  insertNode: insertSql(NODES, { orIgnore: true }),
  updateNode: `UPDATE nodes SET ${NODE_FACTS.map(mergeSql).join(', ')} WHERE dispatch_id = ? AND node_id = ?`,
  finalDispatch: `UPDATE dispatches SET status = ?, error = COALESCE(?, error), completed_at = COALESCE(completed_at, ?),
      result = COALESCE(?, result), result_ref = COALESCE(?, result_ref), cost = COALESCE(?, cost),
      limit_warning = COALESCE(?, limit_warning)
     WHERE dispatch_id = ? AND status NOT IN ${TERMINAL_SQL}`,
  cancelFlags: `UPDATE nodes SET cancel_requested = 1, cancel_reason = COALESCE(cancel_reason, ?), cancel_source = COALESCE(cancel_source, ?)
     WHERE dispatch_id = ? AND node_id = ?`,
  handle: `UPDATE nodes SET job_handle = ?, status = CASE WHEN status = 'NEW_OBJECT' THEN 'RUNNING' ELSE status END
     WHERE dispatch_id = ? AND node_id = ?`,
  // A node left CANCELLING (its kill unconfirmed) has not completed: its completion time stays empty.
  finalNode: `UPDATE nodes SET status = ?, cancel_outcome = COALESCE(?, cancel_outcome), cancel_detail = COALESCE(?, cancel_detail),
      completed_at = CASE WHEN ? THEN COALESCE(completed_at, ?) ELSE completed_at END
     WHERE dispatch_id = ? AND node_id = ? AND status NOT IN ${TERMINAL_SQL}`,
} as const;

const FACT_COLUMNS = NODE_FACTS.map((f) => column(NODES, f));
const RESULT = column(DISPATCHES, 'result');

/** Applies entries to one database with prepared statements; `free()` when done (before the next export). */
export class JournalApplier {
  private readonly stmts = new Map<keyof typeof SQL, Statement>();

  constructor(private readonly db: Database) {}

  private stmt(k: keyof typeof SQL): Statement {
    let s = this.stmts.get(k);
    if (!s) this.stmts.set(k, (s = this.db.prepare(SQL[k])));
    return s;
  }

  apply(e: JournalEntry): void {
    if (!e || typeof e !== 'object') return;
    switch (e.t) {
      case 'dispatch':
        this.insertDispatch(rowFromJson(DISPATCHES, e.row as unknown as Record<string, unknown>));
        return;
      case 'graph': {
        const ins = this.stmt('insertNode');
        for (let i = 0; i < e.names.length; i++) {
          const c = e.config[i];
          const row = newNodeRow({
            nodeId: i, name: e.names[i], kind: e.kinds[i], executorConfig: c >= 0 ? e.configs[c] : null, executorLabel: e.labels[e.label[i]] ?? null,
            dependsOn: e.dependsOn[i] ?? [], reuseKey: e.reuseKeys?.[i] ?? null, reusedFrom: e.reusedFrom?.[i] ?? null,
          });
          ins.run(encodeRow(NODES, row, { dispatch_id: e.dispatchId }) as any[]);
        }
        return;
      }
      case 'node': {
        const facts = e as Record<string, unknown>;
        const params = FACT_COLUMNS.map((c) => toSql(c, fromJson(c, facts[c.field!])));
        this.stmt('updateNode').run([...params, e.dispatchId, e.nodeId] as any[]);
        return;
      }
      case 'dispatch-final':
        this.stmt('finalDispatch').run([
          e.status, e.error, e.at, fromJson(RESULT, e.result) as Uint8Array | null, e.resultRef ?? null, e.cost ?? null, e.limitWarning ?? null, e.dispatchId,
        ]);
        return;
      case 'rows':
        this.applyLegacyRows(e);
        return;
      case 'writer':
        return;
    }
    if (!Array.isArray((e as { nodeIds?: unknown }).nodeIds)) return;
    e.nodeIds.forEach((id, i) => {
      if (e.t === 'final') {
        const terminal = isTerminal(e.statuses[i]) ? 1 : 0;
        this.stmt('finalNode').run([e.statuses[i], e.outcomes[i], e.details?.[i] ?? null, terminal, e.at, e.dispatchId, id]);
      }
      else if (e.t === 'cancel') this.stmt('cancelFlags').run([e.reason, e.source, e.dispatchId, id]);
      else if (e.t === 'handle') this.stmt('handle').run([e.handle, e.dispatchId, id]);
    });
  }

  private insertDispatch(d: DispatchRow): void {
    this.stmt('insertDispatch').run(encodeRow(DISPATCHES, d, { updated_at: new Date().toISOString() }) as any[]);
  }

  private applyLegacyRows(e: Extract<JournalEntry, { t: 'rows' }>): void {
    const d = rowFromJson(DISPATCHES, e.dispatch);
    this.insertDispatch(d);
    for (const n of e.nodes) this.stmt('insertNode').run(encodeRow(NODES, rowFromJson(NODES, n), { dispatch_id: d.dispatchId }) as any[]);
  }

  free(): void {
    for (const s of this.stmts.values()) s.free();
    this.stmts.clear();
  }
}
