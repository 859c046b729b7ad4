import { ISignal, Signal } from '@lumino/signaling';
import type {
  CancelReportData,
  DeltaPush,
  DispatchSnapshot,
  NodeView,
  StatusName
} from 'covalent-ts-protocol';
import { newNodeView } from 'covalent-ts-protocol';
import { canTransition, isTerminal, nextStatus } from 'covalent-ts-protocol';

/**
 * How the graph is connected: `live` follows the kernel; `snapshot` shows the
 * copy saved in the notebook output and is read-only.
 */
export type GraphMode = 'live' | 'snapshot';

/** What changed in one model update; the view merges these per frame. */
export interface ModelChange {
  nodeIds: number[];
  /** Nodes were added or removed, or dependencies changed: lay out again. */
  structure: boolean;
  /** The dispatch's own status, times or mode changed. */
  dispatch: boolean;
}

/**
 * The state of one dispatch as the browser knows it: a snapshot plus the
 * deltas applied since. It never talks to the kernel itself (see
 * DispatchController), which keeps it easy to test and to render offline.
 */
export class DispatchModel {
  constructor(snapshot: DispatchSnapshot) {
    this._snapshot = { ...snapshot, nodes: [] };
    this._setNodes(snapshot.nodes);
  }

  get changed(): ISignal<this, ModelChange> {
    return this._changed;
  }
  get dispatchId(): string {
    return this._snapshot.dispatchId;
  }
  get name(): string {
    return this._snapshot.name;
  }
  get status(): StatusName {
    return this._snapshot.status;
  }
  get startedAt(): string | null {
    return this._snapshot.startedAt;
  }
  get completedAt(): string | null {
    return this._snapshot.completedAt;
  }
  /** The dispatch's own warning (80 % of its time limit or budget), null until it warned. */
  get limitWarning(): string | null {
    return this._snapshot.limitWarning ?? null;
  }
  /** Estimated cost of the whole dispatch; undefined when no executor has a price. */
  get cost(): number | undefined {
    return this._snapshot.cost;
  }
  /** When the shown snapshot was taken (meaningful in snapshot mode). */
  get takenAt(): string {
    return this._snapshot.takenAt;
  }
  get mode(): GraphMode {
    return this._mode;
  }
  /** Why the graph is read-only, when it is. */
  get modeReason(): string | null {
    return this._modeReason;
  }
  /** Sequence number of the last delta applied (live mode). */
  get seq(): number {
    return this._seq;
  }
  get nodes(): ReadonlyMap<number, NodeView> {
    return this._nodes;
  }
  node(id: number): NodeView | undefined {
    return this._nodes.get(id);
  }
  /** True when every node and the dispatch itself are terminal. */
  get isFinished(): boolean {
    return isTerminal(this._snapshot.status);
  }

  /** Replace everything with a fresh snapshot (first render, re-attach, or a newer saved output). */
  applySnapshot(snapshot: DispatchSnapshot, live: { seq: number } | null): void {
    const before = this._structureKey();
    this._snapshot = { ...snapshot, nodes: [] };
    this._setNodes(snapshot.nodes);
    if (live) {
      this._seq = live.seq;
    }
    const structure = before !== this._structureKey();
    this._emit({ nodeIds: [...this._nodes.keys()], structure, dispatch: true });
  }

  /**
   * Apply one pushed delta. Returns false (and applies nothing) when a delta
   * was missed, so the caller can re-subscribe for a fresh snapshot.
   */
  applyDelta(delta: DeltaPush): boolean {
    if (delta.dispatchId !== this.dispatchId) {
      return true;
    }
    if (delta.seq <= this._seq) {
      return true; // Already included in the snapshot we got.
    }
    if (delta.seq !== this._seq + 1) {
      return false;
    }
    this._seq = delta.seq;
    let structure = false;
    const ids: number[] = [];
    for (const patch of delta.nodes) {
      const existing = this._nodes.get(patch.id);
      if (!existing) {
        structure = true;
        this._nodes.set(patch.id, { ...EMPTY_NODE, ...patch } as NodeView);
      } else {
        if (patch.dependsOn && patch.dependsOn.join(',') !== existing.dependsOn.join(',')) {
          structure = true;
        }
        this._nodes.set(patch.id, mergeNode(existing, patch));
      }
      ids.push(patch.id);
    }
    if (delta.dispatch) {
      this._snapshot = { ...this._snapshot, ...delta.dispatch };
    }
    this._emit({ nodeIds: ids, structure, dispatch: !!delta.dispatch });
    return true;
  }

