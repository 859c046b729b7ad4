import { CtError, ErrorCodes } from '../src/errors';
import {
  PROTOCOL_VERSION,
  type ClientRequest,
  type DeltaPush,
  type DispatchesPush,
  type DispatchSnapshot,
  type DispatchSummary,
  type HelloResult,
  type KernelMessage,
  type ListResult,
  type NodeView,
  type SubscribeResult,
  type UnsubscribeResult,
} from '../src/protocol';
import type { DispatcherEventMap } from '../src/dispatcher/events';
import type { OrphanReport } from '../src/dispatcher/orphans';
import type { Comm, CommHandlers, CommTarget } from './comm-manager';
import { reportData, type DispatcherPort } from './core';
import type { CommSubscriptions } from './comm-subscriptions';
import { validateRequest } from './comm-validation';

/** Code of errors nobody planned for (a bug): the comm replies and keeps going. */
export const INTERNAL_ERROR_CODE = ErrorCodes.INTERNAL;

export interface CovalentCommOptions {
  getDispatcher: () => DispatcherPort;
  kernelVersion: string;
  /** Deltas are coalesced for this long before a push (default 25 ms). */
  batchMs?: number;
  log?: (text: string) => void;
  /** Kernel-wide record of subscribed dispatches (read by the notebook display). */
  subscriptions?: CommSubscriptions;
}

interface Subscription {
  seq: number;
  nodes: Map<number, Partial<NodeView> & { id: number }>;
  dispatch: DeltaPush['dispatch'] | null;
}

/**
 * The `covalent-ts` comm target: the JupyterLab extension's live view of the
 * kernel's dispatches, and its cancel buttons.
 *
 * Requests are validated against the protocol schema; each gets exactly one
 * reply, an error reply when it is malformed, unknown or fails, and a bad
 * request never takes the kernel down. Subscriptions receive a snapshot and
 * then batched deltas pushed from dispatcher events (no polling).
 */
export function covalentCommTarget(options: CovalentCommOptions): CommTarget {
  return (comm) => new CovalentCommSession(comm, options).handlers();
}

class CovalentCommSession {
  private readonly subs = new Map<string, Subscription>();
  private wantsList = false;
  private listDirty = false;
  private timer: NodeJS.Timeout | null = null;
  private dispatcher: DispatcherPort | null = null;
  /** Orphans of earlier processes, looked up on each list request: listed after this process's own dispatches. */
  private orphans: DispatchSummary[] = [];
  private readonly batchMs: number;

  constructor(
    private readonly comm: Comm,
    private readonly options: CovalentCommOptions,
  ) {
    this.batchMs = options.batchMs ?? 25;
  }

  handlers(): CommHandlers {
    return {
      onMessage: (data) => this.onMessage(data),
      onClose: () => this.dispose(),
    };
  }

  private async onMessage(data: unknown): Promise<void> {
    const checked = validateRequest(data);
    if (!checked.ok) return this.fail(checked.id, ErrorCodes.PROTOCOL, checked.message);
    const req = checked.request;
    if (req.type !== 'hello' && req.v !== PROTOCOL_VERSION) {
      return this.fail(req.id, ErrorCodes.PROTOCOL, `Protocol version ${req.v} is not supported; this kernel speaks ${PROTOCOL_VERSION}. Send a hello first.`);
    }
    try {
      this.ok(req.id, await this.handle(req));
    } catch (e) {
      const err = e as { code?: unknown; message?: unknown };
      const code = typeof err?.code === 'string' && err.code.startsWith('CT_') ? err.code : INTERNAL_ERROR_CODE;
      if (code === INTERNAL_ERROR_CODE) this.options.log?.(`covalent-ts comm: ${req.type} failed: ${(e as Error)?.stack ?? String(e)}\n`);
      this.fail(req.id, code, typeof err?.message === 'string' ? err.message : String(e));
    }
  }

  private async handle(req: ClientRequest): Promise<unknown> {
    switch (req.type) {
      case 'hello': {
        if (!req.protocols.includes(PROTOCOL_VERSION)) {
          throw new CtError(ErrorCodes.PROTOCOL, `No common protocol version: the client offers [${req.protocols.join(', ')}], this kernel speaks ${PROTOCOL_VERSION}.`);
        }
        const result: HelloResult = { protocol: PROTOCOL_VERSION, kernel: 'covalent-ts', version: this.options.kernelVersion };
        return result;
      }
      case 'list': {
        this.wantsList = true;
        this.ensureListening();
        this.orphans = (await this.d().orphans()).map(orphanSummary);
        const result: ListResult = { dispatches: this.dispatchList() };
        return result;
      }
      case 'subscribe': {
        // Listen before taking the snapshot: changes made meanwhile are merged
        // into the first delta, which then carries their latest values.
        this.ensureListening();
        const existing = this.subs.get(req.dispatchId);
        const sub: Subscription = existing ?? { seq: 0, nodes: new Map(), dispatch: null };
        this.subs.set(req.dispatchId, sub);
        if (!existing) this.options.subscriptions?.add(req.dispatchId);
        let snapshot: DispatchSnapshot;
        try {
          const live = this.d().liveSnapshot(req.dispatchId);
          // Durable before reported: the view gets the live state once what it shows is on disk.
          if (live) await this.d().whenDurable?.();
          snapshot = live ?? (await this.d().snapshot(req.dispatchId));
        } catch (e) {
          if (!existing) this.unsubscribe(req.dispatchId);
          throw e;
        }
        const result: SubscribeResult = { snapshot, seq: sub.seq };
        return result;
      }
      case 'unsubscribe': {
        const result: UnsubscribeResult = { unsubscribed: this.unsubscribe(req.dispatchId) };
        return result;
      }
      case 'cancel_dispatch':
        return reportData(await this.d().cancel(req.dispatchId, { reason: req.reason, source: 'comm' }));
      case 'cancel_tasks':
        return reportData(await this.d().cancel(req.dispatchId, { taskIds: req.taskIds, reason: req.reason, source: 'comm' }));
    }
  }

