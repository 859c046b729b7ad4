import type { ITranslator, TranslationBundle } from '@jupyterlab/translation';
import { loadBundle } from '../translation';
import { Widget } from '@lumino/widgets';
import type { NodeView } from 'covalent-ts-protocol';
import type { DispatchController } from '../model/dispatch-controller';
import type { DispatchModel, ModelChange } from '../model/dispatch-model';
import { isTerminal } from 'covalent-ts-protocol';
import { dispatchCancelBlock, modeBlock, taskCancelBlock, type CancelContext } from './cancel-policy';
import { renderDetails } from './details-view';
import { CommandIDs } from '../commands';
import { drawEdges } from './edges';
import { GraphToolbar } from './graph-toolbar';
import { Downstream } from './downstream';
import { ElapsedClock } from './elapsed-clock';
import { layoutGraph, NODE_HEIGHT, NODE_WIDTH, type GraphLayout } from './layout';
import { NodeElement, type CancelBlock, type NodeContext } from './node-element';
import { PanZoom } from './pan-zoom';

export interface DispatchGraphOptions {
  model: DispatchModel;
  /** Null for a graph that can only ever be a snapshot. */
  controller: DispatchController | null;
  translator?: ITranslator | null;
  /** Ask the user to confirm cancelling the whole dispatch. */
  confirmCancelDispatch?: (model: DispatchModel) => Promise<boolean>;
  /** Build the graph of a sublattice's sub-dispatch, or null when it cannot be shown. */
  openSublattice?: (subDispatchId: string, parent: DispatchGraph) => DispatchGraph | null;
  /** Schedules the per-frame flush; tests pass a synchronous one. */
  requestFrame?: (cb: () => void) => unknown;
  /**
   * JupyterLab's commands: the node buttons execute `covalent-ts:cancel-task`
   * and the toolbar `covalent-ts:cancel-dispatch` when they are registered
   * (without them, e.g. outside JupyterLab, the graph cancels directly).
   */
  commands?: GraphCommands | null;
}

/** The part of JupyterLab's command registry a graph uses. */
export interface GraphCommands {
  hasCommand(id: string): boolean;
  execute(id: string, args: { [key: string]: string | number }): Promise<unknown>;
}

const FRAME = (cb: () => void) => requestAnimationFrame(() => cb());
/** Below this zoom, nodes drop their text (see the pan-zoom callback). */
export const OVERVIEW_SCALE = 0.4;

/**
 * A dispatch's transport graph with per-task cancel buttons. Model changes are
 * merged and drawn once per animation frame, so thousands of status updates a
 * second cost one DOM pass per frame.
 */
export class DispatchGraph extends Widget {
  constructor(options: DispatchGraphOptions) {
    super();
    this.model = options.model;
    this.controller = options.controller;
    this._trans = loadBundle(options.translator);
    this._confirm = options.confirmCancelDispatch ?? (async () => true);
    this._openSublattice = options.openSublattice;
    this._requestFrame = options.requestFrame ?? FRAME;
    this._commands = options.commands ?? null;
    this.addClass('jp-CovalentGraph');
    this._build();
    this.model.changed.connect(this._onModelChanged, this);
    this.controller?.error.connect((_, err) => this.showMessage(err.message), this);
    this._renderAll();
  }

  readonly model: DispatchModel;
  readonly controller: DispatchController | null;

  /** The selected node (for the details view and the "Cancel selected task" command). */
  get selectedNodeId(): number | null {
    return this._selected;
  }
  /** The engine of the last layout, for diagnostics and benchmarks. */
  get layoutEngine(): GraphLayout['engine'] | null {
    return this._graphLayout?.engine ?? null;
  }

  selectNode(id: number | null): void {
    if (this._selected !== null) {
      this._elements.get(this._selected)!.selected = false;
    }
    this._selected = id !== null && this._elements.has(id) ? id : null;
    if (this._selected !== null) {
      this._elements.get(this._selected)!.selected = true;
    }
    renderDetails(this._details, this._selected === null ? undefined : this.model.node(this._selected), this._trans);
  }

  /** Why cancelling this node is impossible now, or null (the shared {@link taskCancelBlock} policy). */
  cancelBlock(node: NodeView | undefined): CancelBlock {
    return taskCancelBlock(this.cancelContext, node, this._trans);
  }

  /** Why cancelling the whole dispatch is impossible now, or null. */
  get dispatchBlock(): CancelBlock {
    return dispatchCancelBlock(this.cancelContext, this._trans);
  }

