import type { Command } from 'commander';
import * as readline from 'node:readline';
import { isTerminal } from '../protocol/status';
import type { Store } from '../store/store';
import { openStore, readDispatchByPrefix, type StoredDispatch } from './cli-store';
import {
  countsOf, dispatchRecord, formatCounts, formatDuration, formatHandle, formatOwner, formatTime, nodeRecord,
  type DispatchRecord, type NodeRecord,
} from './dispatch-views';
import { outputFor, paintStatus, renderJson, renderTable, type Column, type Output } from './output';

const NODE_COLUMNS: Column<NodeRecord>[] = [
  { header: 'ID', text: (n) => String(n.id), align: 'right' },
  { header: 'NAME', text: (n) => n.name },
  { header: 'EXECUTOR', text: (n) => n.executor || (n.kind === 'sublattice' ? 'sublattice' : '-') },
  { header: 'STATUS', text: (n) => n.status, paint: (t, _n, out) => paintStatus(t, out) },
  { header: 'STARTED', text: (n) => formatTime(n.startedAt) },
  { header: 'DURATION', text: (n) => formatDuration(n.durationMs), align: 'right' },
  { header: 'JOB', text: (n) => formatHandle(n.jobHandle) },
  { header: 'CANCEL', text: (n) => n.cancelOutcome ?? (n.cancelRequested ? 'requested' : '-') },
  {
    header: 'DETAIL',
    text: (n) =>
      [
        n.reusedFrom && `reused from ${n.reusedFrom}`,
        n.error,
        n.cancelReason && `reason: ${n.cancelReason}`,
        n.cancelDetail,
        n.limitWarning && `warning: ${n.limitWarning}`,
        n.cost !== null && `cost: ${n.cost.toFixed(2)}`,
      ].filter(Boolean).join('; '),
  },
];

export interface StatusView {
  dispatch: DispatchRecord;
  nodes: NodeRecord[];
}

export function statusView(s: StoredDispatch, now = Date.now()): StatusView {
  return { dispatch: dispatchRecord(s.dispatch, countsOf(s.nodes), s.imported, now), nodes: s.nodes.map((n) => nodeRecord(n, now)) };
}

/** The text form: a few `key: value` lines about the dispatch, then its node table. */
export function renderStatus(view: StatusView, out: Output): string {
  const d = view.dispatch;
  const lines = [
    `Dispatch ${d.id} (${d.name})`,
    `  status:   ${paintStatus(d.status, out)}${d.owner.orphaned ? out.color.red(' (orphaned: its process is gone, it cannot finish; `covalent-ts cancel` stops its jobs)') : ''}`,
    `  owner:    ${formatOwner(d)}`,
    `  started:  ${formatTime(d.startedAt)}   duration: ${formatDuration(d.durationMs)}`,
    `  tasks:    ${formatCounts(d.counts) || 'none'}`,
  ];
  if (d.importedFrom) lines.push(`  imported: read-only, exported by ${d.importedFrom.user ?? 'someone'} on ${d.importedFrom.host} at ${formatTime(d.importedFrom.exportedAt)} (${d.importedFrom.file})`);
  if (d.parentDispatchId) lines.push(`  parent:   ${d.parentDispatchId}`);
  if (d.redispatchOf) lines.push(`  redispatch of: ${d.redispatchOf} (${view.nodes.filter((n) => n.reusedFrom).length} of ${view.nodes.length} tasks reused)`);
  if (d.cost !== null) lines.push(`  cost:     ${d.cost.toFixed(2)} (estimated)`);
  if (d.limitWarning) lines.push(out.color.red(`  warning:  ${d.limitWarning}`));
  if (d.error) lines.push(`  error:    ${d.error}`);
  // Piped: the node table alone after a blank line, so `tail -n +8 | cut -f4` style scripts work.
  return lines.join('\n') + '\n\n' + renderTable(out, NODE_COLUMNS, view.nodes);
}

/** A dispatch that can change no more: finished, orphaned, or an imported record. */
function settled(v: StatusView): boolean {
  return isTerminal(v.dispatch.status) || v.dispatch.owner.orphaned || v.dispatch.importedFrom !== null;
}

async function watch(store: Store, home: string, id: string, out: Output, json: boolean): Promise<void> {
  let stop = false;
  let shown = 0;
  let wake: () => void = () => undefined;
  const onInt = () => {
    stop = true;
    wake();
  };
  // Ctrl-C ends the watching only: the dispatch runs in another process and goes on.
  process.on('SIGINT', onInt);
  try {
    let previous = '';
    for (;;) {
      const view = statusView(readDispatchByPrefix(store, home, id));
      const text = json ? JSON.stringify(view) + '\n' : renderStatus(view, out);
      if (out.tty && !json) {
        if (shown) {
          readline.moveCursor(process.stdout, 0, -shown);
          readline.clearScreenDown(process.stdout);
        }
        process.stdout.write(text);
        shown = text.split('\n').length - 1;
      } else if (text !== previous) {
        // Piped: a new record only when something changed (JSON: one line per state).
        process.stdout.write(json || !previous ? text : '\n' + text);
      }
      previous = text;
      if (settled(view) || stop) break;
      await new Promise<void>((r) => {
        const t = setTimeout(r, 500);
        wake = () => (clearTimeout(t), r());
      });
      if (stop) break;
    }
    if (stop) {
      process.stderr.write(`covalent-ts: stopped watching; dispatch ${id} goes on (\`covalent-ts cancel ${id}\` stops it).\n`);
      process.exitCode = 130;
    }
  } finally {
    process.off('SIGINT', onInt);
  }
}

export function registerStatusCommand(program: Command): void {
  program
    .command('status')
    .description('Show a dispatch and its tasks: status, executor, timings, job handles and cancel outcomes.')
    .argument('<id>', 'dispatch id, or a unique prefix of one')
    .option('--json', 'print { "dispatch": {...}, "nodes": [...] } as JSON (fields in the README)')
    .option('-w, --watch', 'redraw until the dispatch ends (Ctrl-C stops watching, never the dispatch)')
    .addHelpText(
      'after',
      `
Examples:
  $ covalent-ts status 3f2a91c0
  $ covalent-ts status 3f2a --watch
  $ covalent-ts status 3f2a --json | jq '.nodes[] | select(.status == "RUNNING") | .jobHandle'`,
    )
    .action(async (id: string, opts: { json?: boolean; watch?: boolean }) => {
      const { store, home } = await openStore();
      const out = outputFor();
      const first = readDispatchByPrefix(store, home, id);
      if (opts.watch) return watch(store, home, first.dispatch.dispatchId, out, opts.json === true);
      const view = statusView(first);
      process.stdout.write(opts.json ? renderJson(view) : renderStatus(view, out));
    });
}
