/**
 * A script server: one long-lived `node` process per connection (and remote
 * node path) that runs the short POSIX sh scripts the executor sends (task
 * launches, status checks) over the stdin/stdout of one exec channel. An
 * exec costs a server session and the login shell's start-up (its rc files:
 * about 100 to 200 ms on hosts that set up pyenv, conda or modules there);
 * a script sent here costs one `/bin/sh` start.
 *
 * It changes only how a script reaches the host: every script still runs in
 * its own `/bin/sh -c`, and the tasks it starts are detached sessions of
 * their own, so they outlive the server, the channel and the connection (the
 * server exits once its stdin closes and its scripts have ended). A script
 * whose answer is lost with the server comes back with code null, as from an
 * exec that died (see exec-batcher.ts). Kill scripts use it too, but a
 * cancel needs none of it: any process (`covalent-ts cancel` after the
 * dispatching process died) starts its own, or uses plain execs.
 */
import type { ClientChannel } from 'ssh2';
import type { ExecResult } from '../remote/remote-host';
import { shq } from '../remote/shell-quote';

/**
 * The server's source, run with `node -e` (so nothing needs uploading first).
 * Requests and answers are one JSON object per line: `{id, script}` ->
 * `{id, code, signal, stdout, stderr}`. Built-ins only; Node 20 or later.
 */
const SERVER_SOURCE = `'use strict'; // covalent-ts script server
const { spawn } = require('child_process');
const rl = require('readline').createInterface({ input: process.stdin });
let running = 0;
let ended = false;
process.stdout.on('error', () => {});
const maybeExit = () => { if (ended && running === 0) process.exit(0); };
rl.on('line', (line) => {
  let req;
  try { req = JSON.parse(line); } catch { return; }
  running++;
  const out = [];
  const err = [];
  const child = spawn('/bin/sh', ['-c', String(req.script)], { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout.on('data', (d) => out.push(d));
  child.stderr.on('data', (d) => err.push(d));
  child.on('error', (e) => err.push(Buffer.from(String(e))));
  child.on('close', (code, signal) => {
    running--;
    process.stdout.write(JSON.stringify({ id: req.id, code, signal, stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString() }) + '\\n');
    maybeExit();
  });
});
rl.on('close', () => { ended = true; maybeExit(); });
process.stdout.write('{"ready":true}\\n');
`;

/** The command line of the server's exec. */
export function scriptServerCommand(nodePath: string): string {
  return `exec ${shq(nodePath)} -e ${shq(SERVER_SOURCE)}`;
}

interface Pending {
  resolve: (r: ExecResult) => void;
}

/** The client end of one server: send scripts, get their answers. */
export class ScriptServer {
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private buffered = '';
  private closed = false;

  /**
   * `ready` resolves once the server has started, or rejects if its channel
   * closes first (no Node.js at that path, or a login shell that fails).
   */
  readonly ready: Promise<void>;

  constructor(
    private readonly stream: ClientChannel,
    private readonly onClose: (server: ScriptServer) => void,
  ) {
    let readyResolve!: () => void;
    let readyReject!: (e: Error) => void;
    let isReady = false;
    this.ready = new Promise<void>((resolve, reject) => {
      readyResolve = resolve;
      readyReject = reject;
    });
    this.ready.catch(() => undefined);
    const stderr: Buffer[] = [];
    stream.stderr.on('data', (b: Buffer) => stderr.push(b));
    // A write racing the channel's end fails there; 'close' below answers what is pending.
    stream.on('error', () => undefined);
    stream.on('data', (b: Buffer) => {
      this.buffered += b.toString('utf8');
      for (let nl = this.buffered.indexOf('\n'); nl >= 0; nl = this.buffered.indexOf('\n')) {
        const line = this.buffered.slice(0, nl);
        this.buffered = this.buffered.slice(nl + 1);
        let msg: { ready?: boolean; id?: number; code?: number | null; signal?: string | null; stdout?: string; stderr?: string };
        try {
          msg = JSON.parse(line);
        } catch {
          continue; // not ours (a login script printing to stdout)
        }
        if (msg.ready === true && !isReady) {
          isReady = true;
          readyResolve();
          continue;
        }
        const p = typeof msg.id === 'number' ? this.pending.get(msg.id) : undefined;
        if (!p) continue;
        this.pending.delete(msg.id!);
        p.resolve({ code: msg.code ?? null, signal: msg.signal ?? null, stdout: msg.stdout ?? '', stderr: msg.stderr ?? '' });
      }
    });
    stream.on('close', () => {
      this.closed = true;
      readyReject(new Error(`the script server ended before it started: ${Buffer.concat(stderr).toString('utf8').trim() || 'no message'}`));
      // Answers lost with the server: unknown (code null), as from an exec that died.
      for (const p of this.pending.values()) p.resolve({ code: null, signal: null, stdout: '', stderr: 'the script server ended before answering' });
      this.pending.clear();
      this.onClose(this);
    });
  }

  isOpen(): boolean {
    return !this.closed;
  }

  /** Run one script; resolves with its answer (code null if the server ended first). */
  run(script: string): Promise<ExecResult> {
    if (this.closed) return Promise.resolve({ code: null, signal: null, stdout: '', stderr: 'the script server had ended' });
    const id = this.nextId++;
    return new Promise<ExecResult>((resolve) => {
      this.pending.set(id, { resolve });
      this.stream.write(`${JSON.stringify({ id, script })}\n`);
    });
  }

  /** Close its stdin: it exits once its scripts have ended. */
  end(): void {
    if (!this.closed) this.stream.end();
  }
}
