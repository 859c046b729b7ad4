import { type Command, InvalidArgumentError } from 'commander';

function taskId(value: string, previous: number[] = []): number[] {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError(`"${value}" is not a task id (a non-negative integer).`);
  return [...previous, n];
}

/**
 * `covalent-ts cancel <dispatchId> [--task N ...] [--reason TEXT]`: cancel
 * from a terminal. A dispatch still running in another process (a notebook
 * kernel) is cancelled by that process, through the shared store.
 */
export function registerCancelCommand(program: Command): void {
  program
    .command('cancel')
    .description('Cancel a dispatch, or some of its tasks, from any process that shares the store (CT_HOME).')
    .argument('<dispatchId>', 'the id ct.dispatch returned')
    .option('-t, --task <id>', 'cancel this task and everything downstream (repeatable)', taskId)
    .option('-r, --reason <text>', 'why; stored with the tasks and shown in the graph')
    .option('--json', 'print the report as JSON')
    .action(async (dispatchId: string, opts: { task?: number[]; reason?: string; json?: boolean }) => {
      const ct = await import('../index');
      try {
        const report = await ct.getDispatcher().cancel(dispatchId, {
          taskIds: opts.task,
          reason: opts.reason,
          source: 'external',
        });
        process.stdout.write(opts.json ? JSON.stringify(report.toJSON(), null, 2) + '\n' : report.toString() + '\n');
        // Exit 3 when some kill could not be confirmed, so scripts do not mistake it for success.
        process.exitCode = report.confirmed ? 0 : 3;
      } finally {
        await ct.shutdown();
      }
    });
}
