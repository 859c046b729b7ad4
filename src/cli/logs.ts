import { type Command, InvalidArgumentError } from 'commander';
import { ErrorCodes, InvalidInputError } from '../errors';
import { readTaskLog, type TaskStream } from '../store/task-logs';
import { openStore, readDispatchByPrefix } from './cli-store';

function taskId(value: string): number {
  if (!/^\d+$/.test(value)) throw new InvalidArgumentError(`"${value}" is not a task id (a whole number >= 0; \`covalent-ts status <id>\` lists them).`);
  return Number(value);
}

function stream(value: string): TaskStream {
  if (value !== 'stdout' && value !== 'stderr') throw new InvalidArgumentError(`--stream is stdout or stderr, got "${value}".`);
  return value;
}

export function registerLogsCommand(program: Command): void {
  program
    .command('logs')
    .description("Print a task's captured output, wherever it ran (local, SSH, Slurm, cloud).")
    .argument('<id>', 'dispatch id, or a unique prefix of one')
    .requiredOption('-t, --task <n>', 'the task (its id in `covalent-ts status`)', taskId)
    .option('-s, --stream <stream>', 'only stdout or only stderr (default: both, each to its own stream)', stream)
    .addHelpText(
      'after',
      `
Examples:
  $ covalent-ts logs 3f2a --task 4
  $ covalent-ts logs 3f2a --task 4 --stream stderr | less

Output is kept as each executor reports it: a local task's as it prints, a remote
task's when it is fetched from the host (when the task ends).`,
    )
    .action(async (idOrPrefix: string, opts: { task: number; stream?: TaskStream }) => {
      const { store, home } = await openStore();
      const { dispatch, nodes } = readDispatchByPrefix(store, home, idOrPrefix);
      const node = nodes[opts.task];
      if (!node) {
        throw new InvalidInputError(
          ErrorCodes.UNKNOWN_TASK,
          `Dispatch ${dispatch.dispatchId} has no task ${opts.task}; its task ids are 0..${nodes.length - 1} (see \`covalent-ts status ${dispatch.dispatchId.slice(0, 8)}\`).`,
        );
      }
      const streams: TaskStream[] = opts.stream ? [opts.stream] : ['stdout', 'stderr'];
      let any = false;
      for (const s of streams) {
        const text = readTaskLog(home, dispatch.dispatchId, opts.task, s);
        if (!text) continue;
        any = true;
        // One stream asked for: it goes to stdout, ready for a pipe.
        (opts.stream || s === 'stdout' ? process.stdout : process.stderr).write(text);
      }
      if (!any) {
        process.stderr.write(
          `covalent-ts: task ${opts.task} (${node.name}, ${node.status}) has no captured ${opts.stream ?? 'output'}` +
            `${node.status === 'RUNNING' ? ' yet (remote output arrives when the task ends)' : ''}.\n`,
        );
      }
    });
}
