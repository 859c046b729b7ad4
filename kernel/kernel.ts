import * as path from 'path';
import * as fs from 'fs';
import { inspect } from 'util';
import { Worker } from 'worker_threads';
import * as zmq from 'zeromq';
import { type ConnectionInfo, endpoint } from './connection';
import { decode, encode, Signer, WireError } from './wire';
import { type Header, type Message, newMessage, PROTOCOL_VERSION, replyTo } from './message';
import { SocketSender } from './socket-sender';
import { outputContext, currentOutputContext } from './output-context';
import { captureStdio } from './stdio-capture';
import { CellRunner, type CellOutcome } from './cell-runner';
import { getCommManager, type CommManager } from './comm-manager';
import { CommSubscriptions } from './comm-subscriptions';
import { commData, type ExecuteRequestContent, type RequestContent } from './message-contents';
import { covalentCommTarget } from './covalent-comm';
import { getDispatcher, shutdownLibrary } from './core';
import { orphanNoticeOnce } from './orphan-notice';
import { tslabJupyter, tslabVersion, tsForTslab } from './tslab';
import { DispatchDisplay } from './dispatch-display';
import type { ToMain, FromMain } from './control-worker';
import { CELL_STATE_SLOTS, RUNNING_SEQ } from './cell-state';
import { COMM_TARGET } from '../src/protocol';

export interface KernelOptions {
  /** Folder cells run in and resolve imports from (Jupyter starts kernels in the notebook's folder). */
  cwd?: string;
  /** Where the kernel logs (dropped messages, internal errors): defaults to the real stderr. */
  log?: (text: string) => void;
}

type Channel = 'shell' | 'control';

interface QueuedExecute {
  msg: Message;
  generation: number;
}

export function packageVersion(): string {
  try {
    return JSON.parse(fs.readFileSync(path.join(__dirname, '..', '..', 'package.json'), 'utf8')).version;
  } catch {
    return '0.0.0';
  }
}

/**
 * The covalent-ts Jupyter kernel: Jupyter messaging protocol 5.3 on zeromq 6,
 * running cells with tslab's executor.
 *
 * Shell messages are handled as they arrive, so comm messages (a cancel
 * button) and completions are answered while a cell is still awaiting;
 * `execute_request`s alone run one after another. All IOPub traffic goes
 * through one ordered sender, and output is routed by async context to the
 * request that caused it.
 */
export class Kernel {
  private readonly signer: Signer;
  private readonly shell = new zmq.Router({ linger: 0 });
  // A deep queue instead of `noDrop`: with noDrop, zeromq 6 left sends pending
  // until a subscriber had joined (a kernel started and used at once published
  // nothing). Output is coalesced (socket-sender.ts), so 100,000 queued
  // messages per subscriber is far more than a cell produces.
  private readonly iopub = new zmq.Publisher({ linger: 1000, sendHighWaterMark: 100000 });
  private readonly stdin = new zmq.Router({ linger: 0 });
  private shellOut!: SocketSender;
  private iopubOut!: SocketSender;
  private worker: Worker | null = null;
  /** What the control worker reads without waiting for a message (cell-state.ts). */
  private readonly cellState = new Int32Array(new SharedArrayBuffer(CELL_STATE_SLOTS * Int32Array.BYTES_PER_ELEMENT));
  private execSeq = 0;
  private readonly runner: CellRunner;
  private readonly comms: CommManager;
  private readonly version = packageVersion();
  private readonly log: (text: string) => void;
  private stdio: ReturnType<typeof captureStdio> | null = null;
  private executionCount = 0;
  private readonly queue: QueuedExecute[] = [];
  private running: Header | null = null;
  private generation = 0;
  private draining = false;
  private interruptRequested = false;
  private dropped = 0;
  private shuttingDown = false;
  private warmed = false;
  private display: DispatchDisplay | null = null;
  private orphansReported = false;
  private readonly subscriptions = new CommSubscriptions();

  constructor(
    private readonly connection: ConnectionInfo,
    private readonly options: KernelOptions = {},
  ) {
    this.signer = new Signer(connection.key, connection.signature_scheme);
    const realStderr = process.stderr.write.bind(process.stderr);
    this.log = options.log ?? ((text) => void realStderr(text));
    this.runner = new CellRunner(options.cwd ?? process.cwd());
    this.comms = getCommManager();
  }

