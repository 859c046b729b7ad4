import type { TranslationBundle } from '@jupyterlab/translation';
import type { NodeView } from '../../../src/protocol/messages';
import { STATUS_GLYPH, isTerminal } from '../model/status';
import { statusLabel } from './labels';

/** Why a cancel button is disabled, or null when it can be clicked. */
export type CancelBlock = string | null;

/**
 * The DOM of one graph node. Built once, then patched in place on each status
 * change so a stream of updates costs a few attribute writes per node.
 */
export class NodeElement {
  constructor(node: NodeView, trans: TranslationBundle) {
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

    this._status = document.createElement('div');
    this._status.className = 'jp-CovalentNode-status';
    // Name, id, executor and status text sit in one box that the overview level
    // of detail drops from layout; the node's aria-label carries the same facts.
    const info = document.createElement('div');
    info.className = 'jp-CovalentNode-info';
    info.append(head, this._meta, this._status);
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
    this.update(node, null, false);
  }

  readonly element: HTMLDivElement;
  readonly cancelButton: HTMLButtonElement;
  readonly expandButton: HTMLButtonElement | null = null;

  /** Patch the element to show `node`; `block` says why cancel is unavailable. */
  update(node: NodeView, block: CancelBlock, expanded: boolean): void {
    const t = this._trans;
    const el = this.element;
    // Every write below is skipped when the value is unchanged: a stream of
    // updates then costs only the attributes that really change.
    const unconfirmed = node.cancelOutcome === 'kill_unconfirmed';
    if (el.dataset.status !== node.status || unconfirmed !== this._unconfirmed) {
      el.dataset.status = node.status;
      this._unconfirmed = unconfirmed;
      el.classList.toggle('jp-mod-killUnconfirmed', unconfirmed);
      this._glyph.textContent = STATUS_GLYPH[node.status];
      this._status.textContent = unconfirmed
        ? `${statusLabel(t, node.status)} · ${t.__('kill unconfirmed')}`
        : statusLabel(t, node.status);
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
    const label = t.__('Task %1 %2: %3', node.id, node.name, this._status.textContent ?? '');
    if (this._label !== label) {
      this._label = label;
      el.setAttribute('aria-label', label);
    }

    // A finished node keeps its button, disabled, with a tooltip saying why.
    const finished = isTerminal(node.status);
    const title = block ?? t.__('Cancel task %1 (%2) and the tasks that depend on it', node.id, node.name);
    if (this._finished !== finished || this._block !== block || this._title !== title) {
      this._finished = finished;
      this._block = block;
      this._title = title;
      this.cancelButton.classList.toggle('jp-mod-finished', finished);
      this.cancelButton.disabled = block !== null;
      this.cancelButton.title = title;
    }

    if (this.expandButton && this._expanded !== expanded) {
      this._expanded = expanded;
      const text = expanded ? t.__('Collapse sublattice %1', node.id) : t.__('Expand sublattice %1', node.id);
      this.expandButton.setAttribute('aria-expanded', String(expanded));
      this.expandButton.textContent = expanded ? '▾' : '▸';
      this.expandButton.setAttribute('aria-label', text);
      this.expandButton.title = text;
    }
  }

  set selected(value: boolean) {
    this.element.classList.toggle('jp-mod-selected', value);
    this.element.setAttribute('aria-current', value ? 'true' : 'false');
  }

  private _trans: TranslationBundle;
  private _glyph: HTMLSpanElement;
  private _name: HTMLSpanElement;
  private _meta: HTMLDivElement;
  private _status: HTMLSpanElement;
  private _nameText = '';
  private _metaText = '';
  private _label = '';
  private _title = '';
  private _block: CancelBlock | undefined = undefined;
  private _finished: boolean | null = null;
  private _unconfirmed = false;
  private _expanded: boolean | null = null;
}
