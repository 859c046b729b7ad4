import { createHmac, randomBytes, randomUUID } from 'crypto';
import * as zmq from 'zeromq';
import type { ConnectionInfo } from '../connection';

export interface Msg {
  header: { msg_id: string; msg_type: string; session: string; date: string; username: string; version: string };
  parent_header: any;
  metadata: any;
  content: any;
}

/** A connection file's contents (the kernel's own type). */
export type Conn = ConnectionInfo;

const DELIM = Buffer.from('<IDS|MSG>');

/**
 * A minimal Jupyter client over ZMQ for tests and benchmarks: signs what it sends (or not,
 * or wrongly, on purpose), collects every IOPub message, and waits on
 * replies and states with generous time bounds.
 */
export class KernelClient {
  readonly session = randomUUID();
  readonly shell = new zmq.Dealer({ linger: 0, routingId: `client-${randomBytes(4).toString('hex')}` });
  readonly control = new zmq.Dealer({ linger: 0 });
  readonly iopub = new zmq.Subscriber({ linger: 0 });
  readonly hb = new zmq.Request({ linger: 0 });
  /** Every IOPub message received, in order. */
  readonly iopubMessages: Msg[] = [];
  private readonly replies = new Map<string, Msg>();
  private waiters: Array<() => void> = [];
  private shellSending = Promise.resolve();
  private controlSending = Promise.resolve();
  private closed = false;

  constructor(readonly conn: Conn) {}

  async connect(): Promise<void> {
    const a = (p: number) => `tcp://${this.conn.ip}:${p}`;
    this.shell.connect(a(this.conn.shell_port));
    this.control.connect(a(this.conn.control_port));
    this.iopub.connect(a(this.conn.iopub_port));
    this.hb.connect(a(this.conn.hb_port));
    this.iopub.subscribe();
    void this.readLoop(this.shell);
    void this.readLoop(this.control);
    void this.readIopub();
  }

  sign(parts: Buffer[], key = this.conn.key): string {
    if (!key) return '';
    const h = createHmac(this.conn.signature_scheme.replace(/^hmac-/, ''), key);
    for (const p of parts) h.update(p);
    return h.digest('hex');
  }

  message(msgType: string, content: any): Msg {
    return {
      header: { msg_id: randomUUID(), msg_type: msgType, session: this.session, date: new Date().toISOString(), username: 'test', version: '5.3' },
      parent_header: {},
      metadata: {},
      content,
    };
  }

  frames(msg: Msg, signing: 'valid' | 'none' | 'wrong' = 'valid'): Buffer[] {
    const parts = [msg.header, msg.parent_header, msg.metadata, msg.content].map((p) => Buffer.from(JSON.stringify(p)));
    const sig = signing === 'valid' ? this.sign(parts) : signing === 'wrong' ? this.sign(parts, 'not-the-key') : '';
    return [DELIM, Buffer.from(sig), ...parts];
  }

  /** Sends on shell (or control) and returns the request. */
  send(msgType: string, content: any, opts: { channel?: 'shell' | 'control'; signing?: 'valid' | 'none' | 'wrong' } = {}): Msg {
    const msg = this.message(msgType, content);
    this.sendRaw(this.frames(msg, opts.signing), opts.channel);
    return msg;
  }

  sendRaw(frames: Buffer[], channel: 'shell' | 'control' = 'shell'): void {
    if (channel === 'shell') this.shellSending = this.shellSending.then(() => this.shell.send(frames));
    else this.controlSending = this.controlSending.then(() => this.control.send(frames));
  }

  async request(msgType: string, content: any, opts: { channel?: 'shell' | 'control'; timeoutMs?: number } = {}): Promise<Msg> {
    const req = this.send(msgType, content, opts);
    return this.reply(req, opts.timeoutMs);
  }

  reply(req: Msg, timeoutMs = 30000): Promise<Msg> {
    return this.waitFor(() => this.replies.get(req.header.msg_id), timeoutMs, `reply to ${req.header.msg_type}`);
  }

  hasReply(req: Msg): boolean {
    return this.replies.has(req.header.msg_id);
  }

  /** IOPub messages whose parent is `req`. */
  children(req: Msg): Msg[] {
    return this.iopubMessages.filter((m) => m.parent_header?.msg_id === req.header.msg_id);
  }

  /** Waits until the kernel published `status: idle` for `req`. */
  idle(req: Msg, timeoutMs = 30000): Promise<Msg[]> {
    return this.waitFor(
      () => (this.children(req).some((m) => m.header.msg_type === 'status' && m.content.execution_state === 'idle') ? this.children(req) : undefined),
      timeoutMs,
      `idle after ${req.header.msg_type}`,
    );
  }

  /** Executes code; resolves with the reply and the IOPub messages up to idle. */
  async execute(code: string, timeoutMs = 60000, extra: any = {}): Promise<{ req: Msg; reply: Msg; iopub: Msg[] }> {
    const req = this.send('execute_request', { code, silent: false, store_history: true, user_expressions: {}, allow_stdin: false, stop_on_error: true, ...extra });
    const reply = await this.reply(req, timeoutMs);
    const iopub = await this.idle(req, timeoutMs);
    return { req, reply, iopub };
  }

  async waitFor<T>(probe: () => T | undefined, timeoutMs: number, what: string): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const v = probe();
      if (v !== undefined && v !== false) return v;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, Math.min(left, 200));
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  async heartbeat(timeoutMs = 5000): Promise<number> {
    const t0 = Date.now();
    await this.hb.send('ping');
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([this.hb.receive(), new Promise((_, rej) => (timer = setTimeout(() => rej(new Error('heartbeat timeout')), timeoutMs)))]);
    } finally {
      clearTimeout(timer);
    }
    return Date.now() - t0;
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  private parse(frames: Buffer[]): Msg {
    const at = frames.findIndex((f) => f.equals(DELIM));
    const parts = frames.slice(at + 2, at + 6);
    const sig = frames[at + 1].toString();
    if (this.conn.key && sig !== this.sign(parts)) throw new Error('kernel sent a message with a bad signature');
    const [header, parent_header, metadata, content] = parts.map((p) => JSON.parse(p.toString()));
    return { header, parent_header, metadata, content };
  }

  private async readLoop(sock: zmq.Dealer): Promise<void> {
    try {
      for await (const frames of sock) {
        const m = this.parse(frames as Buffer[]);
        this.replies.set(m.parent_header.msg_id, m);
        this.wake();
      }
    } catch (e) {
      if (!this.closed) throw e;
    }
  }

  private async readIopub(): Promise<void> {
    try {
      for await (const frames of this.iopub) {
        this.iopubMessages.push(this.parse(frames as Buffer[]));
        this.wake();
      }
    } catch (e) {
      if (!this.closed) throw e;
    }
  }

  close(): void {
    this.closed = true;
    for (const s of [this.shell, this.control, this.iopub, this.hb]) s.close();
  }
}