  async start(): Promise<void> {
    const c = this.connection;
    if (!this.signer.enabled) this.log('covalent-ts kernel: WARNING the connection file has an empty key; messages are not authenticated.\n');
    this.shellOut = new SocketSender(this.shell as any, this.signer, this.log);
    this.iopubOut = new SocketSender(this.iopub as any, this.signer, this.log);
    await Promise.all([
      this.shell.bind(endpoint(c, c.shell_port)),
      this.iopub.bind(endpoint(c, c.iopub_port)),
      this.stdin.bind(endpoint(c, c.stdin_port)),
      this.startControlWorker(),
    ]);
    this.installOutputHooks();
    this.installComms();
    process.on('SIGINT', () => this.interrupt());
    process.on('uncaughtException', (err) => this.reportBackgroundError('Uncaught exception', err));
    process.on('unhandledRejection', (reason) => this.reportBackgroundError('Unhandled promise rejection', reason));
    void this.readLoop(this.shell, 'shell');
    // Build the TypeScript program soon, but after the client's first kernel_info_request was answered.
    setTimeout(() => this.warm(), 1000).unref();
    this.publishStatus('starting', null);
  }

  /** SIGINT (raised by the control worker on interrupt_request): stop the running cell's await. */
  private interrupt(): void {
    if (!this.running) return;
    this.log(`covalent-ts kernel: interrupting execute ${this.running.msg_id}\n`);
    // Also covers an interrupt that lands between execute_input and the cell's start.
    this.interruptRequested = true;
    this.runner.interrupt();
  }

  private warm(): void {
    if (this.warmed || this.shuttingDown) return;
    this.warmed = true;
    setImmediate(() => this.runner.warm());
  }

  private startControlWorker(): Promise<void> {
    return new Promise((resolve, reject) => {
      const worker = new Worker(path.join(__dirname, 'control-worker.js'), { workerData: { connection: this.connection, cellState: this.cellState.buffer } });
      this.worker = worker;
      worker.on('message', (m: ToMain) => {
        if (m.kind === 'ready') resolve();
        else if (m.kind === 'log') this.log(m.text);
        else if (m.kind === 'message') this.onFrames(m.frames.map((f) => Buffer.from(f)), 'control');
        else if (m.kind === 'interrupted' && m.target && this.running?.msg_id === m.target) this.interrupt();
        else if (m.kind === 'ping') worker.postMessage({ kind: 'pong', seq: m.seq } satisfies FromMain);
      });
      worker.on('error', (e) => {
        this.log(`covalent-ts kernel: control worker error: ${e.stack ?? e}\n`);
        reject(e);
      });
      // The worker stays referenced: it keeps the kernel alive until a shutdown request.
    });
  }

  private async readLoop(socket: zmq.Router, channel: Channel): Promise<void> {
    try {
      for await (const frames of socket) this.onFrames(frames as Buffer[], channel);
    } catch (e) {
      if (!this.shuttingDown) this.log(`covalent-ts kernel: ${channel} socket failed: ${(e as Error).message}\n`);
    }
  }

  private onFrames(frames: Buffer[], channel: Channel): void {
    let msg: Message;
    try {
      msg = decode(frames, this.signer);
    } catch (e) {
      // Logged, but a process spraying bad messages cannot flood the log.
      if (++this.dropped <= 100 || this.dropped % 1000 === 0) {
        this.log(`covalent-ts kernel: dropped a ${channel} message: ${e instanceof WireError ? e.message : String(e)} (${this.dropped} dropped so far)\n`);
      }
      return;
    }
    void this.handle(msg, channel);
  }

  // ---- dispatching -----------------------------------------------------------

  private async handle(msg: Message, channel: Channel): Promise<void> {
    const type = msg.header.msg_type;
    if (type === 'execute_request' && channel === 'shell') {
      this.queue.push({ msg, generation: this.generation });
      void this.drainExecutes();
      return;
    }
    await outputContext.run({ parent: msg.header, silent: false }, async () => {
      this.publishStatus('busy', msg.header);
      try {
        await this.handleOther(msg, channel);
      } catch (e) {
        this.log(`covalent-ts kernel: error handling ${type}: ${(e as Error)?.stack ?? e}\n`);
      } finally {
        this.publishStatus('idle', msg.header);
        // Frontends show the last status they saw: keep showing busy while a cell still runs.
        if (this.running && !this.shuttingDown) this.publishStatus('busy', this.running);
      }
    });
  }

