import type { JournalEntry, NodeFacts } from './journal';
import { NODE_FACTS } from './journal-apply';
import { column, DISPATCHES, NODES, rowToJson, toJson, type DispatchRow, type NodeRow } from './row-codec';

/** Where a dispatch's rows come from when the store writes them (the dispatcher's live state). */
export interface RowSource {
  dispatchRow(): DispatchRow;
  nodeRow(nodeId: number): NodeRow;
  nodeCount(): number;
}

const RESULT = column(DISPATCHES, 'result');
const FACT_COLUMNS = NODE_FACTS.map((f) => column(NODES, f));

/** The entries that make a new dispatch durable: its row, and its nodes column-wise. */
export function creationEntries(source: RowSource): JournalEntry[] {
  const d = source.dispatchRow();
  const count = source.nodeCount();
  const names: string[] = new Array(count);
  const kinds: string[] = new Array(count);
  const config: number[] = new Array(count);
  const label: number[] = new Array(count);
  const dependsOn: number[][] = new Array(count);
  const reuseKeys: Array<string | null> = new Array(count);
  const reusedFrom: Array<string | null> = new Array(count);
  const configs: Array<string | null> = [];
  const labels: string[] = [];
  const configIndex = new Map<string | null, number>();
  const labelIndex = new Map<string, number>();
  for (let i = 0; i < count; i++) {
    const n = source.nodeRow(i);
    names[i] = n.name;
    kinds[i] = n.kind;
    dependsOn[i] = n.dependsOn;
    reuseKeys[i] = n.reuseKey ?? null;
    reusedFrom[i] = n.reusedFrom ?? null;
    let c = configIndex.get(n.executorConfig);
    if (c === undefined) configIndex.set(n.executorConfig, (c = configs.push(n.executorConfig) - 1));
    config[i] = c;
    const l = n.executorLabel ?? '';
    let li = labelIndex.get(l);
    if (li === undefined) labelIndex.set(l, (li = labels.push(l) - 1));
    label[i] = li;
  }
  return [
    { t: 'dispatch', row: rowToJson(DISPATCHES, d) },
    { t: 'graph', dispatchId: d.dispatchId, names, kinds, config, configs, labels, label, dependsOn, reuseKeys, reusedFrom },
  ];
}

/**
 * What is known about one node now, as a journal entry: its facts (see
 * NODE_MERGE_RULES), the empty ones left out. An output already in a file is
 * named, not repeated.
 */
export function nodeEntry(dispatchId: string, n: NodeRow): JournalEntry {
  const facts: Record<string, unknown> = {};
  for (const c of FACT_COLUMNS) {
    const v = c.field === 'output' && n.outputRef ? null : n[c.field as keyof NodeRow];
    if (v !== null && v !== undefined && v !== false) facts[c.field!] = toJson(c, v);
  }
  return { t: 'node', dispatchId, nodeId: n.nodeId, ...(facts as NodeFacts) };
}

/** A dispatch's terminal state (with its result), as a journal entry. */
export function dispatchFinalEntry(d: DispatchRow, resultRef: string | null): JournalEntry {
  return {
    t: 'dispatch-final',
    dispatchId: d.dispatchId,
    nodeIds: [],
    status: d.status,
    error: d.error,
    at: d.completedAt ?? new Date().toISOString(),
    result: resultRef ? null : (toJson(RESULT, d.result) as string | null),
    resultRef,
    cost: d.cost ?? null,
    limitWarning: d.limitWarning ?? null,
  };
}

/** The dispatch an entry is about (undefined for the file header). */
export function entryDispatchId(e: JournalEntry): string | undefined {
  if (e.t === 'writer') return undefined;
  if (e.t === 'dispatch') return e.row.dispatchId;
  return e.dispatchId;
}
