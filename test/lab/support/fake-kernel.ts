import type {
  CancelReportData,
  ClientRequest,
  DeltaPush,
  DispatchSnapshot,
  KernelMessage,
  NodeView
} from '../../../src/protocol/messages';
import { PROTOCOL_VERSION, newNodeView } from '../../../src/protocol/messages';
import type { CommLike } from '../../../labextension/src/client/comm-like';

/**
 * The kernel side of the covalent-ts comm, in memory: it answers requests the
 * way the protocol says and lets a test push deltas. Replies are delivered on a
 * microtask, as a real comm never answers synchronously.
 */
export class FakeKernel {
  readonly sent: ClientRequest[] = [];
  readonly dispatches = new Map<string, DispatchSnapshot>();
  readonly seq = new Map<string, number>();
  /** Set to make the next reply to this request type an error. */
  failNext: Partial<Record<ClientRequest['type'], { code: string; message: string }>> = {};
  /** Hold replies until `release()` (to observe the state before the kernel answers). */
  holdReplies = false;
  protocol = PROTOCOL_VERSION;
  comms: FakeComm[] = [];

  createComm(): FakeComm {
    const comm = new FakeComm(this);
    this.comms.push(comm);
    return comm;
  }

  get comm(): FakeComm {
    return this.comms[this.comms.length - 1];
  }

  addDispatch(snapshot: DispatchSnapshot): void {
    this.dispatches.set(snapshot.dispatchId, snapshot);
    this.seq.set(snapshot.dispatchId, 0);
  }

  /** Push a delta with the next sequence number (or a given one, to make a gap). */
  pushDelta(dispatchId: string, nodes: DeltaPush['nodes'], extra: Partial<DeltaPush> = {}): DeltaPush {
    const seq = extra.seq ?? (this.seq.get(dispatchId) ?? 0) + 1;
    this.seq.set(dispatchId, seq);
    const snap = this.dispatches.get(dispatchId);
    if (snap) {
      for (const patch of nodes) {
        const i = snap.nodes.findIndex(n => n.id === patch.id);
        if (i >= 0) {
          snap.nodes[i] = { ...snap.nodes[i], ...patch } as NodeView;
        }
      }
    }
    const msg: DeltaPush = { v: PROTOCOL_VERSION, type: 'delta', dispatchId, seq, nodes, ...extra };
    this.comm.deliver(msg);
    return msg;
  }

  private _held: Array<() => void> = [];
  /** Deliver held replies; `lastFirst` answers the newest request first. */
  release(lastFirst = false): void {
    const held = lastFirst ? this._held.reverse() : this._held;
    this._held = [];
    held.forEach(f => f());
  }

  handle(comm: FakeComm, req: ClientRequest): void {
    this.sent.push(req);
    const fail = this.failNext[req.type];
    const reply = (msg: KernelMessage) => {
      const send = () => comm.deliver(msg);
      if (this.holdReplies) {
        this._held.push(send);
      } else {
        void Promise.resolve().then(send);
      }
    };
    if (fail) {
      delete this.failNext[req.type];
      reply({ v: PROTOCOL_VERSION, type: 'reply', id: req.id, ok: false, error: fail });
      return;
    }
    const ok = (result: unknown) => reply({ v: PROTOCOL_VERSION, type: 'reply', id: req.id, ok: true, result });
    switch (req.type) {
      case 'hello':
        return ok({ protocol: this.protocol, kernel: 'fake', version: '0' });
      case 'subscribe': {
        const snap = this.dispatches.get(req.dispatchId);
        if (!snap) {
          reply({ v: PROTOCOL_VERSION, type: 'reply', id: req.id, ok: false, error: { code: 'CT_UNKNOWN_DISPATCH', message: 'unknown' } });
          return;
        }
        return ok({ snapshot: JSON.parse(JSON.stringify(snap)), seq: this.seq.get(req.dispatchId) ?? 0 });
      }
      case 'unsubscribe':
        return ok({});
      case 'list':
        return ok({
          dispatches: [...this.dispatches.values()].map(d => ({
            dispatchId: d.dispatchId,
            name: d.name,
            status: d.status,
            startedAt: d.startedAt,
            completedAt: d.completedAt,
            nodeCount: d.nodes.length,
            parentDispatchId: d.parentDispatchId
          }))
        });
      case 'cancel_tasks':
      case 'cancel_dispatch': {
        const snap = this.dispatches.get(req.dispatchId)!;
        const ids = req.type === 'cancel_tasks' ? req.taskIds : snap.nodes.map(n => n.id);
        const report: CancelReportData = {
          dispatchId: req.dispatchId,
          requestedAt: new Date().toISOString(),
          completedAt: new Date().toISOString(),
          reason: req.reason ?? null,
          source: 'comm',
          requestedTaskIds: req.type === 'cancel_tasks' ? req.taskIds : null,
          tasks: ids.map(id => {
            const n = snap.nodes.find(x => x.id === id)!;
            return {
              nodeId: id,
              name: n.name,
              outcome: 'killed',
              statusBefore: n.status,
              statusAfter: 'CANCELLED',
              downstreamOf: null,
              detail: null
            };
          }),
          confirmed: true,
          summary: 'cancelled'
        };
        return ok(report);
      }
    }
  }
}

export class FakeComm implements CommLike {
  constructor(private kernel: FakeKernel) {}
  isDisposed = false;
  opened = false;
  onMsg: CommLike['onMsg'] = null;
  onClose: CommLike['onClose'] = null;
  open(): void {
    this.opened = true;
  }
  send(data: any): void {
    if (this.isDisposed) {
      throw new Error('Comm is closed');
    }
    this.kernel.handle(this, data as ClientRequest);
  }
  close(): void {
    if (!this.isDisposed) {
      this.isDisposed = true;
      void this.onClose?.({});
    }
  }
  deliver(msg: KernelMessage): void {
    if (!this.isDisposed) {
      void this.onMsg?.({ content: { data: msg } });
    }
  }
}

export function node(id: number, patch: Partial<NodeView> = {}): NodeView {
  return newNodeView(id, { name: `task_${id}`, executor: 'local', ...patch });
}

/** A diamond: 0 -> 1, 0 -> 2, {1,2} -> 3. */
export function diamond(dispatchId = 'd-1'): DispatchSnapshot {
  return {
    dispatchId,
    name: 'diamond',
    status: 'RUNNING',
    startedAt: '2026-01-01T00:00:00.000Z',
    completedAt: null,
    parentDispatchId: null,
    takenAt: '2026-01-01T00:00:05.000Z',
    nodes: [
      node(0, { name: 'load', status: 'COMPLETED' }),
      node(1, { name: 'train', status: 'RUNNING', dependsOn: [0], jobHandle: { pid: 42 } }),
      node(2, { name: 'score', dependsOn: [0] }),
      node(3, { name: 'report', dependsOn: [1, 2] })
    ]
  };
}
