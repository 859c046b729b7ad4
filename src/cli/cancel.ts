import { type Command, InvalidArgumentError } from 'commander';
import { SingleBar, Presets } from 'cli-progress';
import { assertNotImported } from '../store/imported';
import { isOrphaned } from '../dispatcher/dispatch-owner';
import type { Store } from '../store/store';
import { isTerminal } from '../protocol/status';
import { openStore, readDispatchByPrefix } from './cli-store';
import { ExitCodes } from './exit-codes';
import { outputFor, paintStatus, renderJson, renderTable } from './output';
import type { CancelReport } from '../dispatcher/cancel-report';
import type { CancelTaskReport } from '../protocol/messages';

/** `--task 1,3,5` and `--task 1 --task 3` both work. */
function taskIds(value: string, previous: number[] = []): number[] {
  const ids = value.split(',').map((s) => s.trim());
  for (const s of ids) {
    if (!/^\d+$/.test(s)) throw new InvalidArgumentError(`"${s}" is not a task id (a whole number >= 0; \`covalent-ts status <id>\` lists them).`);
  }
  return [...previous, ...ids.map(Number)];
}

interface CancelFlags {
  task?: number[];
  reason?: string;
  json?: boolean;
  identity?: string;
  abandon?: boolean;
}

/**
 * While the owner (or this process, for an orphan) confirms the kills, a
 * bar on stderr counts the tasks that reached a final state. It reads the
 * shared store, so it works whoever does the killing.
 */
function showProgress(store: Store, home: string, id: string, targets: number[]): () => void {
  if (!process.stderr.isTTY || targets.length === 0) return () => undefined;
  const bar = new SingleBar(
    { format: 'Stopping tasks [{bar}] {value}/{total} stopped', stream: process.stderr, hideCursor: true, clearOnComplete: true },
    Presets.shades_classic,
  );
  bar.start(targets.length, 0);
  const wanted = new Set(targets);
  const timer = setInterval(() => {
    try {
      const { nodes } = readDispatchByPrefix(store, home, id);
      bar.update(nodes.filter((n) => wanted.has(n.nodeId) && isTerminal(n.status)).length);
    } catch {
      // The store is being rewritten: the next tick reads it.
    }
  }, 200);
  return () => {
    clearInterval(timer);
    bar.stop();
  };
}

function renderReport(report: CancelReport): string {
  const out = outputFor();
  const head = `Cancel of dispatch ${report.dispatchId}: ${report.confirmed ? 'every task is stopped' : out.color.red('some kills are NOT confirmed: those jobs may still be running')}\n`;
  const table = renderTable<CancelTaskReport>(out, [
    { header: 'ID', text: (t) => String(t.nodeId), align: 'right' },
    { header: 'NAME', text: (t) => t.name },
    { header: 'OUTCOME', text: (t) => t.outcome, paint: (s, _t, o) => (s === 'kill_unconfirmed' ? o.color.red(s) : s) },
    { header: 'BEFORE', text: (t) => t.statusBefore },
    { header: 'AFTER', text: (t) => t.statusAfter, paint: (s, _t, o) => paintStatus(s, o) },
    { header: 'DETAIL', text: (t) => t.detail ?? (t.downstreamOf?.length ? `downstream of ${t.downstreamOf.join(', ')}` : '') },
  ], report.tasks);
  return head + table;
}

/**
 * `covalent-ts cancel <id> [--task 1,3 ...] [--reason TEXT] [--identity FILE] [--json]`:
 * cancel from a terminal. A dispatch still running in another process (a
 * notebook kernel) is cancelled by that process, through the shared store;
 * one whose process is gone is cancelled here, from its stored job handles.
 */
export function registerCancelCommand(program: Command): void {
  program
    .command('cancel')
    .description('Cancel a dispatch, or some of its tasks, from any process that shares the store (CT_HOME).')
    .argument('<id>', 'dispatch id (what ct.dispatch returned), or a unique prefix of one')
    .option('-t, --task <ids>', 'cancel these tasks and everything downstream: 1,3,5 or repeated', taskIds)
    .option('-r, --reason <text>', 'why; stored with the tasks and shown in the graph')
    .option('-i, --identity <file>', 'SSH private key for the hosts of an orphaned dispatch (an encrypted key\'s passphrase is asked for on the terminal)')
    .option('--abandon', 'orphans only: retry each kill, then give up on those that cannot be confirmed (the host is gone): they end CANCELLED, recorded as kill_unconfirmed and abandoned by you')
    .option('--json', 'print the cancel report as JSON')
    .addHelpText(
      'after',
      `
Examples:
  $ covalent-ts cancel 3f2a91c0                       the whole dispatch
  $ covalent-ts cancel 3f2a --task 1,3 --reason "wrong parameters"
  $ covalent-ts cancel 3f2a --identity ~/.ssh/id_ed25519   an orphan whose SSH key was never stored
  $ covalent-ts cancel 3f2a --abandon                 an orphan whose host was wiped: stop waiting for its kills

A dispatch running in another process is cancelled by that process; one whose
process is gone (orphaned) is cancelled here from its stored job handles.
Exit code 3 means a kill could not be confirmed: that job may still be running.`,
    )
    .action(async (idOrPrefix: string, opts: CancelFlags) => {
      const ct = await import('../index');
      const { store, home } = await openStore();
      try {
        const stored = readDispatchByPrefix(store, home, idOrPrefix);
        const id = stored.dispatch.dispatchId;
        assertNotImported(home, id);
        // An orphan is cancelled by this process: it must be able to reach the jobs' hosts first.
        if (isOrphaned(stored.dispatch)) {
          // Loaded only here: ssh2 is a heavy start-up cost for every other use of the command.
          const { askHidden, prepareSSHCredentials, sshLoginsOf } = await import('./ssh-credentials');
          const interactive = process.stdin.isTTY === true && process.stderr.isTTY === true;
          try {
            await prepareSSHCredentials(sshLoginsOf(stored.nodes), { identityFile: opts.identity, interactive, askPassphrase: askHidden });
          } catch (e) {
            // Giving up is allowed without the key: the kill is tried, fails, and is recorded as abandoned.
            if (!(opts.abandon && (e as { code?: string }).code === 'CT_CREDENTIALS_REQUIRED')) throw e;
          }
        }
        const targets = (opts.task ?? stored.nodes.map((n) => n.nodeId)).filter((t) => stored.nodes[t] && !isTerminal(stored.nodes[t].status));
        const stopProgress = opts.json ? () => undefined : showProgress(store, home, id, targets);
        let report: CancelReport;
        try {
          report = await ct.getDispatcher().cancel(id, { taskIds: opts.task, reason: opts.reason, source: 'external', abandon: opts.abandon === true });
        } finally {
          stopProgress();
        }
        process.stdout.write(opts.json ? renderJson(report.toJSON()) : renderReport(report));
        // Exit 3 when some kill could not be confirmed, so scripts do not mistake it for success.
        process.exitCode = report.confirmed ? ExitCodes.OK : ExitCodes.KILL_UNCONFIRMED;
      } finally {
        await ct.shutdown();
      }
    });
}
