import type { ISessionContext } from '@jupyterlab/apputils';
import type { Kernel } from '@jupyterlab/services';
import { IDisposable } from '@lumino/disposable';
import { ISignal, Signal } from '@lumino/signaling';
import { COMM_TARGET } from 'covalent-ts-protocol';
import { CovalentClient } from './covalent-client';

/** Kernel states after which the kernel side of our comm is gone. */
const LOST_STATES = new Set<string>(['restarting', 'autorestarting', 'dead', 'terminating']);

/**
 * Keeps one covalent-ts comm per notebook session, opened lazily (only a notebook
 * that shows a dispatch or the dispatches panel pays for it) and replaced when
 * the kernel changes or restarts. Widgets watch `clientChanged` to re-attach.
 */
export class KernelConnection implements IDisposable {
  constructor(sessionContext: Pick<ISessionContext, 'session' | 'kernelChanged' | 'isDisposed'> & {
    disposed: ISignal<unknown, void>;
  }) {
    this._session = sessionContext;
    sessionContext.kernelChanged.connect(this._onKernelChanged, this);
    sessionContext.disposed.connect(() => this.dispose());
    this._watch(sessionContext.session?.kernel ?? null);
  }

  /** The open client, or null when no covalent-ts kernel is connected. */
  get client(): CovalentClient | null {
    return this._client && this._client.isOpen ? this._client : null;
  }
  /** Emitted with the new client (or null) whenever the connection changes. */
  get clientChanged(): ISignal<this, CovalentClient | null> {
    return this._clientChanged;
  }
  get isDisposed(): boolean {
    return this._isDisposed;
  }

  /** Connect if a kernel is running; resolves to null when there is none or it is not ours. */
  getClient(): Promise<CovalentClient | null> {
    this._wanted = true;
    if (this.client) {
      return Promise.resolve(this.client);
    }
    if (this._connecting) {
      return this._connecting;
    }
    const kernel = this._kernel;
    if (!kernel || kernel.isDisposed || LOST_STATES.has(kernel.status)) {
      return Promise.resolve(null);
    }
    const connecting = this._connect(kernel);
    this._connecting = connecting;
    void connecting.finally(() => {
      if (this._connecting === connecting) {
        this._connecting = null;
      }
    });
    return connecting;
  }

  dispose(): void {
    if (this._isDisposed) {
      return;
    }
    this._isDisposed = true;
    this._dropClient();
    this._watch(null);
    Signal.clearData(this);
  }

  private async _connect(kernel: Kernel.IKernelConnection): Promise<CovalentClient | null> {
    let client: CovalentClient | null = null;
    try {
      // A kernel that is still starting would drop our comm_open: wait for its
      // kernel_info reply, which JupyterLab requests on every (re)connection.
      await kernel.info;
      // A kernel without our comm target closes the comm at once; the hello then
      // fails fast instead of waiting for the full timeout.
      const comm = kernel.createComm(COMM_TARGET);
      client = new CovalentClient(comm as any, { requestTimeoutMs: 15000 });
      await client.connect();
    } catch (e) {
      client?.dispose();
      // Not ours (or broken): do not knock again on every idle of this kernel.
      this._refused = kernel;
      console.warn('covalent-ts: no covalent-ts comm on this kernel', e);
      return null;
    }
    if (this._isDisposed || kernel !== this._kernel) {
      client.dispose();
      return null;
    }
    this._client = client;
    client.closed.connect(() => {
      if (this._client === client) {
        this._client = null;
        this._clientChanged.emit(null);
      }
    });
    this._clientChanged.emit(client);
    return client;
  }

  private _onKernelChanged(): void {
    this._dropClient();
    this._watch(this._session.session?.kernel ?? null);
    this._clientChanged.emit(null);
    void this.getClient();
  }

  private _watch(kernel: Kernel.IKernelConnection | null): void {
    if (this._kernel) {
      this._kernel.statusChanged.disconnect(this._onStatus, this);
    }
    this._kernel = kernel;
    if (kernel) {
      kernel.statusChanged.connect(this._onStatus, this);
    }
  }

  private _onStatus(_: Kernel.IKernelConnection, status: Kernel.Status): void {
    if (LOST_STATES.has(status)) {
      this._refused = null;
      if (this._client) {
        this._dropClient();
        this._clientChanged.emit(null);
      }
    } else if (status === 'idle' && !this._client && !this._connecting && this._wanted && this._refused !== this._kernel) {
      // A kernel that came up (or back after a restart) after someone asked:
      // connect now, and the widgets re-attach through clientChanged.
      void this.getClient();
    }
  }

  private _dropClient(): void {
    const client = this._client;
    this._client = null;
    client?.dispose();
  }

  private _session: Pick<ISessionContext, 'session' | 'kernelChanged' | 'isDisposed'>;
  private _kernel: Kernel.IKernelConnection | null = null;
  private _client: CovalentClient | null = null;
  /** Someone asked for a client: keep trying as kernels come and go. */
  private _wanted = false;
  private _refused: Kernel.IKernelConnection | null = null;
  private _connecting: Promise<CovalentClient | null> | null = null;
  private _isDisposed = false;
  private _clientChanged = new Signal<this, CovalentClient | null>(this);
}
