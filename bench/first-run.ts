/**
 * The first ten minutes, timed: `npm start` to the printed URL, cold (every
 * build step re-run: the content stamps removed; dependencies installed) and
 * warm (nothing changed), and a user's path from the package tarball to the
 * first executed cell (npm install, `covalent-ts install --prefix`, a kernel
 * started by jupyter_client runs a dispatch).
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { packageRoot } from '../src/lab/lab-server';
import { freePort } from '../test/e2e/support/lab-session';
import { startLabCli } from '../test/e2e/support/lab-cli';
import type { BenchRow } from './bench-util';

const ROOT = packageRoot();
const STAMPS = path.join(ROOT, 'node_modules', '.cache', 'covalent-ts-build');

async function npmStartToUrl(notebookDir: string): Promise<number> {
  const started = Date.now();
  const lab = await startLabCli(['start', '--', '--port', String(await freePort()), '--notebook-dir', notebookDir], {
    command: 'npm',
    cwd: ROOT,
    timeoutMs: 600000,
  });
  const ms = Date.now() - started;
  lab.child.kill('SIGTERM');
  await lab.exited;
  lab.kill();
  return ms;
}

function timed(what: string, cmd: string, args: string[], opts: { cwd: string; env?: NodeJS.ProcessEnv; input?: string }): { ms: number; stdout: string } {
  const started = Date.now();
  const r = spawnSync(cmd, args, { cwd: opts.cwd, env: { ...process.env, ...opts.env }, input: opts.input, encoding: 'utf8', timeout: 600000 });
  if (r.status !== 0) throw new Error(`${what} failed: ${r.stderr?.slice(-2000)}`);
  return { ms: Date.now() - started, stdout: r.stdout };
}

function tarballToFirstCell(): BenchRow[] {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'ct-bench-first-'));
  try {
    const pack = timed('npm pack', 'npm', ['pack', '--json', '--pack-destination', work], { cwd: ROOT });
    const tarball = path.join(work, JSON.parse(pack.stdout.slice(pack.stdout.indexOf('[')))[0].filename);
    const app = path.join(work, 'app');
    fs.mkdirSync(app);
    const prefix = path.join(work, 'prefix');
    const install = timed('npm install', 'npm', ['install', '--no-audit', '--no-fund', tarball], { cwd: app });
    const kernelspec = timed('covalent-ts install', 'npx', ['covalent-ts', 'install', '--prefix', prefix], { cwd: app });
    const cell = `import * as ct from 'covalent-ts';
const add = ct.electron((a: number, b: number) => a + b);
const flow = ct.lattice((x: number) => add(x, 1));
const r = await ct.getResult(await ct.dispatch(flow)(41), { wait: true });
console.log(r.status, r.result);`;
    const run = timed('first cell', '/usr/bin/python3', [path.join(ROOT, 'test', 'e2e', 'support', 'run_kernelspec_cell.py'), 'covalent-ts', app], {
      cwd: app,
      input: cell,
      env: { JUPYTER_PATH: path.join(prefix, 'share', 'jupyter'), CT_HOME: path.join(work, 'ct-home') },
    });
    const result = JSON.parse(run.stdout);
    if (result.status !== 'ok') throw new Error(`the first cell failed: ${result.error}`);
    return [
      { name: 'tarball: npm install <tarball> in an empty folder', value: install.ms, unit: 'ms' },
      { name: 'tarball: covalent-ts install --prefix', value: kernelspec.ms, unit: 'ms' },
      { name: 'tarball: kernel start + first cell (dispatch) executed', value: run.ms, unit: 'ms' },
      { name: 'tarball: install to first cell executed, total', value: install.ms + kernelspec.ms + run.ms, unit: 'ms' },
    ];
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}

export async function runFirstRunBenchmarks(): Promise<BenchRow[]> {
  const notebookDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ct-bench-start-'));
  try {
    fs.rmSync(STAMPS, { recursive: true, force: true });
    const cold = await npmStartToUrl(notebookDir);
    const warm: number[] = [];
    for (let i = 0; i < 3; i++) warm.push(await npmStartToUrl(notebookDir));
    warm.sort((a, b) => a - b);
    return [
      { name: 'npm start to URL, cold (every build step re-run)', value: cold, unit: 'ms' },
      { name: 'npm start to URL, warm (nothing changed), median of 3', value: warm[1], unit: 'ms', target: '<= 5000' },
      ...tarballToFirstCell(),
    ];
  } finally {
    fs.rmSync(notebookDir, { recursive: true, force: true });
  }
}
