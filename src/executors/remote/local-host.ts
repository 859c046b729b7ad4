/** The local machine as a RemoteHost: Slurm submitted from this machine. */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import type { ExecResult, RemoteHost } from './remote-host';

export class LocalHost implements RemoteHost {
  constructor(private readonly env: NodeJS.ProcessEnv = process.env) {}

  describe(): string {
    return 'local';
  }

  exec(script: string, options: { timeoutMs?: number } = {}): Promise<ExecResult> {
    return new Promise((resolve, reject) => {
      // The script is one argv element: no second round of shell parsing.
      const child = spawn('/bin/sh', ['-c', script], { env: this.env, stdio: ['ignore', 'pipe', 'pipe'] });
      const out: Buffer[] = [];
      const err: Buffer[] = [];
      child.stdout.on('data', (b: Buffer) => out.push(b));
      child.stderr.on('data', (b: Buffer) => err.push(b));
      const timer = options.timeoutMs ? setTimeout(() => child.kill('SIGKILL'), options.timeoutMs) : undefined;
      child.on('error', (e) => {
        if (timer) clearTimeout(timer);
        reject(e);
      });
      child.on('close', (code, signal) => {
        if (timer) clearTimeout(timer);
        resolve({ code, signal, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') });
      });
    });
  }

  async homeDir(): Promise<string> {
    return os.homedir();
  }

  async writeFile(path: string, data: Buffer | string, mode = 0o600): Promise<void> {
    await fs.writeFile(path, data, { mode });
  }

  async readFile(path: string): Promise<Buffer | undefined> {
    try {
      return await fs.readFile(path);
    } catch (e: any) {
      if (e?.code === 'ENOENT') return undefined;
      throw e;
    }
  }

  async exists(path: string): Promise<boolean> {
    try {
      await fs.stat(path);
      return true;
    } catch {
      return false;
    }
  }

  async mkdirp(path: string): Promise<void> {
    await fs.mkdir(path, { recursive: true, mode: 0o700 });
  }

  async rename(from: string, to: string): Promise<void> {
    await fs.rename(from, to);
  }

  async removeTree(path: string): Promise<void> {
    await fs.rm(path, { recursive: true, force: true });
  }
}
