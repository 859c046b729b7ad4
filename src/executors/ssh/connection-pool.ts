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
import { hostKeyPolicy } from './host-key';
import { loginKey, type ResolvedSSHOptions } from './ssh-options';

/** Concurrent channels per connection: below sshd's default MaxSessions 10, one left for SFTP. */
const MAX_CHANNELS = 8;

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
  /** Short scripts sent within a few ms of each other share one exec (see exec-batcher.ts). */
  private readonly batcher = new ExecBatcher((script, options) => this.exec(`/bin/sh -c ${shq(script)}`, options));
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

  /** Run a short POSIX sh script, sharing one exec with others sent at about the same time. */
  execBatched(script: string, options: BatchedExecOptions = {}): Promise<ExecResult> {
    if (!this.isOpen()) return Promise.reject(connectionLost(this.where));
    return this.batcher.exec(script, options);
  }

  /** What the exec batcher did on this connection (for tests and benchmarks). */
  batchStats(): Readonly<ExecBatcher['stats']> {
    return this.batcher.stats;
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
