import * as fs from 'fs';
import { ctHome, storePaths } from '../src/store/ct-home';
import type { OrphanReport } from '../src/dispatcher/orphans';
import { formatHandle } from '../src/cli/dispatch-views';
import type { DispatcherPort } from './core';

/**
 * Told once per kernel process, in the first cell's output (stderr): the
 * dispatches whose process exited before they finished (a kernel that died,
 * say), whose remote jobs may still run and cost money. The store is only
 * opened when one exists, so a kernel that never dispatched stays fast and quiet.
 */
export async function orphanNoticeOnce(getDispatcher: () => DispatcherPort, home = ctHome()): Promise<string | null> {
  if (!fs.existsSync(storePaths(home).database)) return null;
  const orphans = await getDispatcher().orphans();
  return orphans.length > 0 ? formatOrphanNotice(orphans) : null;
}

/** A short, plain-text notice: one line per dispatch, the last known state of its unfinished tasks, and how to stop them. */
export function formatOrphanNotice(orphans: OrphanReport[]): string {
  const lines = orphans.map((o) => {
    const tasks = o.unfinished
      .map((t) => `${t.nodeId} ${t.name} ${t.status}${t.jobHandle ? ` (job ${formatHandle(t.jobHandle)})` : ''}`)
      .join(', ');
    return `  ${o.dispatchId} ${o.name} (${o.owner}): ${tasks || 'no unfinished tasks'}`;
  });
  return (
    `covalent-ts: ${orphans.length} orphaned dispatch${orphans.length === 1 ? '' : 'es'} ` +
    `(their process exited before they finished; remote jobs may still run):\n${lines.join('\n')}\n` +
    `  Stop one with \`ct cancel <id>\` or ct.getDispatcher().cancel(id); list them with \`ct list --status orphaned\`.\n`
  );
}
