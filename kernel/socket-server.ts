import * as path from 'path';
import { Worker } from 'worker_threads';
import * as zmq from 'zeromq';
import { type ConnectionInfo, endpoint } from './connection';
import { decode, encode, Signer, WireError } from './wire';
import { type Header, type Message, type ReceivedMessage, newMessage, replyTo } from './message';
import type { IopubContents, IopubType, ReplyContents, ReplyType, StreamName } from './message-contents';
import { SocketSender } from './socket-sender';
import type { ToMain, FromMain } from './control-worker';
import { CELL_STATE_SLOTS, RUNNING_SEQ } from './cell-state';

/** The socket a request came in on; its reply goes back on the same one. */
export type Channel = 'shell' | 'control';

export interface SocketServerEvents {
  /** An authenticated, decoded request (shell, or control other than interrupt_request). */
  onMessage(msg: ReceivedMessage, channel: Channel): void;
  /** The control worker answered an interrupt_request that arrived while `target` (an execute msg_id) ran. */
  onInterrupt(target: string | null): void;
}

/**
 * The kernel's end of the wire: the ZeroMQ sockets of the connection file
 * (shell, IOPub, stdin here; control and heartbeat in the control worker
 * thread, control-worker.ts), signing and checking every message (wire.ts),
 * and ordered sending (socket-sender.ts). It knows nothing of what a request
 * means: decoded requests go to `events.onMessage`.
 */
export class KernelSocketServer {
  private readonly signer: Signer;
  private readonly shell = new zmq.Router({ linger: 0 });
  // A deep queue instead of `noDrop`: with noDrop, zeromq 6 left sends pending
  // until a subscriber had joined (a kernel started and used at once published
  // nothing). Output is coalesced (socket-sender.ts), so 100,000 queued
  // messages per subscriber is far more than a cell produces.
  private readonly iopub = new zmq.Publisher({ linger: 1000, sendHighWaterMark: 100000 });
  private readonly stdin = new zmq.Router({ linger: 0 });
  private readonly shellOut: SocketSender;
  private readonly iopubOut: SocketSender;
  private worker: Worker | null = null;
  /** What the control worker reads without waiting for a message (cell-state.ts). */
  private readonly cellState = new Int32Array(new SharedArrayBuffer(CELL_STATE_SLOTS * Int32Array.BYTES_PER_ELEMENT));
  private execSeq = 0;
  private dropped = 0;
  private closing = false;
  private events: SocketServerEvents | null = null;

  constructor(
    private readonly connection: ConnectionInfo,
    private readonly log: (text: string) => void,
  ) {
    this.signer = new Signer(connection.key, connection.signature_scheme);
    this.shellOut = new SocketSender(this.shell, this.signer, this.log);
    this.iopubOut = new SocketSender(this.iopub, this.signer, this.log);
  }

  /** Binds every socket of the connection file and starts the control worker; `listen` then reads the shell. */
  async start(events: SocketServerEvents): Promise<void> {
    const c = this.connection;
    if (!this.signer.enabled) this.log('covalent-ts kernel: WARNING the connection file has an empty key; messages are not authenticated.\n');
    await Promise.all([
      this.shell.bind(endpoint(c, c.shell_port)),
      this.iopub.bind(endpoint(c, c.iopub_port)),
      this.stdin.bind(endpoint(c, c.stdin_port)),
      this.startControlWorker(events),
    ]);
    this.events = events;
  }

  /** Starts handing shell requests to `onMessage` (once the kernel is ready to answer them). */
  listen(): void {
    if (this.events) void this.readLoop(this.shell, 'shell', this.events);
  }

  /** Publishes on IOPub, under the topic Jupyter clients expect. */
  publish<T extends IopubType>(msgType: T, content: IopubContents[T], parent: Header | null): void {
    this.iopubOut.send(newMessage(msgType, content, parent, [topic(msgType)]));
  }