  /** What the cancel policy reads of this graph. */
  get cancelContext(): CancelContext {
    const m = this.model;
    return { mode: m.mode, modeReason: m.modeReason, canCancel: this.controller?.canCancel === true, status: m.status };
  }

  /** Cancel tasks (no confirmation: a per-task cancel is cheap to redo). */
  async cancelTasks(ids: number[]): Promise<void> {
    if (!this.controller) {
      return;
    }
    try {
      await this.controller.cancelTasks(ids);
    } catch (e) {
      this.showMessage((e as Error).message);
    }
  }

  /** Cancel the whole dispatch after the user confirms. */
  async cancelDispatch(): Promise<void> {
    if (!this.controller || this.dispatchBlock) {
      return;
    }
    if (!(await this._confirm(this.model))) {
      return;
    }
    try {
      await this.controller.cancelDispatch();
    } catch (e) {
      this.showMessage((e as Error).message);
    }
  }

  showMessage(text: string): void {
    this._message.textContent = text;
    this._message.hidden = !text;
  }

  fit(): void {
    this._panZoom.fit();
  }

  dispose(): void {
    if (this.isDisposed) {
      return;
    }
    for (const sub of this._subGraphs.values()) {
      sub.dispose();
    }
    this._subGraphs.clear();
    this.controller?.dispose();
    this._clock.stop();
    this._panZoom.dispose();
    super.dispose();
  }

  protected onAfterAttach(): void {
    this._panZoom.fit();
  }

  private _build(): void {
    const t = this._trans;
    const node = this.node;
    node.setAttribute('role', 'region');
    node.dataset.dispatchId = this.model.dispatchId;

    this._toolbar = new GraphToolbar(t, {
      zoomBy: factor => this._panZoom.zoomBy(factor),
      fit: () => this._panZoom.fit(),
      cancelDispatch: () => {
        if (this._commands?.hasCommand(CommandIDs.cancelDispatch)) {
          void this._commands.execute(CommandIDs.cancelDispatch, { dispatchId: this.model.dispatchId });
        } else {
          void this.cancelDispatch();
        }
      }
    });

    this._message = document.createElement('div');
    this._message.className = 'jp-CovalentGraph-message';
    this._message.setAttribute('role', 'status');
    this._message.hidden = true;

    const body = document.createElement('div');
    body.className = 'jp-CovalentGraph-body';
    this._viewport = document.createElement('div');
    this._viewport.className = 'jp-CovalentGraph-viewport';
    this._canvas = document.createElement('div');
    this._canvas.className = 'jp-CovalentGraph-canvas';
    this._edges = document.createElementNS('http://www.w3.org/2000/svg', 'svg');
    this._edges.classList.add('jp-CovalentGraph-edges');
    this._edges.setAttribute('aria-hidden', 'true');
    this._nodesLayer = document.createElement('div');
    this._nodesLayer.className = 'jp-CovalentGraph-nodes';
    this._canvas.append(this._edges, this._nodesLayer);
    this._viewport.append(this._canvas);
    this._details = document.createElement('div');
    this._details.className = 'jp-CovalentDetails';
    this._details.setAttribute('aria-label', t.__('Task details'));
    body.append(this._viewport, this._details);

    this._subContainer = document.createElement('div');
    this._subContainer.className = 'jp-CovalentGraph-sublattices';

    node.append(this._toolbar.node, this._message, body, this._subContainer);
    this._panZoom = new PanZoom(this._viewport, this._canvas, scale => {
      // Text smaller than ~5 px is unreadable and costs most of each frame to
      // paint: below this zoom the graph shows boxes with status borders only.
      this._canvas.classList.toggle('jp-mod-overview', scale < OVERVIEW_SCALE);
    });

    // One delegated listener for every node: cheaper than a listener per button.
    this._nodesLayer.addEventListener('click', ev => this._onNodeClick(ev));
    this._nodesLayer.addEventListener('keydown', ev => {
      const target = ev.target as HTMLElement;
      if ((ev.key === 'Enter' || ev.key === ' ') && target.classList.contains('jp-CovalentNode')) {
        ev.preventDefault();
        this.selectNode(Number(target.dataset.nodeId));
      }
    });
    // Pointing at or focusing a cancel button shows what else it stops.
    const preview = (ev: Event) => {
      const button = (ev.target as HTMLElement).closest?.('button[data-action="cancel-task"]') as HTMLButtonElement | null;
      this._previewCancel(button && !button.disabled ? Number(button.dataset.nodeId) : null);
    };
    this._nodesLayer.addEventListener('pointerover', preview);
    this._nodesLayer.addEventListener('focusin', preview);
    this._nodesLayer.addEventListener('pointerleave', () => this._previewCancel(null));
    this._nodesLayer.addEventListener('focusout', () => this._previewCancel(null));
    renderDetails(this._details, undefined, t);
  }

