#!/usr/bin/env node
/**
 * The `covalent-ts` (alias `ct`) command. Each subcommand lives in its own
 * file and registers itself here.
 */
import { Command } from 'commander';
import { registerInstallCommands } from './install';
import { registerLabCommand } from './lab';
import { registerCancelCommand } from './cancel';
import { registerListCommand } from './list';
import { registerStatusCommand } from './status';
import { registerTransferCommands } from './transfer';
import { registerLogsCommand } from './logs';
import { cliFailure, EXIT_CODES_HELP } from './exit-codes';
import { registerRunTaskCommand } from './run-task';

export function buildProgram(): Command {
  const program = new Command();
  program
    .name('covalent-ts')
    .description('Workflows on expensive hardware from Jupyter notebooks, with cancellation you can trust.')
    // Parser errors are thrown (not printed and exited) so they are reported like every other error,
    // with a CT_ code and exit 2. Set before the subcommands: they inherit it.
    .exitOverride(function (this: Command, err) {
      // Called on the command that failed: remember which, so the hint names its --help.
      throw Object.assign(err, { commandPath: commandPath(this) });
    })
    .configureOutput({ outputError: () => undefined })
    .addHelpText('afterAll', `\n${EXIT_CODES_HELP}`);
  registerInstallCommands(program);
  registerLabCommand(program);
  registerListCommand(program);
  registerStatusCommand(program);
  registerCancelCommand(program);
  registerTransferCommands(program);
  registerRunTaskCommand(program);
  registerLogsCommand(program);
  return program;
}

function commandPath(cmd: Command): string {
  const names: string[] = [];
  for (let c: Command | null = cmd; c; c = c.parent) names.unshift(c.name());
  return names.join(' ');
}

/** Run the command line; resolves with the exit code. */
export async function runCli(argv: string[]): Promise<number> {
  try {
    await buildProgram().parseAsync(argv);
    return Number(process.exitCode ?? 0);
  } catch (e) {
    const failure = cliFailure(e);
    if (!failure) return 0;
    process.stderr.write(`covalent-ts: ${failure.message} [${failure.code}]\n`);
    return failure.exitCode;
  }
}

if (require.main === module) {
  void runCli(process.argv).then((code) => {
    // A failure ends the process even if something (a pooled connection) would keep it alive.
    if (code !== 0) process.exit(code);
  });
}
