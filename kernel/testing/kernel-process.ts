import { spawn, ChildProcess } from 'child_process';
import { randomBytes } from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { freePorts } from './ports';
import { Conn, KernelClient } from './kernel-client';

/** The package root, from the TypeScript source (tests) or the built copy in dist/ (benchmarks). */
export const ROOT = findRoot(__dirname);

function findRoot(from: string): string {
  for (let dir = from; ; dir = path.dirname(dir)) {
    try {
      if (JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')).name === 'covalent-ts') return dir;
    } catch {
      // keep looking
    }
    if (path.dirname(dir) === dir) throw new Error(`covalent-ts package root not found above ${from}`);
  }
}
export const KERNEL_MAIN = path.join(ROOT, 'dist', 'kernel', 'main.js');

export interface RunningKernel {
  proc: ChildProcess;
  conn: Conn;
  client: KernelClient;
  dir: string;
  /** The folder the kernel runs in (the notebook's folder). */
  cwd: string;
  /** Everything the kernel wrote to its real stderr (its log). */
  log(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stop(): Promise<void>;
}

/**
 * Test and benchmark helper. Starts the real kernel process (built JavaScript in dist/) on fresh
 * loopback ports with a random key, in a fresh folder without node_modules
 * unless `cwd` is given, and connects a client.
 */
export async function startKernel(opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<RunningKernel> {
  if (!fs.existsSync(KERNEL_MAIN)) throw new Error(`${KERNEL_MAIN} is missing: run \`npx tsc -p tsconfig.json\` first`);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ct-kernel-test-'));
  const [shell_port, iopub_port, stdin_port, control_port, hb_port] = await freePorts(5);
  const conn: Conn = {
    transport: 'tcp',
    ip: '127.0.0.1',
    key: randomBytes(16).toString('hex'),
    signature_scheme: 'hmac-sha256',
    shell_port,
    iopub_port,
    stdin_port,
    control_port,
    hb_port,
  };
  const connFile = path.join(dir, 'connection.json');
  fs.writeFileSync(connFile, JSON.stringify(conn), { mode: 0o600 });
  const cwd = opts.cwd ?? fs.mkdtempSync(path.join(os.tmpdir(), 'ct-notebook-'));
  const proc = spawn(process.execPath, [KERNEL_MAIN, connFile], {
    cwd,
    env: { ...process.env, CT_HOME: path.join(dir, 'ct-home'), ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let log = '';
  proc.stdout!.on('data', (d) => (log += d));
  proc.stderr!.on('data', (d) => (log += d));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    proc.on('exit', (code, signal) => resolve({ code, signal })),
  );
  const client = new KernelClient(conn);
  await client.connect();
  // The kernel binds asynchronously: retry kernel_info until it answers.
  const deadline = Date.now() + 60000;
  for (;;) {
    const req = client.send('kernel_info_request', {});
    try {
      await client.reply(req, 2000);
      break;
    } catch (e) {
      if (Date.now() > deadline || proc.exitCode !== null) throw new Error(`kernel did not start: ${log}`);
    }
  }
  return {
    proc,
    conn,
    client,
    dir,
    cwd,
    log: () => log,
    exited,
    async stop() {
      client.close();
      if (proc.exitCode === null && proc.signalCode === null) {
        proc.kill('SIGKILL');
        await exited;
      }
    },
  };
}
