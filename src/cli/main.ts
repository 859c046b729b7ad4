#!/usr/bin/env node
/**
 * The `covalent-ts` (alias `ct`) command. Each subcommand lives in its own
 * file and registers itself here.
 */
import { Command } from 'commander';
import { registerInstallCommands } from './install';
import { registerLabCommand } from './lab';
import { registerCancelCommand } from './cancel';

export function buildProgram(): Command {
  const program = new Command();
  program
    .name('covalent-ts')
    .description('Workflows on expensive hardware from Jupyter notebooks, with cancellation you can trust.')
    .showHelpAfterError();
  registerInstallCommands(program);
  registerLabCommand(program);
  registerCancelCommand(program);
  return program;
}

if (require.main === module) {
  buildProgram()
    .parseAsync(process.argv)
    .catch((e: unknown) => {
      const err = e as { code?: string; message?: string };
      process.stderr.write(`covalent-ts: ${err.message ?? String(e)}${err.code ? ` [${err.code}]` : ''}\n`);
      process.exit(1);
    });
}
