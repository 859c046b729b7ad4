import type { Database, Statement } from 'sql.js';
import type { RowSource } from './journal-entries';
import { DISPATCHES, encodeRow, NODES, upsertUnlessTerminalSql } from './row-codec';
import type { ValueFiles } from './value-files';

const UPSERT_DISPATCH = upsertUnlessTerminalSql(DISPATCHES);
const UPSERT_NODE = upsertUnlessTerminalSql(NODES);

/**
 * Writes rows of a dispatch this process runs, from its live state, into a
 * database: large values go to their files, and a row already terminal in
 * the database is never overwritten. Prepared once per batch; `free()`
 * before the database is exported.
 */
export class RowWriter {
  private readonly upDispatch: Statement;
  private readonly upNode: Statement;
  private readonly now = new Date().toISOString();

  constructor(
    db: Database,
    private readonly values: ValueFiles,
  ) {
    this.upDispatch = db.prepare(UPSERT_DISPATCH);
    this.upNode = db.prepare(UPSERT_NODE);
  }

  dispatch(dispatchId: string, source: RowSource): void {
    const d = source.dispatchRow();
    const result = d.resultRef ? { inline: null, ref: d.resultRef } : this.values.place(dispatchId, 'result', d.result);
    this.upDispatch.run(encodeRow(DISPATCHES, d, { result: result.inline, result_ref: result.ref, updated_at: this.now }) as any[]);
  }

  node(dispatchId: string, source: RowSource, nodeId: number): void {
    const n = source.nodeRow(nodeId);
    const output = n.outputRef ? { inline: null, ref: n.outputRef } : this.values.place(dispatchId, `node-${nodeId}`, n.output);
    this.upNode.run(encodeRow(NODES, n, { dispatch_id: dispatchId, output: output.inline, output_ref: output.ref }) as any[]);
  }

  free(): void {
    this.upDispatch.free();
    this.upNode.free();
  }
}
