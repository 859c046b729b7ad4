import type { Message } from './message';
import type { StreamContent } from './message-contents';
import { encode, Signer } from './wire';

/** Where the frames go: a zeromq socket (one send in flight at a time). */
export interface FrameSink {
  send(frames: Buffer[]): Promise<void>;
}

/** One queued outgoing message; a `stream` entry can still grow until it is sent. */
interface Pending {
  msg: Message;
  stream?: { key: string; content: StreamContent };
}

/**
 * Sends messages on one socket strictly in order, one send at a time.
 *
 * zeromq 6 allows a single send in flight per socket (more fail with EBUSY),
 * so every send is queued and awaited here. Stream output is coalesced while
 * it waits: consecutive writes to the same stream of the same parent join the
 * queued message (up to `maxStreamChars`), so a cell printing 100,000 lines
 * sends a few dozen messages, in order, and none is lost.
 */
export class SocketSender {
  private readonly queue: Pending[] = [];
  private pumping = false;
  private idleWaiters: Array<() => void> = [];
  private closed = false;

  constructor(
    private readonly socket: FrameSink,
    private readonly signer: Signer,
    private readonly log: (text: string) => void,
    private readonly maxStreamChars = 256 * 1024,
  ) {}

  send(msg: Message): void {
    if (this.closed) return;
    this.queue.push({ msg });
    this.pump();
  }

  /** Appends stream text, joining the last queued message when it is the same stream of the same parent. */
  stream(msg: Message<StreamContent>): void {
    if (this.closed) return;
    const key = `${msg.parent_header.msg_id ?? ''}\u0000${msg.content.name}`;
    const last = this.queue[this.queue.length - 1]?.stream;
    if (last && last.key === key && last.content.text.length + msg.content.text.length <= this.maxStreamChars) {
      last.content.text += msg.content.text;
      return;
    }
    this.queue.push({ msg, stream: { key, content: msg.content } });
    this.pump();
  }

  /** Resolves once everything queued so far has been handed to zeromq. */
  flush(): Promise<void> {
    if (!this.pumping && this.queue.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  close(): void {
    this.closed = true;
    this.queue.length = 0;
  }

  private pump(): void {
    if (this.pumping) return;
    this.pumping = true;
    // Start on a later tick so that writes made in this synchronous run coalesce.
    setImmediate(() => void this.drain());
  }

  private async drain(): Promise<void> {
    try {
      while (this.queue.length > 0 && !this.closed) {
        const item = this.queue.shift()!;
        // Once shifted the entry is frozen: later text goes to a new message.
        item.stream = undefined;
        try {
          await this.socket.send(encode(item.msg, this.signer));
        } catch (e) {
          this.log(`covalent-ts kernel: could not send ${item.msg.header.msg_type}: ${(e as Error).message}\n`);
        }
      }
    } finally {
      this.pumping = false;
      const waiters = this.idleWaiters;
      this.idleWaiters = [];
      for (const w of waiters) w();
      if (this.queue.length > 0 && !this.closed) this.pump();
    }
  }
}
