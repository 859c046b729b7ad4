/**
 * Pooled SSH connections (npm ssh2). One connection per login is shared by
 * every task and executor of the process (unless `reuseConnection: false`),
 * with a cap on concurrent channels because sshd allows only MaxSessions (10
 * by default) per connection. A connection that drops is evicted; the next
 * use opens a new one, so polling and cancel survive reconnects.
 */
import { Client, type ClientChannel, type SFTPWrapper } from 'ssh2';
import { CtError, ErrorCodes, ExecutorError } from '../../errors';
import type { ExecResult } from '../remote/remote-host';
import { shq } from '../remote/shell-quote';
import { resolveAuth } from './credentials';
import { ExecBatcher, type BatchedExecOptions } from './exec-batcher';
import { ScriptServer, scriptServerCommand } from './script-server';
import { hostKeyPolicy } from './host-key';
import { loginKey, type ResolvedSSHOptions } from './ssh-options';

/** Concurrent channels per connection: below sshd's default MaxSessions 10, one left for SFTP. */
const MAX_CHANNELS = 8;

/** Script server starts per connection and node path (a few restarts after it died, never a loop). */
const MAX_SERVER_STARTS = 5;
/** How long a script server may take to start before execs are used instead. */
const SERVER_START_MS = 20000;

interface ServerState {
  current?: ScriptServer;
  starting?: Promise<ScriptServer | undefined>;
  /** Execs are used instead: it cannot start here. */
  broken: boolean;
  started: number;
}

class Semaphore {
  private waiting: (() => void)[] = [];
  private used = 0;
  constructor(private readonly size: number) {}
  async acquire(): Promise<() => void> {
    if (this.used >= this.size) await new Promise<void>((r) => this.waiting.push(r));
    else this.used++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.waiting.shift();
      if (next) next();
      else this.used--;
    };
  }
}

export function connectionLost(where: string, cause?: unknown): ExecutorError {
  return new ExecutorError(ErrorCodes.CONNECTION_FAILED, `The SSH connection to ${where} was lost${cause ? `: ${(cause as Error).message ?? cause}` : '.'}`, {
    cause,
    details: { login: where, transient: true },
  });
}

/** True for errors after which a retry on a new connection may succeed. */
export function isTransientConnectionError(e: unknown): boolean {
  return e instanceof CtError && e.code === ErrorCodes.CONNECTION_FAILED && (e.details as any)?.transient === true;
}

export class SSHConnection {
  private readonly client = new Client();
  private sftpSession: Promise<SFTPWrapper> | undefined;
  private home: Promise<string> | undefined;
  private readonly slots = new Semaphore(MAX_CHANNELS);
  private open = false;
  private gone = false;
  readonly where: string;
  /**
   * Short scripts sent within a few ms of each other share one exec (see exec-batcher.ts), or go to
   * a script server (see script-server.ts): one batcher per remote node path ('' = plain execs).
   */
  private readonly batchers = new Map<string, ExecBatcher>();
  private readonly servers = new Map<string, ServerState>();
  /** Channels (exec and SFTP) open now and at most so far: never above sshd's MaxSessions. */
  readonly channels = { open: 0, peak: 0, execs: 0 };

  constructor(
    private readonly opts: ResolvedSSHOptions,
    private readonly onGone: (c: SSHConnection) => void,
  ) {
    this.where = loginKey(opts);
  }

  connect(): Promise<void> {
    const policy = hostKeyPolicy(this.opts);
    const auth = resolveAuth(this.opts);
    let refusal: ExecutorError | undefined;
    return new Promise<void>((resolve, reject) => {
      const fail = (e: unknown) => {
        this.markGone();
        if (refusal) return reject(refusal);
        if (e instanceof CtError) return reject(e);
        const msg = (e as Error)?.message ?? String(e);
        const authFailed = /authentication methods failed/i.test(msg);
        reject(
          new ExecutorError(
            authFailed ? ErrorCodes.CREDENTIALS_REQUIRED : ErrorCodes.CONNECTION_FAILED,
            authFailed
              ? `SSH login ${this.where} was refused: the server did not accept the key. Check "username" and that the key's public half is in the account's authorized_keys.`
              : `Cannot connect over SSH to ${this.where}: ${msg}. Check "host", "port" and that sshd is running there.`,
            { cause: e, details: { login: this.where, transient: !authFailed } },
          ),
        );
      };
      this.client.once('ready', () => {
        this.open = true;
        this.client.removeListener('error', fail);
        this.client.on('error', () => this.markGone());
        resolve();
      });
      this.client.once('error', fail);
      this.client.on('close', () => {
        this.markGone();
        if (!this.open) fail(new Error('connection closed during the handshake'));
      });
      this.client.connect({
        host: this.opts.host,
        port: this.opts.port,
        username: this.opts.username,
        privateKey: auth.privateKey,
        passphrase: auth.passphrase,
        agent: auth.agent,
        readyTimeout: this.opts.connectTimeoutMs,
        keepaliveInterval: 10000,
        keepaliveCountMax: 3,
        algorithms: policy.algorithms ? { serverHostKey: policy.algorithms as any } : undefined,
        hostVerifier: (key: Buffer) => {
          refusal = policy.check(key);
          return refusal === undefined;
        },
      });
    });
  }

