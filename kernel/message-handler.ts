import type { Header, ReceivedMessage } from './message';
import { commData, type ExecutionState, type ReplyContents, type ReplyType, type RequestContent } from './message-contents';
import type { Channel, KernelSocketServer } from './socket-server';
import type { CellRunner } from './cell-runner';
import type { CommManager } from './comm-manager';
import type { ExecuteQueue } from './execute-queue';
import { outputContext } from './output-context';
import { kernelInfo } from './kernel-info';

export interface MessageHandlerDeps {
  server: KernelSocketServer;
  runner: CellRunner;
  comms: CommManager;
  executes: ExecuteQueue;
  version: string;
  log(text: string): void;
  /** Builds the TypeScript program soon (the first request answered; see Kernel). */
  warmSoon(): void;
  shutdown(): Promise<void>;
  shuttingDown(): boolean;
}

/**
 * What each request means, per msg_type (messaging spec 5.3). Requests are
 * handled as they arrive, so comm messages (a cancel button) and completions
 * are answered while a cell still awaits; `execute_request`s alone wait in
 * the {@link ExecuteQueue}. Every request other than an execute is framed by
 * `busy` and `idle` on IOPub, and its output goes to it (output-context.ts).
 */
export class MessageHandler {
  constructor(private readonly deps: MessageHandlerDeps) {}

  async handle(msg: ReceivedMessage, channel: Channel): Promise<void> {
    const type = msg.header.msg_type;
    if (type === 'execute_request' && channel === 'shell') {
      this.deps.executes.enqueue(msg);
      return;
    }
    await outputContext.run({ parent: msg.header, silent: false }, async () => {
      this.publishStatus('busy', msg.header);
      try {
        await this.dispatch(msg, channel);
      } catch (e) {
        this.deps.log(`covalent-ts kernel: error handling ${type}: ${(e as Error)?.stack ?? e}\n`);
      } finally {
        this.publishStatus('idle', msg.header);
        // Frontends show the last status they saw: keep showing busy while a cell still runs.
        const running = this.deps.executes.running;
        if (running && !this.deps.shuttingDown()) this.publishStatus('busy', running);
      }
    });
  }

  publishStatus(state: ExecutionState, parent: Header | null): void {
    this.deps.server.publish('status', { execution_state: state }, parent);
  }

  private async dispatch(msg: ReceivedMessage, channel: Channel): Promise<void> {
    const { server, runner, comms, log } = this.deps;
    const reply = <T extends ReplyType>(type: T, content: ReplyContents[T]) => server.reply(msg, channel, type, content);
    const c: RequestContent = msg.content;
    switch (msg.header.msg_type) {
      case 'kernel_info_request':
        reply('kernel_info_reply', kernelInfo(this.deps.version));
        this.deps.warmSoon();
        return;
      case 'is_complete_request':
        return reply('is_complete_reply', runner.isComplete(String(c.code ?? '')));
      case 'complete_request': {
        const r = runner.complete(String(c.code ?? ''), Number(c.cursor_pos ?? 0));
        return reply('complete_reply', {
          status: 'ok',
          matches: r.matches,
          cursor_start: r.cursor_start,
          cursor_end: r.cursor_end,
          metadata: { _jupyter_types_experimental: r.types },
        });
      }
      case 'inspect_request': {
        const r = runner.inspect(String(c.code ?? ''), Number(c.cursor_pos ?? 0));
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
        return reply('comm_info_reply', { status: 'ok', comms: comms.info(typeof c.target_name === 'string' ? c.target_name : undefined) });
      case 'comm_open': {
        const ok = comms.open(String(c.comm_id), String(c.target_name), commData(c), msg.header);
        if (!ok) {
          log(`covalent-ts kernel: no comm target ${JSON.stringify(c.target_name)}; closing comm ${c.comm_id}\n`);
          server.publish('comm_close', { comm_id: String(c.comm_id), data: {} }, msg.header);
        }
        return;
      }
      case 'comm_msg':
        if (!(await comms.message(String(c.comm_id), commData(c), msg.header))) {
          log(`covalent-ts kernel: comm_msg for unknown comm ${JSON.stringify(c.comm_id)} dropped\n`);
        }
        return;
      case 'comm_close':
        comms.closeFromFrontend(String(c.comm_id), commData(c));
        return;
      case 'interrupt_request':
        // Normally answered by the control worker; a shell interrupt still works.
        this.deps.executes.interrupt();
        return reply('interrupt_reply', { status: 'ok' });
      case 'shutdown_request':
        reply('shutdown_reply', { status: 'ok', restart: !!c.restart });
        void this.deps.shutdown();
        return;
      default:
        log(`covalent-ts kernel: unsupported message type ${msg.header.msg_type} ignored\n`);
    }
  }
}
