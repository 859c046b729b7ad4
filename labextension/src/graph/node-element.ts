import type { TranslationBundle } from '@jupyterlab/translation';
import type { NodeView } from 'covalent-ts-protocol';
import { isTerminal } from 'covalent-ts-protocol';
import { STATUS_GLYPH } from '../model/status';
import { cancelDescription, durationLabel, shortOutcomeLabel, statusLabel } from './labels';

/** Why a cancel button is disabled, or null when it can be clicked. */
import type { CancelBlock } from './cancel-policy';
export type { CancelBlock };

/** What the graph knows about a node beyond its view: set on every update. */
export interface NodeContext {
  /** Why cancel is unavailable now, or null. */
  block: CancelBlock;
  expanded: boolean;
  /** Unfinished tasks that cancelling this one also stops. */
  downstream: number;
  /** The clock for elapsed times (ms since the epoch). */
  now: number;
}

/**
 * The DOM of one graph node. Built once, then patched in place on each status
 * change so a stream of updates costs a few attribute writes per node.
 *
 * An unfinished node has a cancel button (named `Cancel task <id>`, described
 * with what else it stops); a finished one has none: the place shows how it
 * ended ("killed", "aborted before start", "kill unconfirmed").
 */
export class NodeElement {
  constructor(node: NodeView, trans: TranslationBundle, context: NodeContext) {
    this._trans = trans;
    const el = (this.element = document.createElement('div'));
    el.className = 'jp-CovalentNode';
    el.dataset.nodeId = String(node.id);
    el.setAttribute('role', 'group');
    el.tabIndex = 0;

    const head = document.createElement('div');
    head.className = 'jp-CovalentNode-head';
    this._glyph = document.createElement('span');
    this._glyph.className = 'jp-CovalentNode-glyph';
    this._glyph.setAttribute('aria-hidden', 'true');
    this._name = document.createElement('span');
    this._name.className = 'jp-CovalentNode-name';
    head.append(this._glyph, this._name);

    this._meta = document.createElement('div');
    this._meta.className = 'jp-CovalentNode-meta';

    const statusRow = document.createElement('div');
    statusRow.className = 'jp-CovalentNode-statusRow';
    this._status = document.createElement('span');
    this._status.className = 'jp-CovalentNode-status';
    this._time = document.createElement('span');
    this._time.className = 'jp-CovalentNode-time';
    this._outcome = document.createElement('span');
    this._outcome.className = 'jp-CovalentNode-outcome';
    // Marks that change how to read the node: its result was reused, or it nears a limit.
    this._marks = document.createElement('span');
    this._marks.className = 'jp-CovalentNode-marks';
    this._marks.hidden = true;
    statusRow.append(this._status, this._time, this._outcome, this._marks);
    // Name, id, executor and status text sit in one box that the overview level
    // of detail drops from layout; the node's aria-label carries the same facts.
    const info = document.createElement('div');
    info.className = 'jp-CovalentNode-info';
    info.append(head, this._meta, statusRow);
    this.cancelButton = document.createElement('button');
    this.cancelButton.type = 'button';
    this.cancelButton.className = 'jp-CovalentNode-cancel jp-mod-styled';
    this.cancelButton.dataset.nodeId = String(node.id);
    this.cancelButton.dataset.action = 'cancel-task';
    this.cancelButton.textContent = trans.__('Cancel');
    this.cancelButton.setAttribute('aria-label', trans.__('Cancel task %1', node.id));
    el.append(info, this.cancelButton);
    if (node.kind === 'sublattice') {
      this.expandButton = document.createElement('button');
      this.expandButton.type = 'button';
      this.expandButton.className = 'jp-CovalentNode-expand jp-mod-styled';
      this.expandButton.dataset.nodeId = String(node.id);
      this.expandButton.dataset.action = 'expand';
      this.expandButton.setAttribute('aria-expanded', 'false');
      el.append(this.expandButton);
    }
    this.update(node, context);
  }

  readonly element: HTMLDivElement;
  readonly cancelButton: HTMLButtonElement;
  readonly expandButton: HTMLButtonElement | null = null;

  /** True while the node's elapsed time runs (it started and has not finished). */
  get ticking(): boolean {
    return this._startedMs !== null && this._endedMs === null;
  }