  private async handleOther(msg: Message, channel: Channel): Promise<void> {
    const reply = (type: string, content: unknown) => this.reply(channel, replyTo(msg, type, content));
    const c = (msg.content ?? {}) as RequestContent;
    switch (msg.header.msg_type) {
      case 'kernel_info_request':
        reply('kernel_info_reply', this.kernelInfo());
        this.warmSoon();
        return;
      case 'is_complete_request':
        return reply('is_complete_reply', this.runner.isComplete(String(c.code ?? '')));
      case 'complete_request': {
        const r = this.runner.complete(String(c.code ?? ''), Number(c.cursor_pos ?? 0));
        return reply('complete_reply', {
          status: 'ok',
          matches: r.matches,
          cursor_start: r.cursor_start,
          cursor_end: r.cursor_end,
          metadata: { _jupyter_types_experimental: r.types },
        });
      }
      case 'inspect_request': {
        const r = this.runner.inspect(String(c.code ?? ''), Number(c.cursor_pos ?? 0));
        return reply('inspect_reply', {
          status: 'ok',
          found: r.found,
          data: r.found ? { 'text/plain': r.text, 'text/markdown': r.markdown } : {},
          metadata: {},
        });
      }
      case 'history_request':
        return reply('history_reply', { status: 'ok', history: [] });
      case 'comm_info_request':
        return reply('comm_info_reply', { status: 'ok', comms: this.comms.info(typeof c.target_name === 'string' ? c.target_name : undefined) });
      case 'comm_open': {
        const ok = this.comms.open(String(c.comm_id), String(c.target_name), commData(c), msg.header);
        if (!ok) {
          this.log(`covalent-ts kernel: no comm target ${JSON.stringify(c.target_name)}; closing comm ${c.comm_id}\n`);
          this.publish(newMessage('comm_close', { comm_id: String(c.comm_id), data: {} }, msg.header));
        }
        return;
      }
      case 'comm_msg':
        if (!(await this.comms.message(String(c.comm_id), commData(c), msg.header))) {
          this.log(`covalent-ts kernel: comm_msg for unknown comm ${JSON.stringify(c.comm_id)} dropped\n`);
        }
        return;
      case 'comm_close':
        this.comms.closeFromFrontend(String(c.comm_id), commData(c));
        return;
      case 'interrupt_request':
        // Normally answered by the control worker; a shell interrupt still works.
        this.interrupt();
        return reply('interrupt_reply', { status: 'ok' });
      case 'shutdown_request':
        reply('shutdown_reply', { status: 'ok', restart: !!c.restart });
        void this.shutdown();
        return;
      default:
        this.log(`covalent-ts kernel: unsupported message type ${msg.header.msg_type} ignored\n`);
    }
  }

  private warmSoon(): void {
    setTimeout(() => this.warm(), 20).unref();
  }

  // ---- execution -------------------------------------------------------------

  private async drainExecutes(): Promise<void> {
    if (this.draining) return;
    this.draining = true;
    try {
      while (this.queue.length > 0 && !this.shuttingDown) {
        const item = this.queue.shift()!;
        await this.execute(item);
      }
    } finally {
      this.draining = false;
    }
  }

  private async execute({ msg, generation }: QueuedExecute): Promise<void> {
    const c = (msg.content ?? {}) as ExecuteRequestContent;
    const parent = msg.header;
    this.publishStatus('busy', parent);
    let reply: Record<string, unknown> = { status: 'aborted', execution_count: null };
    try {
      // An earlier cell failed with stop_on_error: cells queued behind it are not run.
      if (generation !== this.generation) return;
      reply = await this.runCell(msg, c);
    } catch (e) {
      this.log(`covalent-ts kernel: execute failed: ${(e as Error)?.stack ?? e}\n`);
      reply = { status: 'error', execution_count: this.executionCount, ename: 'KernelError', evalue: String(e), traceback: [] };
    } finally {
      this.publishStatus('idle', parent);
      // Outputs and idle reach zeromq before the reply: a client that reads
      // IOPub once it has the reply finds everything already there.
      await Promise.race([this.iopubOut.flush(), new Promise((r) => setTimeout(r, 2000))]);
      this.shellOut.send(replyTo(msg, 'execute_reply', reply));
    }
  }

