import type { Database, Statement } from 'sql.js';
import type { JournalEntry } from './journal';
import { isTerminal } from '../workflow/status';

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
const TERMINAL = `('COMPLETED', 'FAILED', 'CANCELLED')`;

const SQL = {
  insertDispatch: `INSERT OR IGNORE INTO dispatches (dispatch_id, name, status, started_at, completed_at, parent_dispatch_id,
      parent_node_id, owner_pid, owner_host, owner_start_time, error, result, result_ref, node_count, updated_at,
      redispatch_of, inputs, cost, limit_warning)
     VALUES (?,?,?,?,?,?,?,?,?,?,?,?,NULL,?,?,?,?,?,?)`,
  insertNode: `INSERT OR IGNORE INTO nodes (dispatch_id, node_id, name, kind, status, executor_config, executor_label,
      started_at, completed_at, output, output_ref, error, cancel_requested, cancel_reason, cancel_source,
      cancel_outcome, cancel_detail, job_handle, sub_dispatch_id, depends_on, reuse_key, reused_from)
     VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)`,
  // In SET, column names are the row's values before the update: a stored terminal row keeps everything.
  updateNode: `UPDATE nodes SET
      status = CASE WHEN status IN ${TERMINAL} THEN status ELSE ? END,
      started_at = COALESCE(started_at, ?),
      completed_at = CASE WHEN status IN ${TERMINAL} THEN completed_at ELSE COALESCE(?, completed_at) END,
      output = CASE WHEN status IN ${TERMINAL} THEN output ELSE COALESCE(?, output) END,
      output_ref = CASE WHEN status IN ${TERMINAL} THEN output_ref ELSE COALESCE(?, output_ref) END,
      error = CASE WHEN status IN ${TERMINAL} THEN error ELSE COALESCE(?, error) END,
      cancel_requested = MAX(cancel_requested, ?),
      cancel_reason = COALESCE(cancel_reason, ?),
      cancel_source = COALESCE(cancel_source, ?),
      cancel_outcome = CASE WHEN status IN ${TERMINAL} THEN cancel_outcome ELSE COALESCE(?, cancel_outcome) END,
      cancel_detail = CASE WHEN status IN ${TERMINAL} THEN cancel_detail ELSE COALESCE(?, cancel_detail) END,
      job_handle = COALESCE(?, job_handle),
      sub_dispatch_id = COALESCE(sub_dispatch_id, ?),
      cost = CASE WHEN status IN ${TERMINAL} THEN cost ELSE COALESCE(?, cost) END,
      limit_warning = COALESCE(?, limit_warning)
     WHERE dispatch_id = ? AND node_id = ?`,
  finalDispatch: `UPDATE dispatches SET status = ?, error = COALESCE(?, error), completed_at = COALESCE(completed_at, ?),
      result = COALESCE(?, result), result_ref = COALESCE(?, result_ref), cost = COALESCE(?, cost),
      limit_warning = COALESCE(?, limit_warning)
     WHERE dispatch_id = ? AND status NOT IN ${TERMINAL}`,
  cancelFlags: `UPDATE nodes SET cancel_requested = 1, cancel_reason = COALESCE(cancel_reason, ?), cancel_source = COALESCE(cancel_source, ?)
     WHERE dispatch_id = ? AND node_id = ?`,
  handle: `UPDATE nodes SET job_handle = ?, status = CASE WHEN status = 'NEW_OBJECT' THEN 'RUNNING' ELSE status END
     WHERE dispatch_id = ? AND node_id = ?`,
  // A node left CANCELLING (its kill unconfirmed) has not completed: its completion time stays empty.
  finalNode: `UPDATE nodes SET status = ?, cancel_outcome = COALESCE(?, cancel_outcome), cancel_detail = COALESCE(?, cancel_detail),
      completed_at = CASE WHEN ? THEN COALESCE(completed_at, ?) ELSE completed_at END
     WHERE dispatch_id = ? AND node_id = ? AND status NOT IN ${TERMINAL}`,
} as const;

const fromB64 = (v: unknown): Uint8Array | null => (typeof v === 'string' ? Buffer.from(v, 'base64') : null);

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
    const now = new Date().toISOString();
    switch (e.t) {
      case 'dispatch': {
        const d = e.row;
        this.stmt('insertDispatch').run([
          d.dispatchId, d.name, d.status, d.startedAt, d.completedAt, d.parentDispatchId, d.parentNodeId, d.ownerPid,
          d.ownerHost, d.ownerStartTime ?? null, d.error, fromB64(d.result), d.nodeCount, now,
          d.redispatchOf ?? null, fromB64(d.inputs ?? null), d.cost ?? null, d.limitWarning ?? null,
        ]);
        return;
      }
      case 'graph': {
        const ins = this.stmt('insertNode');
        for (let i = 0; i < e.names.length; i++) {
          const c = e.config[i];
          ins.run([
            e.dispatchId, i, e.names[i], e.kinds[i], 'NEW_OBJECT', c >= 0 ? e.configs[c] : null, e.labels[e.label[i]] ?? null,
            null, null, null, null, null, 0, null, null, null, null, null, null, JSON.stringify(e.dependsOn[i] ?? []),
            e.reuseKeys?.[i] ?? null, e.reusedFrom?.[i] ?? null,
          ]);
        }
        return;
      }
      case 'node':
        this.stmt('updateNode').run([
          e.status, e.startedAt, e.completedAt, fromB64(e.output), e.outputRef, e.error, e.cancelRequested ? 1 : 0,
          e.cancelReason, e.cancelSource, e.cancelOutcome, e.cancelDetail, e.jobHandle, e.subDispatchId, e.cost ?? null,
          e.limitWarning ?? null, e.dispatchId, e.nodeId,
        ]);
        return;
      case 'dispatch-final':
        this.stmt('finalDispatch').run([
          e.status, e.error, e.at, fromB64(e.result ?? null), e.resultRef ?? null, e.cost ?? null, e.limitWarning ?? null, e.dispatchId,
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

  private applyLegacyRows(e: Extract<JournalEntry, { t: 'rows' }>): void {
    const d = e.dispatch as Record<string, any>;
    this.stmt('insertDispatch').run([
      d.dispatchId, d.name, d.status, d.startedAt, d.completedAt, d.parentDispatchId, d.parentNodeId, d.ownerPid,
      d.ownerHost, d.ownerStartTime ?? null, d.error, fromB64(d.result), d.nodeCount, new Date().toISOString(),
      d.redispatchOf ?? null, fromB64(d.inputs), d.cost ?? null, d.limitWarning ?? null,
    ]);
    for (const n of e.nodes as Array<Record<string, any>>) {
      this.stmt('insertNode').run([
        d.dispatchId, n.nodeId, n.name, n.kind, n.status, n.executorConfig, n.executorLabel, n.startedAt, n.completedAt,
        fromB64(n.output), null, n.error, n.cancelRequested ? 1 : 0, n.cancelReason, n.cancelSource, n.cancelOutcome,
        n.cancelDetail, n.jobHandle, n.subDispatchId, JSON.stringify(n.dependsOn ?? []), n.reuseKey ?? null, n.reusedFrom ?? null,
      ]);
    }
  }

  free(): void {
    for (const s of this.stmts.values()) s.free();
    this.stmts.clear();
  }
}
