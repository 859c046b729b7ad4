import type { Header, ReceivedMessage } from './message';
import type { ExecuteReplyContent, ExecuteRequestContent, ExecutionState } from './message-contents';
import type { KernelSocketServer } from './socket-server';
import type { CellOutcome, CellRunner } from './cell-runner';
import { outputContext } from './output-context';
import { mimeBundle } from './mime-bundle';

export interface ExecuteQueueDeps {
  server: KernelSocketServer;
  runner: CellRunner;
  log(text: string): void;
  publishStatus(state: ExecutionState, parent: Header | null): void;
  /** Text for the first cell's stderr (orphaned dispatches), or null. */
  orphanNotice(): Promise<string | null>;
  /** A cell is about to run: it builds the TypeScript program itself, so nothing needs to warm it. */
  onCellStart(): void;
  shuttingDown(): boolean;
}

interface QueuedExecute {
  msg: ReceivedMessage;
  generation: number;
}

/**
 * `execute_request`s, one after another in arrival order (every other
 * request is answered while a cell runs). A cell that fails with
 * `stop_on_error` aborts the cells queued behind it. Each cell's outputs and
 * its `idle` reach zeromq before its `execute_reply`.
 */
export class ExecuteQueue {
  private readonly queue: QueuedExecute[] = [];
  private current: Header | null = null;
  private generation = 0;
  private draining = false;
  private interruptRequested = false;
  private executionCount = 0;
  private orphansReported = false;

  constructor(private readonly deps: ExecuteQueueDeps) {}

  /** The execute request whose cell runs now, if any. */
  get running(): Header | null {
    return this.current;
  }

  enqueue(msg: ReceivedMessage): void {
    this.queue.push({ msg, generation: this.generation });
    void this.drain();
  }

  /** Stops the running cell's await (SIGINT, or an interrupt_request). */
  interrupt(): void {
    if (!this.current) return;
    this.deps.log(`covalent-ts kernel: interrupting execute ${this.current.msg_id}\n`);
    // Also covers an interrupt that lands between execute_input and the cell's start.
    this.interruptRequested = true;
    this.deps.runner.interrupt();
  }

  private async drain(): Promise<void> {
    if (this.draining) return;
    this.draining = true;
    try {
      while (this.queue.length > 0 && !this.deps.shuttingDown()) {
        const item = this.queue.shift()!;
        await this.execute(item);
      }
    } finally {
      this.draining = false;
    }
  }

  private async execute({ msg, generation }: QueuedExecute): Promise<void> {
    const c: ExecuteRequestContent = msg.content;
    const parent = msg.header;
    this.deps.publishStatus('busy', parent);
    let reply: ExecuteReplyContent = { status: 'aborted', execution_count: null };
    try {
      // An earlier cell failed with stop_on_error: cells queued behind it are not run.
      if (generation !== this.generation) return;
      reply = await this.runCell(parent, c);
    } catch (e) {
      this.deps.log(`covalent-ts kernel: execute failed: ${(e as Error)?.stack ?? e}\n`);
      reply = { status: 'error', execution_count: this.executionCount, ename: 'KernelError', evalue: String(e), traceback: [] };
    } finally {
      this.deps.publishStatus('idle', parent);
      // Outputs and idle reach zeromq before the reply: a client that reads
      // IOPub once it has the reply finds everything already there.
      await Promise.race([this.deps.server.flushIopub(), new Promise((r) => setTimeout(r, 2000))]);
      this.deps.server.reply(msg, 'shell', 'execute_reply', reply);
    }
  }

  /** Runs one cell and publishes its result or error; returns the execute_reply content. */
  private async runCell(parent: Header, c: ExecuteRequestContent): Promise<ExecuteReplyContent> {
    const { server, runner } = this.deps;
    const code = String(c.code ?? '');
    const silent = c.silent === true;
    const storeHistory = !silent && c.store_history !== false;
    if (storeHistory) this.executionCount++;
    const count = this.executionCount;
    if (!silent) server.publish('execute_input', { code, execution_count: count }, parent);
    if (!silent) await this.reportOrphansOnce(parent);
    this.current = parent;
    this.interruptRequested = false;
    server.setRunning(parent.msg_id);
    let outcome: CellOutcome;
    try {
      // Hand busy/execute_input to zeromq before the cell can block the thread in a synchronous loop.
      await server.flushIopub();
      this.deps.onCellStart();
      outcome = this.interruptRequested
        ? { ok: false, error: { ename: 'KeyboardInterrupt', evalue: 'Interrupted before the cell started', traceback: ['KeyboardInterrupt: Interrupted before the cell started'] } }
        : await outputContext.run({ parent, silent }, () => runner.execute(code));
    } finally {
      this.current = null;
      server.setRunning(null);
    }
    if (outcome.ok) {
      if (outcome.value && !silent) {
        server.publish('execute_result', { execution_count: count, data: mimeBundle(outcome.value.value), metadata: {} }, parent);
      }
      return { status: 'ok', execution_count: count, user_expressions: {}, payload: [] };
    }
    const err = outcome.error!;
    if (!silent) server.publish('error', { ename: err.ename, evalue: err.evalue, traceback: err.traceback }, parent);
    if (c.stop_on_error !== false) this.generation++;
    return { status: 'error', execution_count: count, ename: err.ename, evalue: err.evalue, traceback: err.traceback };
  }

  /** The first cell's output says which dispatches a dead kernel left unfinished (see orphan-notice.ts). */
  private async reportOrphansOnce(parent: Header): Promise<void> {
    if (this.orphansReported) return;
    this.orphansReported = true;
    try {
      const notice = await this.deps.orphanNotice();
      if (notice) this.deps.server.stream('stderr', notice, parent);
    } catch (e) {
      this.deps.log(`covalent-ts kernel: could not look for orphaned dispatches: ${(e as Error)?.message ?? e}\n`);
    }
  }
}
