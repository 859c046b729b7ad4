import type { Command } from 'commander';
import * as fs from 'fs';
import * as path from 'path';
import { ErrorCodes } from '../errors';
import { LabError } from '../lab/lab-error';
import { packageRoot, startLabServer } from '../lab/lab-server';
import { watchParents } from '../process/parent-watch';

/** The example opened first (all of examples/ is copied). */
const PREFERRED_EXAMPLES = ['01-dispatch-and-results.ipynb'];

/** Ctrl-C, `kill`, and a closed terminal all stop the lab and everything it started. */
const STOP_SIGNALS: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];

function parsePort(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 65535) {
    throw new LabError(ErrorCodes.INVALID_ARGUMENT, `--port must be an integer from 1 to 65535, got "${value}".`);
  }
  return n;
}

/**
 * Copy every example notebook into the notebook dir (never over a file of the
 * same name, which may hold the user's edits); returns the one to open first.
 */
function placeExamples(notebookDir: string): string | null {
  const examples = path.join(packageRoot(), 'examples');
  const all = fs.existsSync(examples) ? fs.readdirSync(examples).filter(f => f.endsWith('.ipynb')).sort() : [];
  const copied: string[] = [];
  for (const name of all) {
    const dest = path.join(notebookDir, name);
    if (!fs.existsSync(dest)) {
      fs.copyFileSync(path.join(examples, name), dest);
      copied.push(name);
    }
  }
  if (copied.length) {
    process.stderr.write(`covalent-ts: copied example notebooks to ${notebookDir}: ${copied.join(', ')}\n`);
  }
  return PREFERRED_EXAMPLES.find(f => all.includes(f)) ?? all[0] ?? null;
}

/** Resolves when it is time to stop: a signal, or the loss of whoever started us. */
function stopRequested(): Promise<string> {
  return new Promise(resolve => {
    // A closed terminal makes writes fail (EIO/EPIPE): that must not crash us before we clean up.
    process.stdout.on('error', () => undefined);
    process.stderr.on('error', () => undefined);
    for (const sig of STOP_SIGNALS) process.once(sig, () => resolve(sig));
    watchParents(() => resolve('the parent process exited'));
  });
}

/** `lab`: start a notebook environment with our kernel and extension (extension issue). */
export function registerLabCommand(program: Command): void {
  program
    .command('lab')
    .description('Start JupyterLab on 127.0.0.1 with the covalent-ts kernel and extension, opening an example notebook.')
    .option('--port <n>', 'port to serve on', parsePort, 8888)
    .option('--notebook-dir <dir>', 'directory to serve notebooks from', process.cwd())
    .action(async (opts: { port: number; notebookDir: string }) => {
      const notebookDir = path.resolve(opts.notebookDir);
      fs.mkdirSync(notebookDir, { recursive: true });
      const example = placeExamples(notebookDir);
      // Listen before the (slow) start, so a signal during start-up is not lost.
      const stop = stopRequested();
      const server = await startLabServer({ port: opts.port, notebookDir });
      process.stderr.write(
        `covalent-ts: JupyterLab (${server.frontend === 'jupyterlab' ? 'jupyter lab' : 'host app on jupyter_server'}) serving ${notebookDir}; Ctrl-C stops it and its kernels.\n`
      );
      // The URL alone on its own line, so scripts and terminals can pick it up.
      process.stdout.write(`${server.url(example ?? undefined)}\n`);
      const why = await stop;
      process.stderr.write(`covalent-ts: stopping the server and its kernels (${why})…\n`);
      await server.stop();
      process.stderr.write('covalent-ts: stopped.\n');
    });
}
