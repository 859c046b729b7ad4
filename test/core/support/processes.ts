import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawn, type ChildProcess } from 'node:child_process';
import { tempDir } from '../../support/wait';

const root = path.resolve(__dirname, '../../..');
/** The built library and command line, as a user's process would load them. */
export const lib = path.join(root, 'dist/src/index.js');
export const cli = path.join(root, 'dist/src/cli/main.js');

/** A script for a separate Node process using the built library (as `ct`); `prelude` runs first. */
export function script(body: string, prelude = ''): string {
  const file = path.join(tempDir('ct-script-'), 'run.js');
  fs.writeFileSync(
    file,
    `const ct = require(${JSON.stringify(lib)});\n${prelude}\n(async () => {\n${body}\n})().catch((e) => { console.error(e); process.exit(1); });\n`,
  );
  return file;
}

/** A running script whose stdout is read line by line. */
export class ScriptProcess {
  readonly child: ChildProcess;
  readonly lines: string[] = [];
  readonly exited: Promise<number | null>;
  private listeners: Array<(line: string) => void> = [];

  constructor(file: string, env: NodeJS.ProcessEnv) {
    this.child = spawn(process.execPath, [file], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
    let partial = '';
    this.child.stdout!.setEncoding('utf8').on('data', (d: string) => {
      partial += d;
      const parts = partial.split('\n');
      partial = parts.pop()!;
      for (const line of parts) {
        this.lines.push(line);
        for (const l of this.listeners) l(line);
      }
    });
    this.exited = new Promise((r) => this.child.once('exit', (code) => r(code)));
  }

  /** Calls `fn` for every line, including the ones already read. */
  onLine(fn: (line: string) => void): void {
    for (const l of this.lines) fn(l);
    this.listeners.push(fn);
  }

  /** The first line matching `re` (waits for it). */
  line(re: RegExp, timeoutMs = 60_000): Promise<string> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no line matching ${re} within ${timeoutMs} ms; got:\n${this.lines.join('\n')}`)), timeoutMs);
      this.onLine((l) => {
        if (re.test(l)) {
          clearTimeout(timer);
          resolve(l);
        }
      });
    });
  }

  async kill(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    this.child.kill('SIGKILL');
    await this.exited;
  }
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
