import type { Store } from '../store/store';
import { importRecords } from '../store/imported';
import { isTerminal, type Status } from '../workflow/status';
import { describeOwner, isOrphaned } from './dispatch-owner';

/** An unfinished dispatch whose process is gone, with what was last known of its jobs. */
export interface OrphanReport {
  dispatchId: string;
  name: string;
  /** The process that ran it, as people read it: `pid 123 on host-a`. */
  owner: string;
  /** Its stored status, never final (it is what the dead process last recorded). */
  status: Status;
  startedAt: string | null;
  nodeCount: number;
  /** Its tasks that never reached a final state: their last known status and job handle. */
  unfinished: Array<{ nodeId: number; name: string; status: string; executor: string | null; jobHandle: unknown }>;
}

/**
 * The orphans of a store: what a restarted kernel (or `covalent-ts list
 * --status orphaned`) shows, so jobs that may still run, and cost, are not
 * forgotten. `covalent-ts cancel <id>` stops them from their stored handles.
 */
export function findOrphans(store: Store, home: string): OrphanReport[] {
  const imported = importRecords(home);
  const out: OrphanReport[] = [];
  for (const d of store.listDispatchRows()) {
    if (d.parentDispatchId || imported.has(d.dispatchId) || !isOrphaned(d)) continue;
    const nodes = store.readDispatch(d.dispatchId)?.nodes ?? [];
    out.push({
      dispatchId: d.dispatchId,
      name: d.name,
      owner: describeOwner(d),
      status: d.status as Status,
      startedAt: d.startedAt,
      nodeCount: nodes.length,
      unfinished: nodes
        .filter((n) => !isTerminal(n.status))
        .map((n) => ({ nodeId: n.nodeId, name: n.name, status: n.status, executor: n.executorLabel, jobHandle: n.jobHandle ? JSON.parse(n.jobHandle) : null })),
    });
  }
  return out;
}
