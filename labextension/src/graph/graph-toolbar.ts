import type { TranslationBundle } from '@jupyterlab/translation';
import type { DispatchModel } from '../model/dispatch-model';
import { STATUS_GLYPH } from '../model/status';
import type { CancelBlock } from './cancel-policy';
import { formatTime } from './details-view';
import { statusLabel } from './labels';

/** What the toolbar's buttons do; the graph decides how (zoom, fit, the cancel-dispatch command). */
export interface GraphToolbarActions {
  zoomBy(factor: number): void;
  fit(): void;
  cancelDispatch(): void;
}

/** What the toolbar shows besides the model: the cancel policy's answers for this graph. */
export interface ToolbarCancelState {
  /** Why the whole dispatch cannot be cancelled now, or null. */
  dispatchBlock: CancelBlock;
  /** Why nothing can be cancelled in this mode (a snapshot), or null. */
  modeBlock: CancelBlock;
}

/**
 * The row above a graph: the dispatch's name and id, its status (text and
 * glyph), its own limit warning (in words), live or snapshot, zoom and fit, and `Cancel dispatch`. Kept on one
 * row: the snapshot label is short, the full story is in its tooltip.
 */
export class GraphToolbar {
  constructor(trans: TranslationBundle, actions: GraphToolbarActions) {
    this._trans = trans;
    const t = trans;
    this.node = document.createElement('div');
    this.node.className = 'jp-CovalentGraph-toolbar';
    this._title = span('jp-CovalentGraph-title');
    this._status = span('jp-CovalentGraph-status');
    this._limitWarning = span('jp-CovalentGraph-limitWarning');
    this._limitWarning.setAttribute('role', 'status');
    this._limitWarning.hidden = true;
    this._mode = span('jp-CovalentGraph-mode');
    const spacer = span('jp-CovalentGraph-spacer');
    const zoomIn = tool(t.__('Zoom in'), '+', () => actions.zoomBy(1.25));
    const zoomOut = tool(t.__('Zoom out'), '−', () => actions.zoomBy(0.8));
    const fit = tool(t.__('Fit graph to view'), '⤢', () => actions.fit());
    this._cancelDispatch = document.createElement('button');
    this._cancelDispatch.type = 'button';
    this._cancelDispatch.className = 'jp-CovalentGraph-cancelDispatch jp-mod-styled jp-mod-warn';
    this._cancelDispatch.textContent = t.__('Cancel dispatch');
    this._cancelDispatch.setAttribute('aria-label', t.__('Cancel dispatch'));
    this._cancelDispatch.addEventListener('click', () => actions.cancelDispatch());
    this.node.append(this._title, this._status, this._limitWarning, this._mode, spacer, zoomIn, zoomOut, fit, this._cancelDispatch);
  }

  readonly node: HTMLDivElement;

  render(m: DispatchModel, cancel: ToolbarCancelState): void {
    const t = this._trans;
    this._title.textContent = `${m.name} · ${m.dispatchId}`;
    this._title.title = this._title.textContent;
    this._status.dataset.status = m.status;
    this._status.textContent = `${STATUS_GLYPH[m.status]} ${statusLabel(t, m.status)}`;
    // The dispatch's own warning (80 % of its time limit or budget), as a node shows its own.
    const warning = m.limitWarning;
    this._limitWarning.hidden = !warning;
    this._limitWarning.textContent = warning ? `\u26a0 ${warning}` : '';
    this._limitWarning.title = warning ? t.__('Dispatch limit warning: %1', warning) : '';
    if (warning) this._limitWarning.setAttribute('aria-label', t.__('Dispatch limit warning: %1', warning));
    else this._limitWarning.removeAttribute('aria-label');
    if (m.mode === 'live') {
      this._mode.textContent = t.__('Live');
      this._mode.title = t.__('Following the running dispatch in the kernel');
    } else if (m.modeReason === 'connecting') {
      this._mode.textContent = t.__('Connecting…');
      this._mode.title = '';
    } else {
      // Short, so the toolbar stays on one row; the full story is in the tooltip.
      const taken = formatTime(m.takenAt) ?? m.takenAt;
      this._mode.textContent = t.__('Snapshot %1', taken);
      this._mode.title = t.__('Snapshot taken %1 (read-only). %2', taken, cancel.modeBlock ?? '');
    }
    this._mode.dataset.mode = m.mode;
    this._cancelDispatch.disabled = cancel.dispatchBlock !== null;
    this._cancelDispatch.title = cancel.dispatchBlock ?? t.__('Cancel every unfinished task of this dispatch');
  }

  private _trans: TranslationBundle;
  private _title: HTMLSpanElement;
  private _status: HTMLSpanElement;
  private _mode: HTMLSpanElement;
  private _limitWarning: HTMLSpanElement;
  private _cancelDispatch: HTMLButtonElement;
}

function span(className: string): HTMLSpanElement {
  const s = document.createElement('span');
  s.className = className;
  return s;
}

function tool(label: string, text: string, action: () => void): HTMLButtonElement {
  const b = document.createElement('button');
  b.type = 'button';
  b.className = 'jp-CovalentGraph-tool jp-mod-styled';
  b.textContent = text;
  b.title = label;
  b.setAttribute('aria-label', label);
  b.addEventListener('click', action);
  return b;
}
