import { type Command, InvalidArgumentError } from 'commander';
import { importRecords } from '../store/imported';
import { Status } from '../workflow/status';
import { openStore, positiveInteger } from './cli-store';
import { dispatchRecord, formatCounts, formatDuration, formatOwner, formatTime, type DispatchRecord } from './dispatch-views';
import { outputFor, paintStatus, renderJson, renderTable, type Column } from './output';

const STATUSES = [...Object.values(Status), 'ORPHANED'];

function statusFilter(value: string, previous: string[] = []): string[] {
  const wanted = value.split(',').map((s) => s.trim().toUpperCase()).filter(Boolean);
  const bad = wanted.filter((s) => !STATUSES.includes(s));
  if (bad.length || !wanted.length) throw new InvalidArgumentError(`"${value}" is not a status; use one of ${STATUSES.join(', ')} (comma-separated for several).`);
  return [...previous, ...wanted];
}

/** Columns of `covalent-ts list` (TSV headers are the same words). */
export function listColumns(tty: boolean): Column<DispatchRecord>[] {
  return [
    // On a terminal the first 8 characters are enough (any unique prefix is accepted).
    { header: 'ID', text: (r) => (tty ? r.id.slice(0, 8) : r.id) },
    { header: 'NAME', text: (r) => r.name },
    { header: 'STATUS', text: (r) => r.status, paint: (t, _r, out) => paintStatus(t, out) },
    { header: 'OWNER', text: (r) => formatOwner(r), paint: (t, r, out) => (r.owner.orphaned ? out.color.red(t) : t) },
    { header: 'STARTED', text: (r) => formatTime(r.startedAt) },
    { header: 'DURATION', text: (r) => formatDuration(r.durationMs), align: 'right' },
    { header: 'TASKS', text: (r) => formatCounts(r.counts) },
    // Lineage: which dispatch a redispatch was made from.
    { header: 'REDISPATCH OF', text: (r) => (r.redispatchOf ? (tty ? r.redispatchOf.slice(0, 8) : r.redispatchOf) : '-') },
  ];
}

export function registerListCommand(program: Command): void {
  program
    .command('list')
    .description('List recent dispatches of this store (CT_HOME), newest first.')
    .option('-s, --status <status>', `only these statuses (${STATUSES.join(', ')}; comma-separated or repeated)`, statusFilter)
    .option('-n, --limit <n>', 'at most this many rows', positiveInteger('--limit'), 20)
    .option('-a, --all', 'every dispatch: no row limit, sublattice dispatches included')
    .option('--json', 'print { "dispatches": [...] } as JSON (fields in the README)')
    .addHelpText(
      'after',
      `
Examples:
  $ covalent-ts list                      the 20 newest top-level dispatches
  $ covalent-ts list --status running     what is running (and may be costing money)
  $ covalent-ts list --status orphaned    unfinished dispatches whose process is gone
  $ covalent-ts list --all --json | jq '.dispatches[].id'`,
    )
    .action(async (opts: { status?: string[]; limit: number; all?: boolean; json?: boolean }) => {
      const { store, home } = await openStore();
      const imports = importRecords(home);
      const counts = store.nodeStatusCounts();
      const now = Date.now();
      const rows = store.listDispatchRows().reverse();
      const out: DispatchRecord[] = [];
      for (const row of rows) {
        if (!opts.all && row.parentDispatchId) continue;
        const rec = dispatchRecord(row, counts.get(row.dispatchId) ?? {}, imports.get(row.dispatchId) ?? null, now);
        if (opts.status && !opts.status.includes(rec.status) && !(rec.owner.orphaned && opts.status.includes('ORPHANED'))) continue;
        out.push(rec);
        if (!opts.all && out.length >= opts.limit) break;
      }
      const o = outputFor();
      process.stdout.write(opts.json ? renderJson({ dispatches: out }) : renderTable(o, listColumns(o.tty), out));
    });
}