  /** Patch the element to show `node`. */
  update(node: NodeView, context: NodeContext): void {
    const t = this._trans;
    const el = this.element;
    // Every write below is skipped when the value is unchanged: a stream of
    // updates then costs only the attributes that really change.
    if (el.dataset.status !== node.status) {
      el.dataset.status = node.status;
      this._glyph.textContent = STATUS_GLYPH[node.status];
      this._status.textContent = statusLabel(t, node.status);
    }
    if (this._nameText !== node.name) {
      this._nameText = node.name;
      this._name.textContent = node.name;
      this._name.title = node.name;
    }
    const meta = `#${node.id} · ${node.executor || t.__('no executor')}`;
    if (this._metaText !== meta) {
      this._metaText = meta;
      this._meta.textContent = meta;
    }

    const finished = isTerminal(node.status);
    const outcome = finished ? shortOutcomeLabel(t, node.cancelOutcome) : '';
    const unconfirmed = node.cancelOutcome === 'kill_unconfirmed';
    if (this._finished !== finished || this._outcomeText !== outcome || this._unconfirmed !== unconfirmed) {
      this._finished = finished;
      this._outcomeText = outcome;
      this._unconfirmed = unconfirmed;
      el.classList.toggle('jp-mod-killUnconfirmed', unconfirmed);
      // Hidden, not disabled: a finished task has nothing left to cancel.
      this.cancelButton.hidden = finished;
      el.classList.toggle('jp-mod-finished', finished);
      this._outcome.hidden = !finished || !outcome;
      this._outcome.textContent = outcome;
      if (node.cancelOutcome) this._outcome.dataset.outcome = node.cancelOutcome;
      else delete this._outcome.dataset.outcome;
    }
    const marks = [
      node.reusedFrom ? t.__('reused') : '',
      node.limitWarning ? `\u26a0 ${node.limitWarning}` : '',
    ].filter(Boolean).join(' · ');
    if (this._marksText !== marks) {
      this._marksText = marks;
      this._marks.textContent = marks;
      this._marks.hidden = !marks;
      this._marks.title = node.reusedFrom ? t.__('Result reused from dispatch %1', node.reusedFrom) : marks;
      if (node.reusedFrom) el.dataset.reused = 'true';
      else delete el.dataset.reused;
      el.classList.toggle('jp-mod-limitWarning', Boolean(node.limitWarning));
    }
    const label = outcome
      ? t.__('Task %1 %2: %3, %4', node.id, node.name, this._status.textContent ?? '', outcome)
      : t.__('Task %1 %2: %3', node.id, node.name, this._status.textContent ?? '');
    if (this._label !== label) {
      this._label = label;
      el.setAttribute('aria-label', label);
    }

    if (!finished) {
      const title = context.block ?? cancelDescription(t, node.id, context.downstream);
      if (this._block !== context.block || this._title !== title) {
        this._block = context.block;
        this._title = title;
        this.cancelButton.disabled = context.block !== null;
        // The title is the button's description; its name stays `Cancel task <id>`.
        this.cancelButton.title = title;
      }
    }

    this._startedMs = node.startedAt ? Date.parse(node.startedAt) : null;
    this._endedMs = node.completedAt && finished ? Date.parse(node.completedAt) : null;
    this.tick(context.now);

    if (this.expandButton && this._expanded !== context.expanded) {
      const expanded = context.expanded;
      this._expanded = expanded;
      const text = expanded ? t.__('Collapse sublattice %1', node.id) : t.__('Expand sublattice %1', node.id);
      this.expandButton.setAttribute('aria-expanded', String(expanded));
      this.expandButton.textContent = expanded ? '▾' : '▸';
      this.expandButton.setAttribute('aria-label', text);
      this.expandButton.title = text;
    }
  }

  /** Redraw the elapsed time (running) or the duration (finished). */
  tick(now: number): void {
    const t = this._trans;
    let text = '';
    let title = '';
    if (this._startedMs !== null && this._endedMs !== null) {
      text = durationLabel(t, this._endedMs - this._startedMs);
      title = t.__('Ran for %1', text);
    } else if (this._startedMs !== null && !this._finished) {
      text = durationLabel(t, now - this._startedMs, true);
      title = t.__('Running for %1', text);
    }
    if (this._timeText !== text) {
      this._timeText = text;
      this._time.textContent = text;
      this._time.title = title;
      this._time.dataset.kind = this._endedMs !== null ? 'duration' : 'elapsed';
    }
  }

  set selected(value: boolean) {
    this.element.classList.toggle('jp-mod-selected', value);
    this.element.setAttribute('aria-current', value ? 'true' : 'false');
  }

  /** Marked as stopped too by the cancel button under the pointer or focus. */
  set willCancel(value: boolean) {
    this.element.classList.toggle('jp-mod-willCancel', value);
  }

  private _trans: TranslationBundle;
  private _glyph: HTMLSpanElement;
  private _name: HTMLSpanElement;
  private _meta: HTMLDivElement;
  private _status: HTMLSpanElement;
  private _time: HTMLSpanElement;
  private _outcome: HTMLSpanElement;
  private _marks: HTMLSpanElement;
  private _marksText = '';
  private _nameText = '';
  private _metaText = '';
  private _label = '';
  private _title = '';
  private _timeText: string | null = null;
  private _outcomeText: string | null = null;
  private _block: CancelBlock | undefined = undefined;
  private _finished: boolean | null = null;
  private _unconfirmed: boolean | null = null;
  private _expanded: boolean | null = null;
  private _startedMs: number | null = null;
  private _endedMs: number | null = null;
}
