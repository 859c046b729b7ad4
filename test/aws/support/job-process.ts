/**
 * The "container" of a local job: the submitted command run as a local
 * process group, stopped the way AWS stops containers (SIGTERM, then SIGKILL
 * after a grace period).
 */
import { spawn, type ChildProcess } from 'node:child_process';

export interface JobProcessResult {
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export class JobProcess {
  readonly child: ChildProcess;
  readonly done: Promise<JobProcessResult>;
  private killTimer: NodeJS.Timeout | undefined;
  private out = '';
  private err = '';

  /** `commandMap` maps the command's first word (e.g. `covalent-ts`) to what runs it here. */
  constructor(command: string[], env: Record<string, string>, commandMap: Record<string, string[]>) {
    const [head, ...rest] = command;
    const argv = [...(commandMap[head] ?? [head]), ...rest];
    this.child = spawn(argv[0], argv.slice(1), { env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    this.child.stdout!.on('data', (d) => (this.out += d));
    this.child.stderr!.on('data', (d) => (this.err += d));
    this.done = new Promise((resolve) => {
      this.child.on('error', (e) => {
        this.err += String(e);
      });
      this.child.on('close', (exitCode, signal) => {
        clearTimeout(this.killTimer);
        resolve({ exitCode, signal, stdout: this.out, stderr: this.err });
      });
    });
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  /** SIGTERM to the whole group, SIGKILL after `graceMs` if it is still there. */
  terminate(graceMs: number): void {
    this.signal('SIGTERM');
    clearTimeout(this.killTimer);
    this.killTimer = setTimeout(() => this.signal('SIGKILL'), graceMs);
  }

  kill(): void {
    this.signal('SIGKILL');
  }

  private signal(sig: NodeJS.Signals): void {
    try {
      if (this.child.pid) process.kill(-this.child.pid, sig);
    } catch {
      // already gone
    }
  }
}

/** Exit code as a container runtime reports it: 128 + signal number for a signalled process. */
export function containerExitCode(r: JobProcessResult): number {
  if (r.exitCode !== null) return r.exitCode;
  return r.signal === 'SIGKILL' ? 137 : r.signal === 'SIGTERM' ? 143 : 1;
}
