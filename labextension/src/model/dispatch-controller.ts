import { IDisposable } from '@lumino/disposable';
import { ISignal, Signal } from '@lumino/signaling';
import type { CancelReportData, DeltaPush, NodeView } from 'covalent-ts-protocol';
import type { CovalentClient } from '../client/covalent-client';
import { CovalentLabError } from '../client/errors';
import { DispatchModel } from './dispatch-model';
import { isTerminal } from 'covalent-ts-protocol';

/** The source of kernel connections a controller follows (a notebook's session). */
export interface ConnectionSource {
  readonly client: CovalentClient | null;
  getClient(): Promise<CovalentClient | null>;
  readonly clientChanged: ISignal<unknown, CovalentClient | null>;
}

/** Short, translatable reasons the graph is read-only. */
export type ReadOnlyReason = 'no-kernel' | 'unknown-dispatch' | 'connecting';

/**
 * Attaches a DispatchModel to the live dispatch in the kernel: subscribes,
 * applies deltas in order, re-subscribes on a gap or a new kernel, and carries
 * out cancel clicks. Without a kernel the model stays a read-only snapshot.
 */
export class DispatchController implements IDisposable {
  constructor(model: DispatchModel, source: ConnectionSource | null) {
    this.model = model;
    this._source = source;
    if (source) {
      source.clientChanged.connect(this._onClientChanged, this);
    }
    this.model.setMode('snapshot', 'connecting');
    void this.attach();
  }

  readonly model: DispatchModel;

  /** Emitted when an action fails (the view shows the message). */
  get error(): ISignal<this, CovalentLabError> {
    return this._error;
  }
  /** Resolves when the current attach attempt has finished (for tests and reloads). */
  get attached(): Promise<void> {
    return this._attaching;
  }
  get canCancel(): boolean {
    return this.model.mode === 'live' && !!this._client?.isOpen;
  }
  get isDisposed(): boolean {
    return this._isDisposed;
  }

  /** Follow the live dispatch if the kernel knows it; otherwise stay a snapshot. */
  attach(): Promise<void> {
    this._attaching = this._attach();
    return this._attaching;
  }

  /** Cancel some tasks: CANCELLING shows at once, final states follow from the kernel. */
  async cancelTasks(ids: number[], reason?: string): Promise<CancelReportData | null> {
    const client = this._requireClient();
    const previous = new Map<number, NodeView>();
    for (const id of ids) {
      const n = this.model.node(id);
      if (n && !isTerminal(n.status)) {
        previous.set(id, n);
      }
    }
    this.model.markCancelling(ids);
    try {
      const report = await client.cancelTasks(this.model.dispatchId, ids, reason);
      this.model.applyCancelReport(report);
      return report;
    } catch (e) {
      this.model.revertCancelling(previous);
      this._fail(e);
      return null;
    }
  }

  /** Cancel the whole dispatch (confirmation is the view's job). */
  async cancelDispatch(reason?: string): Promise<CancelReportData | null> {
    const client = this._requireClient();
    const ids = [...this.model.nodes.values()].filter(n => !isTerminal(n.status)).map(n => n.id);
    this.model.markCancelling(ids);
    try {
      const report = await client.cancelDispatch(this.model.dispatchId, reason);
      this.model.applyCancelReport(report);
      return report;
    } catch (e) {
      this._fail(e);
      return null;
    }
  }

  dispose(): void {
    if (this._isDisposed) {
      return;
    }
    this._isDisposed = true;
    const client = this._client;
    this._setClient(null);
    if (client?.isOpen) {
      client.unsubscribe(this.model.dispatchId).catch(() => undefined);
    }
    Signal.clearData(this);
  }

  private async _attach(): Promise<void> {
    const client = this._source ? await this._source.getClient() : null;
    if (this._isDisposed) {
      return;
    }
    if (!client) {
      this._setClient(null);
      this.model.setMode('snapshot', 'no-kernel');
      return;
    }
    await this._subscribe(client);
  }

  private async _subscribe(client: CovalentClient): Promise<void> {
    this._setClient(client);
    this._buffer = [];
    this._subscribing = true;
    try {
      const result = await client.subscribe(this.model.dispatchId);
      if (this._isDisposed || this._client !== client) {
        return;
      }
      this.model.applySnapshot(result.snapshot, { seq: result.seq });
      this.model.setMode('live');
      this._subscribing = false;
      // Deltas that raced the reply: apply the ones newer than the snapshot.
      const buffered = this._buffer;
      this._buffer = [];
      for (const d of buffered) {
        this._onDelta(client, d);
      }
    } catch (e) {
      this._subscribing = false;
      if (this._client === client) {
        this._setClient(null);
      }
      const code = (e as CovalentLabError).code;
      this.model.setMode('snapshot', code === 'COMM_CLOSED' ? 'no-kernel' : 'unknown-dispatch');
    }
  }

  private _onDelta(client: CovalentClient, delta: DeltaPush): void {
    if (delta.dispatchId !== this.model.dispatchId || client !== this._client) {
      return;
    }
    if (this._subscribing) {
      this._buffer.push(delta);
      return;
    }
    if (!this.model.applyDelta(delta)) {
      // A gap means we missed changes: a fresh snapshot is cheaper than guessing.
      void this._subscribe(client);
    }
  }

  private _onClientChanged(_: unknown, client: CovalentClient | null): void {
    if (this._isDisposed) {
      return;
    }
    if (!client) {
      this._setClient(null);
      this.model.setMode('snapshot', 'no-kernel');
      return;
    }
    if (client !== this._client) {
      void this._subscribe(client);
    }
  }

  private _setClient(client: CovalentClient | null): void {
    if (this._client === client) {
      return;
    }
    if (this._client) {
      this._client.delta.disconnect(this._deltaSlot, this);
      this._client.closed.disconnect(this._closedSlot, this);
    }
    this._client = client;
    if (client) {
      client.delta.connect(this._deltaSlot, this);
      client.closed.connect(this._closedSlot, this);
    }
  }

  private _deltaSlot(sender: CovalentClient, delta: DeltaPush): void {
    this._onDelta(sender, delta);
  }

  private _closedSlot(sender: CovalentClient): void {
    if (sender === this._client) {
      this._setClient(null);
      this.model.setMode('snapshot', 'no-kernel');
    }
  }

  private _requireClient(): CovalentClient {
    if (!this._client || !this._client.isOpen || this.model.mode !== 'live') {
      throw new CovalentLabError('NO_KERNEL', 'No kernel is connected to this dispatch; the graph is a read-only snapshot.');
    }
    return this._client;
  }

  private _fail(e: unknown): void {
    const err =
      e instanceof CovalentLabError
        ? e
        : new CovalentLabError('KERNEL_ERROR', (e as Error)?.message ?? String(e), { cause: e });
    this._error.emit(err);
  }

  private _source: ConnectionSource | null;
  private _client: CovalentClient | null = null;
  private _subscribing = false;
  private _buffer: DeltaPush[] = [];
  private _attaching: Promise<void> = Promise.resolve();
  private _isDisposed = false;
  private _error = new Signal<this, CovalentLabError>(this);
}
