import { spawn, type ChildProcess } from 'child_process';
import { randomBytes } from 'crypto';
import * as fs from 'fs';
import * as http from 'http';
import * as path from 'path';
import { KernelClient, type Conn } from '../../../kernel/testing/kernel-client';
import { waitUntil } from './lab-session';

/**
 * `covalent-ts lab` run as a user runs it, with a marker in its environment so
 * the test can find every process of its tree (the CLI, the Jupyter server,
 * kernels, task workers) by the marker rather than by name.
 */
export const CLI = path.resolve(__dirname, '..', '..', '..', 'dist', 'src', 'cli', 'main.js');
export const MARK_ENV = 'CT_E2E_MARK';
const KERNEL_MAIN = path.join('dist', 'kernel', 'main.js');

export interface HttpReply {
  status: number;
  body: string;
}

/** One HTTP request; `token` null sends no Authorization header. */
export function request(method: string, url: string, token: string | null, body?: unknown): Promise<HttpReply> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { 'Content-Type': 'application/json' };
    if (token !== null) headers.Authorization = `token ${token}`;
    const req = http.request(url, { method, headers }, res => {
      let data = '';
      res.on('data', c => (data += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: data }));
    });
    req.on('error', reject);
    req.end(body === undefined ? undefined : JSON.stringify(body));
  });
}

/** Pids of live processes whose environment carries `MARK_ENV=marker`. */
export function markedPids(marker: string): number[] {
  const needle = Buffer.from(`${MARK_ENV}=${marker}\0`);
  return fs
    .readdirSync('/proc')
    .filter(e => /^\d+$/.test(e))
    .filter(e => {
      try {
        const stat = fs.readFileSync(`/proc/${e}/stat`, 'utf8');
        if (/^[ZX]$/.test(stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3))) return false;
        return fs.readFileSync(`/proc/${e}/environ`).includes(needle);
      } catch {
        return false;
      }
    })
    .map(Number);
}

/** argv of a process, as /proc shows it. */
export function cmdline(pid: number): string[] {
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
  } catch {
    return [];
  }
}

export interface LabCli {
  child: ChildProcess;
  marker: string;
  /** The URL line the command printed. */
  url: URL;
  token: string;
  stdout(): string;
  stderr(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** SIGKILL whatever of the tree is left (test clean-up). */
  kill(): void;
}

/**
 * Start `command args` (by default `node dist/src/cli/main.js lab ...`) with the
 * marker and wait for the URL line on stdout.
 */
export async function startLabCli(
  args: string[],
  opts: { command?: string; cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}
): Promise<LabCli> {
  const marker = randomBytes(6).toString('hex');
  const command = opts.command ?? process.execPath;
  const argv = opts.command ? args : [CLI, ...args];
  const child = spawn(command, argv, {
    cwd: opts.cwd,
    env: { ...process.env, ...opts.env, [MARK_ENV]: marker },
    stdio: ['ignore', 'pipe', 'pipe']
  });
  let out = '';
  let err = '';
  child.stdout!.on('data', d => (out += d));
  child.stderr!.on('data', d => (err += d));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>(resolve =>
    child.on('exit', (code, signal) => resolve({ code, signal }))
  );
  const kill = () => {
    for (const pid of [child.pid!, ...markedPids(marker)]) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
  };
  const line = () => out.split('\n').find(l => /^http:\/\/127\.0\.0\.1:\d+\//.test(l));
  if (!(await waitUntil(() => !!line() || child.exitCode !== null, opts.timeoutMs ?? 150000, 100)) || !line()) {
    kill();
    throw new Error(`no URL printed; exit ${child.exitCode}; stdout:\n${out}\nstderr:\n${err.slice(-3000)}`);
  }
  const url = new URL(line()!);
  return { child, marker, url, token: url.searchParams.get('token') ?? '', stdout: () => out, stderr: () => err, exited, kill };
}

/** A kernel the lab's server started, reached over ZMQ through its connection file. */
export interface LabKernel {
  pid: number;
  conn: Conn;
  client: KernelClient;
}

/** Start a covalent-ts kernel through the server's REST API and connect to it. */
export async function startLabKernel(lab: LabCli): Promise<LabKernel> {
  const started = await request('POST', `${lab.url.origin}/api/kernels`, lab.token, { name: 'covalent-ts' });
  if (started.status !== 201) throw new Error(`POST /api/kernels: ${started.status} ${started.body}`);
  let pid: number | undefined;
  await waitUntil(() => (pid = markedPids(lab.marker).find(p => cmdline(p).some(a => a.endsWith(KERNEL_MAIN)))) !== undefined, 60000, 100);
  if (pid === undefined) throw new Error('the kernel process did not appear');
  const conn: Conn = JSON.parse(fs.readFileSync(cmdline(pid).at(-1)!, 'utf8'));
  const client = new KernelClient(conn);
  await client.connect();
  return { pid, conn, client };
}

/** Run a dispatch of two long naps in the kernel and wait until its task workers exist. */
export async function dispatchNaps(lab: LabCli, kernel: LabKernel): Promise<void> {
  const before = markedPids(lab.marker).length;
  const r = await kernel.client.execute(
    `import * as ct from 'covalent-ts';
const nap = ct.electron(async (ms: number) => { await new Promise((r) => setTimeout(r, ms)); return ms; });
const flow = ct.lattice((ms: number) => [nap(ms), nap(ms)]);
await ct.dispatch(flow)(120000)`,
    120000
  );
  if (r.reply.content.status !== 'ok') throw new Error(`dispatch cell failed: ${JSON.stringify(r.reply.content)}`);
  if (!(await waitUntil(() => markedPids(lab.marker).length > before, 60000, 100))) throw new Error('no task worker appeared');
}
