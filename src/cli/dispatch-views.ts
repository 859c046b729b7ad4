import type { DispatchRow, NodeRow } from '../store/schema';
import { isOrphaned } from '../dispatcher/dispatch-owner';
import type { ImportRecord } from '../store/imported';

/**
 * The records `list` and `status` print, as plain data. Their `--json` form
 * is exactly these objects: field names are stable (documented in README).
 */
export interface DispatchRecord {
  id: string;
  name: string;
  status: string;
  parentDispatchId: string | null;
  owner: { pid: number | null; host: string | null; orphaned: boolean };
  startedAt: string | null;
  completedAt: string | null;
  /** Wall time so far (running) or in all (finished); null before it started. */
  durationMs: number | null;
  nodeCount: number;
  /** Tasks per status, e.g. `{ "COMPLETED": 3, "RUNNING": 1 }`. */
  counts: Record<string, number>;
  error: string | null;
  /** Set when the dispatch was imported from another store (`covalent-ts import`): read-only. */
  importedFrom: ImportedFrom | null;
  /** Lineage: the dispatch this one was redispatched from (`ct.redispatch`). */
  redispatchOf: string | null;
  /** Sum of the tasks' estimated costs; null when no executor has a price. */
  cost: number | null;
  /** e.g. `budget 80% (8.00 of 10.00)`: the dispatch passed 80 % of a limit. */
  limitWarning: string | null;
}

export type ImportedFrom = Pick<ImportRecord, 'home' | 'host' | 'user' | 'exportedAt' | 'importedAt' | 'file'>;

export interface NodeRecord {
  id: number;
  name: string;
  kind: string;
  executor: string;
  status: string;
  startedAt: string | null;
  completedAt: string | null;
  durationMs: number | null;
  jobHandle: unknown;
  cancelRequested: boolean;
  cancelReason: string | null;
  cancelSource: string | null;
  cancelOutcome: string | null;
  cancelDetail: string | null;
  error: string | null;
  dependsOn: number[];
  subDispatchId: string | null;
  /** The dispatch whose result this task reused instead of running (redispatch). */
  reusedFrom: string | null;
  cost: number | null;
  limitWarning: string | null;
}

export function durationMs(startedAt: string | null, completedAt: string | null, now = Date.now()): number | null {
  if (!startedAt) return null;
  const end = completedAt ? Date.parse(completedAt) : now;
  return Math.max(0, end - Date.parse(startedAt));
}

export function dispatchRecord(d: DispatchRow, counts: Record<string, number>, imported: ImportRecord | null, now = Date.now()): DispatchRecord {
  const importedFrom: ImportedFrom | null = imported
    ? { home: imported.home, host: imported.host, user: imported.user, exportedAt: imported.exportedAt, importedAt: imported.importedAt, file: imported.file }
    : null;
  return {
    id: d.dispatchId,
    name: d.name,
    status: d.status,
    parentDispatchId: d.parentDispatchId,
    // An imported dispatch has no owner here: it is a record, never an orphan to act on.
    owner: { pid: d.ownerPid, host: d.ownerHost, orphaned: !importedFrom && isOrphaned(d) },
    startedAt: d.startedAt,
    completedAt: d.completedAt,
    durationMs: durationMs(d.startedAt, d.completedAt, now),
    nodeCount: d.nodeCount,
    counts,
    error: d.error,
    importedFrom,
    redispatchOf: d.redispatchOf ?? null,
    cost: d.cost ?? null,
    limitWarning: d.limitWarning ?? null,
  };
}

export function nodeRecord(n: NodeRow, now = Date.now()): NodeRecord {
  let jobHandle: unknown = null;
  try {
    jobHandle = n.jobHandle ? JSON.parse(n.jobHandle) : null;
  } catch {
    jobHandle = n.jobHandle;
  }
  return {
    id: n.nodeId,
    name: n.name,
    kind: n.kind,
    executor: n.executorLabel ?? '',
    status: n.status,
    startedAt: n.startedAt,
    completedAt: n.completedAt,
    durationMs: durationMs(n.startedAt, n.completedAt, now),
    jobHandle,
    cancelRequested: n.cancelRequested,
    cancelReason: n.cancelReason,
    cancelSource: n.cancelSource,
    cancelOutcome: n.cancelOutcome,
    cancelDetail: n.cancelDetail,
    error: n.error,
    dependsOn: n.dependsOn,
    subDispatchId: n.subDispatchId,
    reusedFrom: n.reusedFrom ?? null,
    cost: n.cost ?? null,
    limitWarning: n.limitWarning ?? null,
  };
}

export function countsOf(nodes: NodeRow[]): Record<string, number> {
  const c: Record<string, number> = {};
  for (const n of nodes) c[n.status] = (c[n.status] ?? 0) + 1;
  return c;
}

// ---- text forms -------------------------------------------------------------

/** `1h 02m`, `3m 05s`, `4.2s`, `120ms`. */
export function formatDuration(ms: number | null): string {
  if (ms === null) return '-';
  if (ms < 1000) return `${Math.round(ms)}ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)}s`;
  const s = Math.floor(ms / 1000);
  if (s < 3600) return `${Math.floor(s / 60)}m ${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h ${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

/** Local time, to the second: `2026-12-01 21:40:03`. */
export function formatTime(iso: string | null): string {
  if (!iso) return '-';
  const d = new Date(iso);
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

export function formatOwner(r: DispatchRecord): string {
  if (r.importedFrom) return `imported from ${r.importedFrom.host}`;
  const who = `pid ${r.owner.pid ?? '?'}${r.owner.host ? ` on ${r.owner.host}` : ''}`;
  return r.owner.orphaned ? `orphaned (${who})` : who;
}

const ORDER = ['RUNNING', 'QUEUED', 'CANCELLING', 'NEW_OBJECT', 'COMPLETED', 'FAILED', 'CANCELLED'];
/** `2 RUNNING, 5 COMPLETED`. */
export function formatCounts(counts: Record<string, number>): string {
  return Object.keys(counts)
    .sort((a, b) => ORDER.indexOf(a) - ORDER.indexOf(b))
    .map((s) => `${counts[s]} ${s}`)
    .join(', ');
}

export function formatHandle(h: unknown): string {
  if (h === null || h === undefined) return '-';
  if (typeof h !== 'object') return String(h);
  const o = h as Record<string, unknown>;
  // The one field people look for first, then the rest compactly.
  const main = o.jobId ?? o.pgid ?? o.pid ?? o.jobArn ?? o.quantumTaskArn;
  const kind = typeof o.kind === 'string' ? `${o.kind} ` : '';
  return main !== undefined ? `${kind}${String(main)}` : JSON.stringify(h);
}
