import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { tempDir, waitFor } from '../../support/wait';

export const root = path.resolve(__dirname, '../../..');
export const cli = path.join(root, 'dist/src/cli/main.js');
const lib = path.join(root, 'dist/src/index.js');

/** Run the built `covalent-ts` with this store, piped (not a terminal). */
export function ct(home: string, args: string[], env: NodeJS.ProcessEnv = {}) {
  return spawnSync(process.execPath, [cli, ...args], { env: { ...process.env, CT_HOME: home, ...env }, encoding: 'utf8', timeout: 120_000 });
}

/** Run it asynchronously (for commands that run at the same time as others). */
export function ctAsync(home: string, args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [cli, ...args], { env: { ...process.env, CT_HOME: home }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d) => (stdout += d));
    p.stderr.on('data', (d) => (stderr += d));
    p.on('exit', (status) => resolve({ status, stdout, stderr }));
  });
}

/**
 * A separate Node process using the built library, like a notebook kernel:
 * `body` runs in an async function with `ct` and `emit(value)` (one JSON line
 * on stdout). Resolves once it has emitted `lines` lines.
 */
export async function owner(home: string, body: string, lines = 1): Promise<{ proc: ChildProcess; out: unknown[]; exited: Promise<number | null> }> {
  const file = path.join(tempDir('ct-owner-'), 'owner.js');
  fs.writeFileSync(
    file,
    `const ct = require(${JSON.stringify(lib)});
     const emit = (v) => process.stdout.write(JSON.stringify(v) + '\\n');
     (async () => {\n${body}\n})().catch((e) => { console.error(e); process.exit(1); });`,
  );
  const proc = spawn(process.execPath, [file], { env: { ...process.env, CT_HOME: home }, stdio: ['ignore', 'pipe', 'inherit'] });
  const exited = new Promise<number | null>((r) => proc.on('exit', r));
  const out: unknown[] = [];
  let buf = '';
  proc.stdout!.on('data', (d) => {
    buf += d;
    let i;
    while ((i = buf.indexOf('\n')) >= 0) {
      out.push(JSON.parse(buf.slice(0, i)));
      buf = buf.slice(i + 1);
    }
  });
  await waitFor(`the owner process to report ${lines} line(s)`, () => out.length >= lines || proc.exitCode !== null, 60_000);
  if (out.length < lines) throw new Error(`owner exited early with ${proc.exitCode}`);
  return { proc, out, exited };
}

/** Run a command in a pseudo-terminal (`script`), as a person at a terminal would. */
export function inTerminal(home: string, args: string[], env: NodeJS.ProcessEnv = {}) {
  const command = [process.execPath, cli, ...args].map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
  return spawnSync('script', ['-qefc', command, '/dev/null'], {
    env: { ...process.env, CT_HOME: home, TERM: 'xterm', COLUMNS: '200', ...env },
    encoding: 'utf8',
    timeout: 120_000,
  });
}

/**
 * A dispatch left behind by a process that died: `body` dispatches, makes
 * its state durable and emits the id; then the process is SIGKILLed.
 */
export async function orphanedBy(home: string, body: string): Promise<{ id: string; pid: number }> {
  const o = await owner(home, `${body}\nawait ct.getDispatcher().flush();\nemit(id);\nawait new Promise(() => {});`);
  o.proc.kill('SIGKILL');
  await o.exited;
  return { id: o.out[0] as string, pid: o.proc.pid! };
}