  /** Runs one cell and publishes its result or error; returns the execute_reply content. */
  private async runCell(msg: Message, c: ExecuteRequestContent): Promise<Record<string, unknown>> {
    const parent = msg.header;
    const code = String(c.code ?? '');
    const silent = c.silent === true;
    const storeHistory = !silent && c.store_history !== false;
    if (storeHistory) this.executionCount++;
    const count = this.executionCount;
    if (!silent) this.publish(newMessage('execute_input', { code, execution_count: count }, parent));
    if (!silent) await this.reportOrphansOnce(parent);
    this.running = parent;
    this.interruptRequested = false;
    const seq = ++this.execSeq;
    Atomics.store(this.cellState, RUNNING_SEQ, seq);
    this.worker?.postMessage({ kind: 'exec', msgId: parent.msg_id, seq } satisfies FromMain);
    let outcome: CellOutcome;
    try {
      // Hand busy/execute_input to zeromq before the cell can block the thread in a synchronous loop.
      await this.iopubOut.flush();
      this.warmed = true;
      outcome = this.interruptRequested
        ? { ok: false, error: { ename: 'KeyboardInterrupt', evalue: 'Interrupted before the cell started', traceback: ['KeyboardInterrupt: Interrupted before the cell started'] } }
        : await outputContext.run({ parent, silent }, () => this.runner.execute(code));
    } finally {
      this.running = null;
      Atomics.store(this.cellState, RUNNING_SEQ, 0);
      this.worker?.postMessage({ kind: 'exec', msgId: null, seq: 0 } satisfies FromMain);
    }
    if (outcome.ok) {
      if (outcome.value && !silent) {
        this.publish(newMessage('execute_result', { execution_count: count, data: this.mimeBundle(outcome.value.value), metadata: {} }, parent));
      }
      return { status: 'ok', execution_count: count, user_expressions: {}, payload: [] };
    }
    const err = outcome.error!;
    if (!silent) this.publish(newMessage('error', { ename: err.ename, evalue: err.evalue, traceback: err.traceback }, parent));
    if (c.stop_on_error !== false) this.generation++;
    return { status: 'error', execution_count: count, ename: err.ename, evalue: err.evalue, traceback: err.traceback };
  }

  /** The first cell's output says which dispatches a dead kernel left unfinished (see orphan-notice.ts). */
  private async reportOrphansOnce(parent: Header): Promise<void> {
    if (this.orphansReported) return;
    this.orphansReported = true;
    try {
      const notice = await orphanNoticeOnce(getDispatcher);
      if (notice) this.iopubOut.stream(newMessage('stream', { name: 'stderr', text: notice }, parent, [topic('stream')]) as Message<{ name: string; text: string }>);
    } catch (e) {
      this.log(`covalent-ts kernel: could not look for orphaned dispatches: ${(e as Error)?.message ?? e}\n`);
    }
  }

  private mimeBundle(value: unknown): Record<string, unknown> {
    const custom = value && typeof value === 'object' ? (value as any)[Symbol.for('covalent-ts.mimeBundle')] : undefined;
    if (typeof custom === 'function') {
      try {
        const bundle = custom.call(value);
        if (bundle && typeof bundle === 'object' && typeof bundle['text/plain'] === 'string') return bundle;
      } catch {
        // fall back to the plain rendering
      }
    }
    return { 'text/plain': inspect(value, { depth: 4, colors: false, maxArrayLength: 200, breakLength: 100 }) };
  }

  // ---- output ----------------------------------------------------------------

  private installOutputHooks(): void {
    this.stdio = captureStdio((name, text, ctx) => {
      this.iopubOut.stream(newMessage('stream', { name, text }, ctx.parent, [topic('stream')]) as Message<{ name: string; text: string }>);
    });
    // tslab's `display.*` API calls this (see tslab/dist/public).
    tslabJupyter.lastWriteDisplayData = (data: any, update: boolean) => {
      const ctx = currentOutputContext();
      if (!ctx) {
        this.log('covalent-ts kernel: display outside of any cell dropped\n');
        return;
      }
      if (!ctx.silent) this.publish(newMessage(update ? 'update_display_data' : 'display_data', data, ctx.parent));
    };
    this.display = new DispatchDisplay({
      publish: (type, content, parent) => this.publish(newMessage(type, content, parent)),
      stream: (name, text, parent) =>
        this.iopubOut.stream(newMessage('stream', { name, text }, parent, [topic('stream')]) as Message<{ name: string; text: string }>),
      currentParent: () => currentOutputContext()?.parent ?? null,
      runningParent: () => this.running,
      getDispatcher,
      log: this.log,
      isSubscribed: (id) => this.subscriptions.has(id),
    });
    this.display.install();
  }

