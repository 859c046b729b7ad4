import { Signal } from '@lumino/signaling';
import { CovalentClient } from '../../../labextension/src/client/covalent-client';
import type { ConnectionSource } from '../../../labextension/src/model/dispatch-controller';
import { FakeKernel } from './fake-kernel';

/** A notebook session whose kernel is a FakeKernel; `restart()` swaps in a new comm. */
export class FakeConnection implements ConnectionSource {
  constructor(public kernel: FakeKernel | null) {}
  client: CovalentClient | null = null;
  readonly clientChanged = new Signal<this, CovalentClient | null>(this);

  async getClient(): Promise<CovalentClient | null> {
    if (this.client?.isOpen) {
      return this.client;
    }
    if (!this.kernel) {
      return null;
    }
    const client = new CovalentClient(this.kernel.createComm(), { requestTimeoutMs: 2000 });
    await client.connect();
    this.client = client;
    return client;
  }

  /** The kernel went away: the comm closes and watchers hear `null`. */
  loseKernel(): void {
    this.kernel?.comm?.close();
    this.kernel = null;
    this.client = null;
    this.clientChanged.emit(null);
  }

  /** A new kernel (or the same after restart) is available. */
  async connectTo(kernel: FakeKernel): Promise<CovalentClient> {
    this.kernel = kernel;
    this.client = null;
    const client = (await this.getClient())!;
    this.clientChanged.emit(client);
    return client;
  }
}
