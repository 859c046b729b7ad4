import type { DispatchRow } from '../store/schema';
import { currentProcessIdentity, isCurrentProcess, processLiveness, type ProcessLiveness } from '../process/process-identity';
import { isTerminal } from '../protocol/status';

type OwnerFields = Pick<DispatchRow, 'ownerPid' | 'ownerHost' | 'ownerStartTime'>;

/** The owner fields a dispatch row records for this process. */
export function ownerFieldsOfThisProcess(): OwnerFields {
  const me = currentProcessIdentity();
  return { ownerPid: me.pid, ownerHost: me.host, ownerStartTime: me.startTime };
}

/**
 * Whether the process that runs a stored dispatch still does: `alive` only
 * when that very process (host, pid and start time) still runs, `gone` when
 * it exited (also when its pid now belongs to another process), `unknown`
 * when it runs on another host sharing the store, which cannot be checked
 * from here (such a dispatch is never declared orphaned from this machine).
 */
export function ownerLiveness(d: OwnerFields): ProcessLiveness {
  if (isCurrentProcess({ pid: d.ownerPid, host: d.ownerHost, startTime: d.ownerStartTime })) return 'alive';
  return processLiveness({ pid: d.ownerPid, host: d.ownerHost, startTime: d.ownerStartTime });
}

/**
 * Is this dispatch orphaned: not finished, and its owner is gone, so it can
 * never finish? Every view (getResult, the graph, the command line) asks this.
 */
export function isOrphaned(d: OwnerFields & Pick<DispatchRow, 'status'>): boolean {
  return !isTerminal(d.status) && ownerLiveness(d) === 'gone';
}

/** The owner as people read it: `pid 123 on host-a`. */
export function describeOwner(d: OwnerFields): string {
  return `pid ${d.ownerPid ?? '?'}${d.ownerHost ? ` on ${d.ownerHost}` : ''}`;
}
