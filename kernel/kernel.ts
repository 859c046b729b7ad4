import type { ConnectionInfo } from './connection';
import { KernelSocketServer } from './socket-server';
import { MessageHandler } from './message-handler';
import { ExecuteQueue } from './execute-queue';
import { installOutputHooks, type OutputHooks } from './output-hooks';
import { CellRunner } from './cell-runner';
import { getCommManager, type CommManager } from './comm-manager';
import { CommSubscriptions } from './comm-subscriptions';
import { covalentCommTarget } from './covalent-comm';
import { getDispatcher, shutdownLibrary } from './core';
import { orphanNoticeOnce } from './orphan-notice';
import { packageVersion } from './kernel-info';
import { COMM_TARGET } from '../src/protocol';

export interface KernelOptions {
  /** Folder cells run in and resolve imports from (Jupyter starts kernels in the notebook's folder). */
  cwd?: string;
  /** Where the kernel logs (dropped messages, internal errors): defaults to the real stderr. */
  log?: (text: string) => void;
}

/**
 * The covalent-ts Jupyter kernel: Jupyter messaging protocol 5.3 on zeromq 6,
 * running cells with tslab's executor. This class puts the pieces together and
 * owns the process's lifecycle: the wire is {@link KernelSocketServer}, what
 * requests mean is {@link MessageHandler} (executes in order in the
 * {@link ExecuteQueue}), output routing is output-hooks.ts, and the
 * `covalent-ts` comm is covalent-comm.ts.
 */
export class Kernel {
  private readonly server: KernelSocketServer;
  private readonly runner: CellRunner;
  private readonly comms: CommManager;
  private readonly executes: ExecuteQueue;
  private readonly handler: MessageHandler;
  private readonly version = packageVersion();
  private readonly log: (text: string) => void;
  private readonly subscriptions = new CommSubscriptions();
  private output: OutputHooks | null = null;
  private shuttingDown = false;
  private warmed = false;

  constructor(connection: ConnectionInfo, options: KernelOptions = {}) {
    const realStderr = process.stderr.write.bind(process.stderr);
    this.log = options.log ?? ((text) => void realStderr(text));
    this.server = new KernelSocketServer(connection, this.log);
    this.runner = new CellRunner(options.cwd ?? process.cwd());
    this.comms = getCommManager();
    const shuttingDown = () => this.shuttingDown;
    this.executes = new ExecuteQueue({
      server: this.server,
      runner: this.runner,
      log: this.log,
      publishStatus: (state, parent) => this.handler.publishStatus(state, parent),
      orphanNotice: () => orphanNoticeOnce(getDispatcher),
      onCellStart: () => (this.warmed = true),
      shuttingDown,
    });
    this.handler = new MessageHandler({
      server: this.server,
      runner: this.runner,
      comms: this.comms,
      executes: this.executes,
      version: this.version,
      log: this.log,
      warmSoon: () => setTimeout(() => this.warm(), 20).unref(),
      shutdown: () => this.shutdown(),
      shuttingDown,
    });
  }

  async start(): Promise<void> {
    await this.server.start({
      onMessage: (msg, channel) => void this.handler.handle(msg, channel),
      onInterrupt: (target) => {
        if (target && this.executes.running?.msg_id === target) this.executes.interrupt();
      },
    });
    this.output = installOutputHooks({
      server: this.server,
      runningParent: () => this.executes.running,
      getDispatcher,
      subscriptions: this.subscriptions,
      log: this.log,
    });
    this.installComms();
    process.on('SIGINT', () => this.executes.interrupt());
    process.on('uncaughtException', (err) => this.output?.reportBackgroundError('Uncaught exception', err));
    process.on('unhandledRejection', (reason) => this.output?.reportBackgroundError('Unhandled promise rejection', reason));
    this.server.listen();
    // Build the TypeScript program soon, but after the client's first kernel_info_request was answered.
    setTimeout(() => this.warm(), 1000).unref();
    this.handler.publishStatus('starting', null);
  }

  private warm(): void {
    if (this.warmed || this.shuttingDown) return;
    this.warmed = true;
    setImmediate(() => this.runner.warm());
  }

  private installComms(): void {
    this.comms.transport = {
      sendCommMsg: (commId, data, parent) => this.server.publish('comm_msg', { comm_id: commId, data }, parent),
      sendCommClose: (commId, data, parent) => this.server.publish('comm_close', { comm_id: commId, data }, parent),
    };
    this.comms.registerTarget(COMM_TARGET, covalentCommTarget({ getDispatcher, kernelVersion: this.version, log: this.log, subscriptions: this.subscriptions }));
  }

  /** Replies were queued already; send what is pending, then exit even with timers or dispatches pending. */
  async shutdown(): Promise<void> {
    if (this.shuttingDown) return;
    this.shuttingDown = true;
    const hardExit = setTimeout(() => process.exit(0), 3000);
    hardExit.unref();
    try {
      this.comms.closeAll();
      this.output?.stopDisplays();
      this.runner.interrupt();
      // Stop worker processes and flush the store, but never let that hold the exit.
      await Promise.race([shutdownLibrary().catch((e) => this.log(`covalent-ts kernel: shutdown: ${e}\n`)), new Promise((r) => setTimeout(r, 1500))]);
      await Promise.race([this.server.flush(), new Promise((r) => setTimeout(r, 1000))]);
      await this.server.stopControlWorker();
      this.output?.restoreStdio();
      this.server.closeSockets();
    } finally {
      process.exit(0);
    }
  }
}
