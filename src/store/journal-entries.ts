import type { JournalEntry } from './journal';
import type { DispatchRow, NodeRow } from './schema';

/** Where a dispatch's rows come from when the store writes them (the dispatcher's live state). */
export interface RowSource {
  dispatchRow(): DispatchRow;
  nodeRow(nodeId: number): NodeRow;
  nodeCount(): number;
}

const b64 = (b: Uint8Array | null): string | null => (b ? Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('base64') : null);

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
    { t: 'dispatch', row: { ...d, ownerStartTime: d.ownerStartTime ?? null, result: b64(d.result), inputs: b64(d.inputs ?? null) } },
    { t: 'graph', dispatchId: d.dispatchId, names, kinds, config, configs, labels, label, dependsOn, reuseKeys, reusedFrom },
  ];
}

/** What is known about one node now, as a journal entry. */
export function nodeEntry(dispatchId: string, n: NodeRow): JournalEntry {
  return {
    t: 'node',
    dispatchId,
    nodeId: n.nodeId,
    status: n.status,
    startedAt: n.startedAt,
    completedAt: n.completedAt,
    output: n.outputRef ? null : b64(n.output),
    outputRef: n.outputRef ?? null,
    error: n.error,
    cancelRequested: n.cancelRequested,
    cancelReason: n.cancelReason,
    cancelSource: n.cancelSource,
    cancelOutcome: n.cancelOutcome,
    cancelDetail: n.cancelDetail,
    jobHandle: n.jobHandle,
    subDispatchId: n.subDispatchId,
    cost: n.cost ?? null,
    limitWarning: n.limitWarning ?? null,
  };
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
    result: resultRef ? null : b64(d.result),
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
