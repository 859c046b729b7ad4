import * as v8 from 'node:v8';
import * as ct from '../../../src';

/**
 * Facts a process reported (printed once its API or events told it), as
 * lines: `T <dispatch> <node> <output JSON>` a task COMPLETED with that
 * output, `D <dispatch> <status>` a dispatch ended, `C <dispatch>` a cancel
 * resolved with every task terminal.
 */
export const REPORTER = `
  const TERMINAL = ['COMPLETED', 'FAILED', 'CANCELLED'];
  function reportFacts(d) {
    d.on('node-changed', (e) => {
      if (e.node.status === 'COMPLETED') process.stdout.write('T ' + e.dispatchId + ' ' + e.node.id + '\\n');
    });
    d.on('dispatch-changed', (e) => {
      if (TERMINAL.includes(e.status)) process.stdout.write('D ' + e.dispatchId + ' ' + e.status + '\\n');
    });
  }
`;

export interface ReportedFacts {
  tasks: Array<{ dispatchId: string; nodeId: number }>;
  dispatches: Map<string, string>;
  cancels: Set<string>;
}

export function newFacts(): ReportedFacts {
  return { tasks: [], dispatches: new Map(), cancels: new Set() };
}

/** Record one reported line (ignores others). */
export function collect(facts: ReportedFacts, line: string): void {
  const [kind, id, a] = line.split(' ');
  if (kind === 'T') facts.tasks.push({ dispatchId: id, nodeId: Number(a) });
  else if (kind === 'D') facts.dispatches.set(id, a);
  else if (kind === 'C') facts.cancels.add(id);
}

/**
 * What of the reported facts is missing from the store, read by a fresh
 * process-like reader. `outputOf(nodeId)` is the output each task returned.
 */
export async function missingFacts(home: string, facts: ReportedFacts, outputOf: (nodeId: number) => unknown): Promise<string[]> {
  const store = await ct.Store.open(home);
  const missing: string[] = [];
  const cache = new Map<string, ReturnType<ct.Store['readDispatch']>>();
  const read = (id: string) => {
    if (!cache.has(id)) cache.set(id, store.readDispatch(id));
    return cache.get(id);
  };
  for (const t of facts.tasks) {
    const node = read(t.dispatchId)?.nodes.find((n) => n.nodeId === t.nodeId);
    if (!node || node.status !== 'COMPLETED') {
      missing.push(`task ${t.dispatchId}/${t.nodeId} reported COMPLETED, stored ${node?.status ?? 'nothing'}`);
      continue;
    }
    const output = node.output ? v8.deserialize(node.output) : undefined;
    if (JSON.stringify(output) !== JSON.stringify(outputOf(t.nodeId))) missing.push(`task ${t.dispatchId}/${t.nodeId}: output ${JSON.stringify(output)}`);
  }
  for (const [id, status] of facts.dispatches) {
    const stored = read(id)?.dispatch.status;
    if (stored !== status) missing.push(`dispatch ${id} reported ${status}, stored ${stored ?? 'nothing'}`);
  }
  for (const id of facts.cancels) {
    const s = read(id);
    const notCancelled = s ? s.nodes.filter((n) => !ct.isTerminal(n.status)) : [];
    if (!s || s.dispatch.status !== 'CANCELLED' || notCancelled.length) {
      missing.push(`cancel of ${id} reported, stored ${s?.dispatch.status ?? 'nothing'} with ${notCancelled.length} unfinished tasks`);
    }
  }
  await store.close();
  return missing;
}
