import { ISignal, Signal } from '@lumino/signaling';
import { IDisposable } from '@lumino/disposable';
import {
  COMM_TARGET,
  PROTOCOL_VERSION,
  type ClientRequest,
  type DeltaPush,
  type DispatchSummary,
  type HelloResult,
  type KernelMessage,
  type ListResult,
  type SubscribeResult,
  type CancelReportData
} from 'covalent-ts-protocol';
import type { CommLike } from './comm-like';
import { CovalentLabError } from './errors';

export { COMM_TARGET };

/** Distributes a union over `Omit`, so each request keeps its own fields. */
type RequestBody<R> = R extends unknown ? Omit<R, 'v' | 'id'> : never;

interface Pending {
  resolve(value: unknown): void;
  reject(err: Error): void;
  timer: ReturnType<typeof setTimeout>;
}

/**
 * One comm to the covalent-ts kernel: request/reply with ids, and the kernel's
 * pushes as signals. A client lives as long as its comm; the session manager
 * makes a new one when the kernel changes or restarts.
 */
export class CovalentClient implements IDisposable {
  constructor(comm: CommLike, options: { requestTimeoutMs?: number } = {}) {
    this._comm = comm;
    this._timeoutMs = options.requestTimeoutMs ?? 30000;
    comm.onMsg = msg => this._onMessage(msg.content.data as KernelMessage);
    comm.onClose = () => this._onClosed();
  }

  /** Node changes of subscribed dispatches, in kernel order. */
  get delta(): ISignal<this, DeltaPush> {
    return this._delta;
  }
  /** The kernel's list of dispatches, pushed whenever one starts or ends. */
  get dispatches(): ISignal<this, DispatchSummary[]> {
    return this._dispatches;
  }
  /** Emitted once, when the comm closes or the client is disposed. */
  get closed(): ISignal<this, void> {
    return this._closedSignal;
  }
  get isOpen(): boolean {
    return this._open && !this._isDisposed;
  }
  get isDisposed(): boolean {
    return this._isDisposed;
  }
  /** The latest list the kernel pushed or replied with. */
  get lastDispatches(): DispatchSummary[] {
    return this._lastDispatches;
  }

  /** Open the comm and agree on the protocol version. */
  async connect(): Promise<HelloResult> {
    this._comm.open({ v: PROTOCOL_VERSION });
    this._open = true;
    const hello = await this.request<HelloResult>({ type: 'hello', protocols: [PROTOCOL_VERSION] });
    if (hello.protocol !== PROTOCOL_VERSION) {
      throw new CovalentLabError(
        'PROTOCOL_MISMATCH',
        `The kernel speaks covalent-ts protocol ${hello.protocol}; this extension speaks ${PROTOCOL_VERSION}. Install matching versions.`
      );
    }
    return hello;
  }

  subscribe(dispatchId: string): Promise<SubscribeResult> {
    return this.request<SubscribeResult>({ type: 'subscribe', dispatchId });
  }
  unsubscribe(dispatchId: string): Promise<unknown> {
    return this.request({ type: 'unsubscribe', dispatchId });
  }
  async list(): Promise<DispatchSummary[]> {
    const result = await this.request<ListResult>({ type: 'list' });
    this._lastDispatches = result.dispatches;
    return result.dispatches;
  }
  cancelDispatch(dispatchId: string, reason?: string): Promise<CancelReportData> {
    return this.request<CancelReportData>({ type: 'cancel_dispatch', dispatchId, reason });
  }
  cancelTasks(dispatchId: string, taskIds: number[], reason?: string): Promise<CancelReportData> {
    return this.request<CancelReportData>({ type: 'cancel_tasks', dispatchId, taskIds, reason });
  }

  /** Send one request and wait for its reply; rejects with the kernel's error code. */
  request<T>(body: RequestBody<ClientRequest>): Promise<T> {
    if (!this.isOpen) {
      return Promise.reject(new CovalentLabError('COMM_CLOSED', 'The kernel connection is closed; restart or reconnect the kernel.'));
    }
    const id = `${this._idPrefix}-${++this._nextId}`;
    const message = { ...body, v: PROTOCOL_VERSION, id } as ClientRequest;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this._pending.delete(id);
        reject(new CovalentLabError('REQUEST_TIMEOUT', `The kernel did not answer "${body.type}" within ${this._timeoutMs} ms.`));
      }, this._timeoutMs);
      this._pending.set(id, { resolve: resolve as (v: unknown) => void, reject, timer });
      try {
        this._comm.send(message as any);
      } catch (e) {
        clearTimeout(timer);
        this._pending.delete(id);
        reject(new CovalentLabError('COMM_CLOSED', 'Could not send to the kernel.', { cause: e }));
      }
    });
  }

  dispose(): void {
    if (this._isDisposed) {
      return;
    }
    if (this._open && !this._comm.isDisposed) {
      try {
        this._comm.close();
      } catch {
        // The kernel may already be gone; closing is best effort.
      }
    }
    this._onClosed();
    this._isDisposed = true;
    Signal.clearData(this);
  }

  private _onMessage(msg: KernelMessage): void {
    if (!msg || typeof msg !== 'object') {
      return;
    }
    switch (msg.type) {
      case 'reply': {
        const pending = msg.id === null ? undefined : this._pending.get(msg.id);
        if (!pending || msg.id === null) {
          return;
        }
        this._pending.delete(msg.id);
        clearTimeout(pending.timer);
        if (msg.ok) {
          pending.resolve(msg.result);
        } else {
          pending.reject(new CovalentLabError(msg.error.code, msg.error.message));
        }
        return;
      }
      case 'delta':
        this._delta.emit(msg);
        return;
      case 'dispatches':
        this._lastDispatches = msg.dispatches;
        this._dispatches.emit(msg.dispatches);
        return;
    }
  }

  private _onClosed(): void {
    if (!this._open && this._closedEmitted) {
      return;
    }
    this._open = false;
    for (const [, p] of this._pending) {
      clearTimeout(p.timer);
      p.reject(new CovalentLabError('COMM_CLOSED', 'The kernel connection closed before the reply arrived.'));
    }
    this._pending.clear();
    if (!this._closedEmitted) {
      this._closedEmitted = true;
      this._closedSignal.emit();
    }
  }

  private _comm: CommLike;
  private _timeoutMs: number;
  private _open = false;
  private _isDisposed = false;
  private _closedEmitted = false;
  private _nextId = 0;
  private _idPrefix = Math.random().toString(36).slice(2, 8);
  private _pending = new Map<string, Pending>();
  private _lastDispatches: DispatchSummary[] = [];
  private _delta = new Signal<this, DeltaPush>(this);
  private _dispatches = new Signal<this, DispatchSummary[]>(this);
  private _closedSignal = new Signal<this, void>(this);
}