  isOpen(): boolean {
    return this.open && !this.gone;
  }

  private markGone(): void {
    if (this.gone) return;
    this.gone = true;
    this.open = false;
    this.onGone(this);
  }

  /** Run a command line; resolves with its exit status and output. */
  async exec(command: string, options: { timeoutMs?: number } = {}): Promise<ExecResult> {
    const release = await this.slots.acquire();
    try {
      if (!this.isOpen()) throw connectionLost(this.where);
      const stream = await new Promise<ClientChannel>((resolve, reject) => {
        this.client.exec(command, (err, s) => (err ? reject(this.isOpen() ? err : connectionLost(this.where, err)) : resolve(s)));
      });
      this.channelOpened();
      this.channels.execs++;
      stream.once('close', () => this.channels.open--);
      return await new Promise<ExecResult>((resolve, reject) => {
        const out: Buffer[] = [];
        const err: Buffer[] = [];
        let timer: NodeJS.Timeout | undefined;
        if (options.timeoutMs) {
          timer = setTimeout(() => {
            stream.close();
            reject(new ExecutorError(ErrorCodes.TIMEOUT, `A command on ${this.where} did not finish within ${options.timeoutMs} ms.`));
          }, options.timeoutMs);
        }
        stream.on('data', (b: Buffer) => out.push(b));
        stream.stderr.on('data', (b: Buffer) => err.push(b));
        stream.on('close', (code: number | null | undefined, signal?: string) => {
          if (timer) clearTimeout(timer);
          if ((code === undefined || code === null) && !signal && !this.isOpen()) return reject(connectionLost(this.where));
          resolve({ code: code ?? null, signal: signal ?? null, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') });
        });
      });
    } finally {
      release();
    }
  }

  private channelOpened(): void {
    this.channels.open++;
    this.channels.peak = Math.max(this.channels.peak, this.channels.open);
  }

  /**
   * Run a short POSIX sh script, sharing one exec with others sent at about the same time. With
   * `nodePath` (Node.js on the host), the scripts go through a script server started with it,
   * or through execs where none can start.
   */
  execBatched(script: string, options: BatchedExecOptions & { nodePath?: string } = {}): Promise<ExecResult> {
    if (!this.isOpen()) return Promise.reject(connectionLost(this.where));
    const key = options.nodePath ?? '';
    let batcher = this.batchers.get(key);
    if (!batcher) {
      batcher = new ExecBatcher((combined, o) => this.runCombined(combined, o, key));
      this.batchers.set(key, batcher);
    }
    return batcher.exec(script, options);
  }

  /** What the exec batchers did on this connection, and the script servers it started (for tests and benchmarks). */
  batchStats(): { execs: number; scripts: number; died: number; resent: number; servers: number } {
    const total = { execs: 0, scripts: 0, died: 0, resent: 0, servers: 0 };
    for (const b of this.batchers.values()) for (const k of ['execs', 'scripts', 'died', 'resent'] as const) total[k] += b.stats[k];
    for (const st of this.servers.values()) total.servers += st.started;
    return total;
  }

  /**
   * Run one POSIX sh script on its own (not batched, so a long one delays no other): through the
   * script server for `nodePath` when one runs or can start, else in an exec. Code null: the
   * answer was lost with the server (the script may have run).
   */
  async execScript(script: string, options: { timeoutMs?: number; nodePath?: string } = {}): Promise<ExecResult> {
    return this.runCombined(script, options, options.nodePath ?? '');
  }

  private async runCombined(script: string, options: { timeoutMs?: number }, nodePath: string): Promise<ExecResult> {
    const server = nodePath ? await this.scriptServer(nodePath) : undefined;
    if (!server) return this.exec(`/bin/sh -c ${shq(script)}`, options);
    if (!options.timeoutMs) return server.run(script);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new ExecutorError(ErrorCodes.TIMEOUT, `A command on ${this.where} did not finish within ${options.timeoutMs} ms.`)), options.timeoutMs);
    });
    try {
      return await Promise.race([server.run(script), timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** The running script server for this node path, started if need be; undefined where none can run. */
  private scriptServer(nodePath: string): Promise<ScriptServer | undefined> {
    let st = this.servers.get(nodePath);
    if (!st) {
      st = { started: 0, broken: false };
      this.servers.set(nodePath, st);
    }
    const state = st;
    if (state.broken || !this.isOpen()) return Promise.resolve(undefined);
    if (state.current?.isOpen()) return Promise.resolve(state.current);
    state.starting ??= this.startScriptServer(nodePath, state).finally(() => (state.starting = undefined));
    return state.starting;
  }

  private async startScriptServer(nodePath: string, state: ServerState): Promise<ScriptServer | undefined> {
    if (state.started >= MAX_SERVER_STARTS) {
      state.broken = true;
      return undefined;
    }
    state.started++;
    const release = await this.slots.acquire(); // held while it runs: it is one of the connection's sessions
    let server: ScriptServer;
    try {
      const stream = await new Promise<ClientChannel>((resolve, reject) => {
        this.client.exec(scriptServerCommand(nodePath), (err, s) => (err ? reject(err) : resolve(s)));
      });
      this.channelOpened();
      this.channels.execs++;
      stream.once('close', () => {
        this.channels.open--;
        release();
      });
      // One that ends after it started is started again on next use (up to MAX_SERVER_STARTS);
      // one that never starts (no Node.js there, a login shell that fails) is not tried again.
      server = new ScriptServer(stream, (ended) => {
        if (state.current === ended) state.current = undefined;
      });
    } catch {
      release();
      state.broken = true;
      return undefined;
    }
    const started = await Promise.race([
      server.ready.then(() => true, () => false),
      new Promise<boolean>((r) => setTimeout(() => r(false), SERVER_START_MS).unref()),
    ]);
    if (!started) {
      state.broken = true;
      server.end();
      return undefined;
    }
    state.current = server;
    return server;
  }

  /** The login's home directory, asked once per connection (every task's work directory starts from it). */
  homeDir(): Promise<string> {
    if (!this.home) {
      const home = this.sftp().then(
        (sftp) => new Promise<string>((resolve, reject) => sftp.realpath('.', (err, p) => (err ? reject(err) : resolve(p)))),
      );
      home.catch(() => {
        if (this.home === home) this.home = undefined;
      });
      this.home = home;
    }
    return this.home;
  }

  /** The connection's SFTP session, opened on first use. */
  sftp(): Promise<SFTPWrapper> {
    if (!this.isOpen()) return Promise.reject(connectionLost(this.where));
    if (!this.sftpSession) {
      this.sftpSession = new Promise<SFTPWrapper>((resolve, reject) => {
        this.client.sftp((err, sftp) => {
          if (err) {
            this.sftpSession = undefined;
            return reject(this.isOpen() ? err : connectionLost(this.where, err));
          }
          this.channelOpened();
          sftp.on('close', () => {
            this.channels.open--;
            this.sftpSession = undefined;
          });
          resolve(sftp);
        });
      });
    }
    return this.sftpSession;
  }

  /** Close politely. */
  end(): void {
    this.markGone();
    this.client.end();
  }

  /** Drop the TCP connection at once, as a network failure would. */
  destroy(): void {
    this.markGone();
    this.client.destroy();
  }
}

export class SSHConnectionPool {
  private readonly conns = new Map<string, Promise<SSHConnection>>();

  private key(opts: ResolvedSSHOptions, token?: string): string {
    const pin = opts.hostKeyFingerprints?.join(',') ?? opts.knownHostsFile ?? '';
    return `${loginKey(opts)}\0${opts.privateKeyPath ?? ''}\0${pin}\0${token ?? ''}`;
  }

  /** An open connection for this login, reusing a live one. */
  get(opts: ResolvedSSHOptions, token?: string): Promise<SSHConnection> {
    const key = this.key(opts, opts.reuseConnection ? undefined : token);
    const existing = this.conns.get(key);
    if (existing) {
      return existing.then(
        (c) => (c.isOpen() ? c : this.open(key, opts)),
        () => this.open(key, opts),
      );
    }
    return this.open(key, opts);
  }

  private open(key: string, opts: ResolvedSSHOptions): Promise<SSHConnection> {
    const conn = new SSHConnection(opts, (c) => {
      // Evict only if the map still holds this very connection.
      void this.conns.get(key)?.then(
        (cur) => {
          if (cur === c) this.conns.delete(key);
        },
        () => undefined,
      );
    });
    const p = conn.connect().then(() => conn);
    this.conns.set(key, p);
    p.catch(() => {
      if (this.conns.get(key) === p) this.conns.delete(key);
    });
    return p;
  }

  /** Close connections opened for one task (`reuseConnection: false`). */
  async release(opts: ResolvedSSHOptions, token: string): Promise<void> {
    if (opts.reuseConnection) return;
    const key = this.key(opts, token);
    const p = this.conns.get(key);
    this.conns.delete(key);
    if (p) (await p.catch(() => undefined))?.end();
  }

  /** Simulate (or react to) a network failure: drop every connection of a login. */
  async dropAll(): Promise<void> {
    const all = [...this.conns.values()];
    this.conns.clear();
    for (const p of all) (await p.catch(() => undefined))?.destroy();
  }

  async closeAll(): Promise<void> {
    const all = [...this.conns.values()];
    this.conns.clear();
    for (const p of all) (await p.catch(() => undefined))?.end();
  }

  size(): number {
    return this.conns.size;
  }
}

const POOL_KEY = Symbol.for('covalent-ts.sshPool');
/** The process-wide pool. */
export function sshPool(): SSHConnectionPool {
  const g = globalThis as any;
  if (!g[POOL_KEY]) g[POOL_KEY] = new SSHConnectionPool();
  return g[POOL_KEY];
}

/** Close every pooled SSH connection (for scripts and tests that must exit). */
export function closeSSHConnections(): Promise<void> {
  return sshPool().closeAll();
}