  /** Show CANCELLING at once after a click, before the kernel answers. */
  markCancelling(ids: number[], source: NodeView['cancelSource'] = 'comm'): void {
    const changed: number[] = [];
    for (const id of ids) {
      const n = this._nodes.get(id);
      if (n && n.status !== 'CANCELLING' && canTransition(n.status, 'CANCELLING')) {
        this._nodes.set(id, { ...n, status: 'CANCELLING', cancelRequested: true, cancelSource: source });
        changed.push(id);
      }
    }
    if (changed.length) {
      this._emit({ nodeIds: changed, structure: false, dispatch: false });
    }
  }

  /** Undo an optimistic CANCELLING when the kernel refused the request. */
  revertCancelling(previous: Map<number, NodeView>): void {
    const ids: number[] = [];
    for (const [id, before] of previous) {
      const now = this._nodes.get(id);
      if (now && now.status === 'CANCELLING') {
        this._nodes.set(id, before);
        ids.push(id);
      }
    }
    if (ids.length) {
      this._emit({ nodeIds: ids, structure: false, dispatch: false });
    }
  }

  /**
   * Fold a cancel report in: it carries the final outcome of each task, which may
   * arrive before the matching deltas. Terminal states already shown are kept.
   */
  applyCancelReport(report: CancelReportData): void {
    const ids: number[] = [];
    for (const t of report.tasks) {
      const n = this._nodes.get(t.nodeId);
      if (!n) {
        continue;
      }
      const status = isTerminal(n.status) ? n.status : t.statusAfter;
      this._nodes.set(t.nodeId, {
        ...n,
        status,
        cancelOutcome: n.cancelOutcome ?? t.outcome,
        cancelDetail: n.cancelDetail ?? t.detail,
        cancelSource: n.cancelSource ?? report.source,
        cancelReason: n.cancelReason ?? report.reason
      });
      ids.push(t.nodeId);
    }
    if (ids.length) {
      this._emit({ nodeIds: ids, structure: false, dispatch: false });
    }
  }

  setMode(mode: GraphMode, reason: string | null = null): void {
    if (mode === this._mode && reason === this._modeReason) {
      return;
    }
    this._mode = mode;
    this._modeReason = reason;
    this._emit({ nodeIds: [], structure: false, dispatch: true });
  }

  /** The nodes as a snapshot again (for saving or exporting). */
  toSnapshot(): DispatchSnapshot {
    return { ...this._snapshot, nodes: [...this._nodes.values()] };
  }

  private _setNodes(nodes: NodeView[]): void {
    this._nodes = new Map();
    for (const n of nodes) {
      this._nodes.set(n.id, n);
    }
  }

  private _structureKey(): string {
    let key = '';
    for (const n of this._nodes.values()) {
      key += `${n.id}:${n.dependsOn.join(',')};`;
    }
    return key;
  }

  private _emit(change: ModelChange): void {
    this._changed.emit(change);
  }

  private _snapshot: DispatchSnapshot;
  private _nodes = new Map<number, NodeView>();
  private _mode: GraphMode = 'snapshot';
  private _modeReason: string | null = null;
  private _seq = 0;
  private _changed = new Signal<this, ModelChange>(this);
}

const EMPTY_NODE: NodeView = newNodeView(-1);

/**
 * A late RUNNING must not overwrite CANCELLING we set on click, nor anything a
 * terminal status: only moves the status model allows are shown.
 */
function mergeNode(existing: NodeView, patch: Partial<NodeView>): NodeView {
  const merged = { ...existing, ...patch };
  if (patch.status) {
    merged.status = nextStatus(existing.status, patch.status);
  }
  return merged;
}