  private installComms(): void {
    this.comms.transport = {
      sendCommMsg: (commId, data, parent) => this.publish(newMessage('comm_msg', { comm_id: commId, data }, parent)),
      sendCommClose: (commId, data, parent) => this.publish(newMessage('comm_close', { comm_id: commId, data }, parent)),
    };
    this.comms.registerTarget(COMM_TARGET, covalentCommTarget({ getDispatcher, kernelVersion: this.version, log: this.log, subscriptions: this.subscriptions }));
  }

  private reportBackgroundError(what: string, err: unknown): void {
    const text = `${what}: ${err instanceof Error ? err.stack ?? err.message : inspect(err)}\n`;
    const ctx = currentOutputContext();
    if (ctx && !ctx.silent) {
      this.iopubOut.stream(newMessage('stream', { name: 'stderr', text }, ctx.parent, [topic('stream')]) as Message<{ name: string; text: string }>);
    } else this.log(`covalent-ts kernel: ${text}`);
  }

  private publish(msg: Message): void {
    if (msg.identities.length === 0) msg.identities = [topic(msg.header.msg_type)];
    this.iopubOut.send(msg);
  }

  private publishStatus(state: 'busy' | 'idle' | 'starting', parent: Header | null): void {
    this.publish(newMessage('status', { execution_state: state }, parent));
  }

  private reply(channel: Channel, msg: Message): void {
    if (channel === 'shell') this.shellOut.send(msg);
    else this.worker?.postMessage({ kind: 'send', frames: encode(msg, this.signer) } satisfies FromMain);
  }

  private kernelInfo(): Record<string, unknown> {
    return {
      status: 'ok',
      protocol_version: PROTOCOL_VERSION,
      implementation: 'covalent-ts',
      implementation_version: this.version,
      language_info: {
        name: 'typescript',
        version: tsForTslab.version,
        mimetype: 'text/typescript',
        file_extension: '.ts',
        pygments_lexer: 'typescript',
        codemirror_mode: { name: 'javascript', typescript: true },
      },
      banner: `covalent-ts ${this.version}: TypeScript ${tsForTslab.version} on Node ${process.version} (tslab ${tslabVersion})`,
      help_links: [{ text: 'covalent-ts', url: 'https://www.npmjs.com/package/covalent-ts' }],
    };
  }

  // ---- shutdown ----------------------------------------------------------------

  /**
   * Let the control worker close its sockets and end before the process exits: exiting while
   * zeromq still tears down in the worker thread now and then aborted the kernel (SIGABRT).
   */
  private async stopControlWorker(): Promise<void> {
    const worker = this.worker;
    if (!worker) return;
    const ended = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
    worker.postMessage({ kind: 'close' } satisfies FromMain);
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([ended, new Promise<void>((r) => (timer = setTimeout(r, 1000)))]);
    clearTimeout(timer);
  }

  /** Replies were queued already; send what is pending, then exit even with timers or dispatches pending. */
  async shutdown(): Promise<void> {
    if (this.shuttingDown) return;
    this.shuttingDown = true;
    const hardExit = setTimeout(() => process.exit(0), 3000);
    hardExit.unref();
    try {
      this.comms.closeAll();
      this.display?.uninstall();
      this.runner.interrupt();
      // Stop worker processes and flush the store, but never let that hold the exit.
      await Promise.race([shutdownLibrary().catch((e) => this.log(`covalent-ts kernel: shutdown: ${e}\n`)), new Promise((r) => setTimeout(r, 1500))]);
      await Promise.race([Promise.all([this.iopubOut.flush(), this.shellOut.flush()]), new Promise((r) => setTimeout(r, 1000))]);
      await this.stopControlWorker();
      this.stdio?.restore();
      this.shell.close();
      this.iopub.close();
      this.stdin.close();
    } finally {
      process.exit(0);
    }
  }
}

function topic(msgType: string): Buffer {
  return Buffer.from(`kernel.covalent-ts.${msgType}`);
}