  /** Stream output: consecutive text of the same stream and parent is sent as one message. */
  stream(name: StreamName, text: string, parent: Header): void {
    this.iopubOut.stream(newMessage('stream', { name, text }, parent, [topic('stream')]));
  }

  /** Replies to `request` on the socket it came in on. */
  reply<T extends ReplyType>(request: Message, channel: Channel, msgType: T, content: ReplyContents[T]): void {
    const msg = replyTo(request, msgType, content);
    if (channel === 'shell') this.shellOut.send(msg);
    else this.worker?.postMessage({ kind: 'send', frames: encode(msg, this.signer) } satisfies FromMain);
  }

  /** Resolves once everything published so far has been handed to zeromq. */
  flushIopub(): Promise<void> {
    return this.iopubOut.flush();
  }

  /** Resolves once every queued reply and IOPub message has been handed to zeromq. */
  async flush(): Promise<void> {
    await Promise.all([this.iopubOut.flush(), this.shellOut.flush()]);
  }

  /** Tells the control worker which execute runs now (null: none), for interrupts. */
  setRunning(msgId: string | null): void {
    const seq = msgId === null ? 0 : ++this.execSeq;
    Atomics.store(this.cellState, RUNNING_SEQ, seq);
    this.worker?.postMessage({ kind: 'exec', msgId, seq } satisfies FromMain);
  }

  /**
   * Lets the control worker close its sockets and end: exiting while zeromq
   * still tears down in the worker thread now and then aborted the kernel (SIGABRT).
   */
  async stopControlWorker(): Promise<void> {
    this.closing = true;
    const worker = this.worker;
    if (!worker) return;
    const ended = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
    worker.postMessage({ kind: 'close' } satisfies FromMain);
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([ended, new Promise<void>((r) => (timer = setTimeout(r, 1000)))]);
    clearTimeout(timer);
  }

  closeSockets(): void {
    this.closing = true;
    this.shell.close();
    this.iopub.close();
    this.stdin.close();
  }

  private startControlWorker(events: SocketServerEvents): Promise<void> {
    return new Promise((resolve, reject) => {
      const worker = new Worker(path.join(__dirname, 'control-worker.js'), { workerData: { connection: this.connection, cellState: this.cellState.buffer } });
      this.worker = worker;
      worker.on('message', (m: ToMain) => {
        if (m.kind === 'ready') resolve();
        else if (m.kind === 'log') this.log(m.text);
        else if (m.kind === 'message') this.onFrames(m.frames.map((f) => Buffer.from(f)), 'control', events);
        else if (m.kind === 'interrupted') events.onInterrupt(m.target);
        else if (m.kind === 'ping') worker.postMessage({ kind: 'pong', seq: m.seq } satisfies FromMain);
      });
      worker.on('error', (e) => {
        this.log(`covalent-ts kernel: control worker error: ${e.stack ?? e}\n`);
        reject(e);
      });
      // The worker stays referenced: it keeps the kernel alive until a shutdown request.
    });
  }

  private async readLoop(socket: zmq.Router, channel: Channel, events: SocketServerEvents): Promise<void> {
    try {
      for await (const frames of socket) this.onFrames(frames, channel, events);
    } catch (e) {
      if (!this.closing) this.log(`covalent-ts kernel: ${channel} socket failed: ${(e as Error).message}\n`);
    }
  }

  private onFrames(frames: Buffer[], channel: Channel, events: SocketServerEvents): void {
    let msg: ReceivedMessage;
    try {
      msg = decode(frames, this.signer);
    } catch (e) {
      // Logged, but a process spraying bad messages cannot flood the log.
      if (++this.dropped <= 100 || this.dropped % 1000 === 0) {
        this.log(`covalent-ts kernel: dropped a ${channel} message: ${e instanceof WireError ? e.message : String(e)} (${this.dropped} dropped so far)\n`);
      }
      return;
    }
    events.onMessage(msg, channel);
  }
}

function topic(msgType: string): Buffer {
  return Buffer.from(`kernel.covalent-ts.${msgType}`);
}
