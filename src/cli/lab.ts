import type { Command } from 'commander';
import * as fs from 'fs';
import * as path from 'path';
import { ErrorCodes } from '../errors';
import { LabError } from '../lab/lab-error';
import { packageRoot, startLabServer } from '../lab/lab-server';

/** The example opened first; the kernel issue ships it in examples/. */
const PREFERRED_EXAMPLES = ['cancel-demo.ipynb', 'getting-started.ipynb'];

function parsePort(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 65535) {
    throw new LabError(ErrorCodes.INVALID_ARGUMENT, `--port must be an integer from 1 to 65535, got "${value}".`);
  }
  return n;
}

/** Copy an example notebook into the notebook dir unless one of that name is there. */
function placeExample(notebookDir: string): string | null {
  const examples = path.join(packageRoot(), 'examples');
  const all = fs.existsSync(examples) ? fs.readdirSync(examples).filter(f => f.endsWith('.ipynb')).sort() : [];
  const pick = PREFERRED_EXAMPLES.find(f => all.includes(f)) ?? all[0];
  if (!pick) {
    return null;
  }
  const dest = path.join(notebookDir, pick);
  if (!fs.existsSync(dest)) {
    fs.copyFileSync(path.join(examples, pick), dest);
    process.stderr.write(`covalent-ts: copied the example notebook to ${dest}\n`);
  }
  return pick;
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
      const example = placeExample(notebookDir);
      const server = await startLabServer({ port: opts.port, notebookDir });
      process.stderr.write(
        `covalent-ts: JupyterLab (${server.frontend === 'jupyterlab' ? 'jupyter lab' : 'host app on jupyter_server'}) serving ${notebookDir}; Ctrl-C stops it and its kernels.\n`
      );
      // The URL alone on its own line, so scripts and terminals can pick it up.
      process.stdout.write(`${server.url(example ?? undefined)}\n`);
      await new Promise<void>(resolve => {
        let stopping = false;
        const onSignal = () => {
          if (stopping) {
            return;
          }
          stopping = true;
          process.stderr.write('covalent-ts: stopping the server and its kernels…\n');
          void server.stop().then(resolve, resolve);
        };
        process.on('SIGINT', onSignal);
        process.on('SIGTERM', onSignal);
      });
      process.stderr.write('covalent-ts: stopped.\n');
    });
}
