import { randomUUID } from 'crypto';
import type { KernelClient, Msg } from './kernel-client';

/** The frontend side of one `covalent-ts` comm, over a test KernelClient. */
export class CommClient {
  readonly commId = randomUUID();
  private nextId = 0;

  constructor(
    readonly client: KernelClient,
    readonly target = 'covalent-ts',
  ) {}

  async open(data: unknown = {}): Promise<void> {
    const req = this.client.send('comm_open', { comm_id: this.commId, target_name: this.target, data });
    await this.client.idle(req);
  }

  /** Sends raw `data` in a comm_msg; returns the request message. */
  sendData(data: unknown, signing: 'valid' | 'none' | 'wrong' = 'valid'): Msg {
    return this.client.send('comm_msg', { comm_id: this.commId, data }, { signing });
  }

  /** All comm_msg payloads the kernel sent on this comm, in order. */
  received(): any[] {
    return this.client.iopubMessages.filter((m) => m.header.msg_type === 'comm_msg' && m.content.comm_id === this.commId).map((m) => m.content.data);
  }

  newId(): string {
    return `req-${++this.nextId}-${randomUUID().slice(0, 8)}`;
  }

  /** Sends a request (an `id` is added unless `data` has one) and waits for its reply. */
  async request(data: Record<string, unknown>, timeoutMs = 30000): Promise<any> {
    const id = 'id' in data ? data.id : this.newId();
    const sent = { ...data, id };
    this.sendData(sent);
    return this.client.waitFor(() => this.received().find((d) => d?.type === 'reply' && d.id === id), timeoutMs, `comm reply ${String(id)}`);
  }

  /** Sends raw data that may carry no usable id; waits for the next reply after those already seen. */
  async requestRaw(data: unknown, timeoutMs = 30000): Promise<any> {
    const before = this.received().filter((d) => d?.type === 'reply').length;
    this.sendData(data);
    return this.client.waitFor(() => this.received().filter((d) => d?.type === 'reply')[before], timeoutMs, 'comm reply to raw data');
  }

  deltas(dispatchId: string): any[] {
    return this.received().filter((d) => d?.type === 'delta' && d.dispatchId === dispatchId);
  }
}