  private dispatchList(): DispatchSummary[] {
    const own = this.d().listDispatches();
    const ownIds = new Set(own.map((d) => d.dispatchId));
    return [...own, ...this.orphans.filter((o) => !ownIds.has(o.dispatchId))];
  }

  /** The current process-wide dispatcher; listeners follow it if a cell replaced it (ct.shutdown()). */
  private d(): DispatcherPort {
    const current = this.options.getDispatcher();
    if (current !== this.dispatcher) {
      const wasListening = this.listening;
      this.stopListening();
      this.dispatcher = current;
      if (wasListening) this.ensureListening();
    }
    return current;
  }

  // ---- pushes ---------------------------------------------------------------

  private listening = false;
  private readonly onNode = (e: DispatcherEventMap['node-changed']) => {
    const sub = this.subs.get(e.dispatchId);
    if (!sub) return;
    const prev = sub.nodes.get(e.node.id);
    sub.nodes.set(e.node.id, prev ? Object.assign(prev, e.node) : { ...e.node });
    this.schedule();
  };
  private readonly onDispatchChanged = (e: DispatcherEventMap['dispatch-changed']) => {
    const sub = this.subs.get(e.dispatchId);
    if (sub) {
      sub.dispatch = { ...(sub.dispatch ?? {}), status: e.status, startedAt: e.startedAt, completedAt: e.completedAt };
      // The dispatch's own cost and limit warning travel with it, as a node's do with the node.
      if (e.cost !== undefined) sub.dispatch.cost = e.cost;
      if (e.limitWarning !== undefined) sub.dispatch.limitWarning = e.limitWarning;
      this.schedule();
    }
    this.markList();
  };
  private readonly onCreated = () => this.markList();

  private ensureListening(): void {
    if (this.listening) return;
    const d = this.d();
    d.on('node-changed', this.onNode);
    d.on('dispatch-changed', this.onDispatchChanged);
    d.on('dispatch-created', this.onCreated);
    this.listening = true;
  }

  private markList(): void {
    if (!this.wantsList) return;
    this.listDirty = true;
    this.schedule();
  }

  private schedule(): void {
    if (this.timer || this.comm.closed) return;
    this.timer = setTimeout(() => this.flush(), this.batchMs);
  }

  private flush(): void {
    this.timer = null;
    if (this.comm.closed) return;
    for (const [dispatchId, sub] of this.subs) {
      if (sub.nodes.size === 0 && !sub.dispatch) continue;
      const push: DeltaPush = { v: PROTOCOL_VERSION, type: 'delta', dispatchId, seq: ++sub.seq, nodes: Array.from(sub.nodes.values()) };
      if (sub.dispatch) push.dispatch = sub.dispatch;
      sub.nodes = new Map();
      sub.dispatch = null;
      this.send(push);
    }
    if (this.listDirty) {
      this.listDirty = false;
      const push: DispatchesPush = { v: PROTOCOL_VERSION, type: 'dispatches', dispatches: this.dispatchList() };
      this.send(push);
    }
  }

  private unsubscribe(dispatchId: string): boolean {
    if (!this.subs.delete(dispatchId)) return false;
    this.options.subscriptions?.remove(dispatchId);
    return true;
  }

  private dispose(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    for (const id of [...this.subs.keys()]) this.unsubscribe(id);
    this.stopListening();
  }

  private stopListening(): void {
    if (this.listening && this.dispatcher) {
      this.dispatcher.off('node-changed', this.onNode);
      this.dispatcher.off('dispatch-changed', this.onDispatchChanged);
      this.dispatcher.off('dispatch-created', this.onCreated);
    }
    this.listening = false;
  }

  // ---- replies --------------------------------------------------------------

  private send(msg: KernelMessage): void {
    this.comm.send(msg);
  }

  private ok(id: string, result: unknown): void {
    this.send({ v: PROTOCOL_VERSION, type: 'reply', id, ok: true, result });
  }

  private fail(id: string | null, code: string, message: string): void {
    this.send({ v: PROTOCOL_VERSION, type: 'reply', id, ok: false, error: { code, message } });
  }
}

function orphanSummary(o: OrphanReport): DispatchSummary {
  return { dispatchId: o.dispatchId, name: o.name, status: o.status, startedAt: o.startedAt, completedAt: null, nodeCount: o.nodeCount, parentDispatchId: null, orphaned: true };
}