  /** Highlight `id` and the unfinished tasks downstream of it (null: clear). */
  private _previewCancel(id: number | null): void {
    if (id === this._previewed) {
      return;
    }
    for (const other of this._previewSet) {
      const el = this._elements.get(other);
      if (el) {
        el.willCancel = false;
      }
    }
    this._previewSet = id === null ? [] : [id, ...this._downstream.unfinished(id)];
    this._previewed = id;
    // Farther ancestors of a task that just finished are not redrawn for it:
    // bring the button's description up to date before anyone reads it.
    const n = id === null ? undefined : this.model.node(id);
    const target = id === null ? undefined : this._elements.get(id);
    if (n && target) {
      this._updateNode(n, target, undefined, true);
    }
    for (const other of this._previewSet) {
      const el = this._elements.get(other);
      if (el) {
        el.willCancel = true;
      }
    }
    this._canvas.classList.toggle('jp-mod-previewCancel', id !== null);
  }

  /** The clock of elapsed times: now while live; a snapshot stays at the moment it was taken. */
  private _now(): number {
    const m = this.model;
    const taken = Date.parse(m.takenAt);
    return m.mode === 'live' || Number.isNaN(taken) ? Date.now() : taken;
  }

  private _context(n: NodeView, now = this._now(), walk = false): NodeContext {
    return {
      block: this.cancelBlock(n),
      expanded: this._subGraphs.has(n.id),
      downstream: this._downstream.count(n, walk),
      now
    };
  }

  /** Patch one node and keep the elapsed-time clock running while any node needs it. */
  private _updateNode(n: NodeView, el: NodeElement, now?: number, walk = false): void {
    el.update(n, this._context(n, now, walk));
    this._clock.set(n.id, el.ticking);
  }

  private _onNodeClick(ev: MouseEvent): void {
    const target = ev.target as HTMLElement;
    const button = target.closest('button') as HTMLButtonElement | null;
    const nodeEl = target.closest('.jp-CovalentNode') as HTMLElement | null;
    if (!nodeEl) {
      return;
    }
    const id = Number(nodeEl.dataset.nodeId);
    if (button?.dataset.action === 'cancel-task') {
      ev.stopPropagation();
      if (button.disabled) {
        return;
      }
      if (this._commands?.hasCommand(CommandIDs.cancelTask)) {
        void this._commands.execute(CommandIDs.cancelTask, { dispatchId: this.model.dispatchId, taskId: id });
      } else {
        void this.cancelTasks([id]);
      }
      return;
    }
    if (button?.dataset.action === 'expand') {
      this._toggleSublattice(id);
      return;
    }
    this.selectNode(id);
  }

  private _toggleSublattice(id: number): void {
    const node = this.model.node(id);
    const existing = this._subGraphs.get(id);
    if (existing) {
      existing.dispose();
      this._subGraphs.delete(id);
    } else if (node?.subDispatchId && this._openSublattice) {
      const sub = this._openSublattice(node.subDispatchId, this);
      if (sub) {
        sub.addClass('jp-CovalentGraph-sub');
        this._subGraphs.set(id, sub);
        Widget.attach(sub, this._subContainer);
      } else {
        this.showMessage(this._trans.__('The graph of sublattice %1 is only available while its kernel runs.', id));
      }
    } else {
      this.showMessage(this._trans.__('Sublattice %1 has not started yet.', id));
    }
    const n = this.model.node(id);
    const el = this._elements.get(id);
    if (n && el) {
      this._updateNode(n, el);
    }
  }

  private _onModelChanged(_: DispatchModel, change: ModelChange): void {
    for (const id of change.nodeIds) {
      this._dirty.add(id);
    }
    this._dirtyStructure ||= change.structure;
    this._dirtyDispatch ||= change.dispatch;
    if (!this._framePending) {
      this._framePending = true;
      this._requestFrame(() => this._flush());
    }
  }

  /** Draw everything that changed since the last frame. */
  private _flush(): void {
    this._framePending = false;
    if (this.isDisposed) {
      return;
    }
    if (this._dirtyStructure) {
      this._dirtyStructure = false;
      this._dirty.clear();
      this._dirtyDispatch = false;
      this._renderAll();
      return;
    }
    if (this._dirtyDispatch) {
      this._dirtyDispatch = false;
      this._renderHeader();
      // Mode changes (live <-> snapshot) change every button's state.
      for (const id of this.model.nodes.keys()) {
        this._dirty.add(id);
      }
    }
    // A task that finished changes what its upstream buttons would stop.
    for (const id of [...this._dirty]) {
      const n = this.model.node(id);
      if (n && isTerminal(n.status)) {
        for (const d of n.dependsOn) {
          this._dirty.add(d);
        }
      }
    }
    for (const id of this._dirty) {
      const n = this.model.node(id);
      if (n) {
        this._downstream.update(n);
      }
    }
    const now = this._now();
    for (const id of this._dirty) {
      const n = this.model.node(id);
      const el = this._elements.get(id);
      if (n && el) {
        this._updateNode(n, el, now);
      }
    }
    this._clock.sync(this.model.mode === 'live');
    if (this._selected !== null && this._dirty.has(this._selected)) {
      renderDetails(this._details, this.model.node(this._selected), this._trans);
    }
    this._dirty.clear();
  }

  private _renderAll(): void {
    const nodes = [...this.model.nodes.values()];
    this._graphLayout = layoutGraph(nodes);
    const layout = this._graphLayout;
    this._downstream.rebuild(nodes, id => this.model.node(id));
    const keep = new Set<number>();
    const fragment = document.createDocumentFragment();
    const now = this._now();
    for (const n of nodes) {
      keep.add(n.id);
      let el = this._elements.get(n.id);
      if (!el) {
        el = new NodeElement(n, this._trans, this._context(n, now));
        this._elements.set(n.id, el);
        fragment.append(el.element);
      }
      const box = layout.boxes.get(n.id)!;
      el.element.style.transform = `translate(${box.x}px, ${box.y}px)`;
      el.element.style.width = `${NODE_WIDTH}px`;
      el.element.style.height = `${NODE_HEIGHT}px`;
      this._updateNode(n, el, now);
    }
    this._nodesLayer.append(fragment);
    for (const [id, el] of this._elements) {
      if (!keep.has(id)) {
        el.element.remove();
        this._elements.delete(id);
        this._clock.set(id, false);
      }
    }
    this._clock.sync(this.model.mode === 'live');
    drawEdges(this._edges, layout);
    this._canvas.style.width = `${layout.width}px`;
    this._canvas.style.height = `${layout.height}px`;
    this._panZoom.setContentSize(layout.width, layout.height);
    this._renderHeader();
    if (this._selected !== null && !this._elements.has(this._selected)) {
      this._selected = null;
    }
    renderDetails(this._details, this._selected === null ? undefined : this.model.node(this._selected), this._trans);
  }

  private _renderHeader(): void {
    const m = this.model;
    this.node.dataset.status = m.status;
    this.node.dataset.mode = m.mode;
    this.node.setAttribute('aria-label', this._trans.__('Transport graph of dispatch %1', m.name || m.dispatchId));
    this._toolbar.render(m, { dispatchBlock: this.dispatchBlock, modeBlock: modeBlock(this.cancelContext, this._trans) });
  }

  private _trans: TranslationBundle;
  private _commands: GraphCommands | null;
  private _confirm: (model: DispatchModel) => Promise<boolean>;
  private _openSublattice?: DispatchGraphOptions['openSublattice'];
  private _requestFrame: (cb: () => void) => unknown;
  private _graphLayout: GraphLayout | null = null;
  private _downstream = new Downstream();
  private _previewed: number | null = null;
  private _previewSet: number[] = [];
  private _clock = new ElapsedClock((now, ids) => {
    for (const id of ids) {
      this._elements.get(id)?.tick(now);
    }
  });
  private _elements = new Map<number, NodeElement>();
  private _subGraphs = new Map<number, DispatchGraph>();
  private _selected: number | null = null;
  private _dirty = new Set<number>();
  private _dirtyStructure = false;
  private _dirtyDispatch = false;
  private _framePending = false;
  private _toolbar!: GraphToolbar;
  private _message!: HTMLDivElement;
  private _viewport!: HTMLDivElement;
  private _canvas!: HTMLDivElement;
  private _edges!: SVGSVGElement;
  private _nodesLayer!: HTMLDivElement;
  private _details!: HTMLDivElement;
  private _subContainer!: HTMLDivElement;
  private _panZoom!: PanZoom;
}
