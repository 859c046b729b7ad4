import type { ITranslator, TranslationBundle } from '@jupyterlab/translation';
import { loadBundle } from '../translation';
import { Widget } from '@lumino/widgets';
import type { DispatchSummary } from 'covalent-ts-protocol';
import type { CovalentClient } from '../client/covalent-client';
import type { ConnectionSource } from '../model/dispatch-controller';
import { isTerminal } from 'covalent-ts-protocol';
import { STATUS_GLYPH } from '../model/status';
import { statusLabel } from '../graph/labels';
import { formatTime } from '../graph/details-view';

export interface DispatchesPanelOptions {
  translator?: ITranslator | null;
  confirm: (summary: DispatchSummary) => Promise<boolean>;
}

/**
 * The side panel: the current notebook kernel's dispatches, kept current by the
 * kernel's `dispatches` pushes, each with its own cancel button.
 */
export class DispatchesPanel extends Widget {
  constructor(options: DispatchesPanelOptions) {
    super();
    this._trans = loadBundle(options.translator);
    this._confirm = options.confirm;
    this.id = 'covalent-ts-dispatches';
    this.addClass('jp-CovalentDispatches');
    this.title.caption = this._trans.__('covalent-ts dispatches');
    this.node.setAttribute('role', 'region');
    this.node.setAttribute('aria-label', this._trans.__('covalent-ts dispatches'));
    const h = document.createElement('h2');
    h.className = 'jp-CovalentDispatches-title';
    h.textContent = this._trans.__('Dispatches');
    this._note = document.createElement('p');
    this._note.className = 'jp-CovalentDispatches-note';
    this._list = document.createElement('ul');
    this._list.className = 'jp-CovalentDispatches-list';
    this.node.append(h, this._note, this._list);
    this._list.addEventListener('click', ev => {
      const b = (ev.target as HTMLElement).closest('button');
      if (b?.dataset.dispatchId) {
        void this._cancel(b.dataset.dispatchId);
      }
    });
    this._render();
  }

  /** Follow another notebook's kernel (or none). */
  setSource(source: ConnectionSource | null): void {
    if (source === this._source) {
      return;
    }
    this._source?.clientChanged.disconnect(this._onClient, this);
    this._source = source;
    source?.clientChanged.connect(this._onClient, this);
    this._setClient(source?.client ?? null);
    if (source && !source.client && this.isVisible) {
      void source.getClient();
    }
  }

  /** Ask the kernel again (the panel also updates from pushes). */
  async refresh(): Promise<void> {
    const client = this._source ? await this._source.getClient() : null;
    this._setClient(client);
    if (client) {
      try {
        this._items = await client.list();
      } catch {
        this._items = [];
      }
    }
    this._render();
  }

  protected onAfterShow(): void {
    void this.refresh();
  }

  private _onClient(_: unknown, client: CovalentClient | null): void {
    this._setClient(client);
    if (client) {
      void this.refresh();
    }
  }

  private _setClient(client: CovalentClient | null): void {
    if (client === this._client) {
      return;
    }
    this._client?.dispatches.disconnect(this._onDispatches, this);
    this._client = client;
    client?.dispatches.connect(this._onDispatches, this);
    this._items = client ? client.lastDispatches : [];
    this._render();
  }

  private _onDispatches(_: CovalentClient, items: DispatchSummary[]): void {
    this._items = items;
    this._render();
  }

  private async _cancel(dispatchId: string): Promise<void> {
    const item = this._items.find(i => i.dispatchId === dispatchId);
    if (!item || !this._client || !(await this._confirm(item))) {
      return;
    }
    try {
      await this._client.cancelDispatch(dispatchId);
      this._note.textContent = '';
    } catch (e) {
      this._note.textContent = (e as Error).message;
    }
    void this.refresh();
  }

  private _render(): void {
    const t = this._trans;
    this._list.textContent = '';
    if (!this._client) {
      this._note.textContent = t.__('No covalent-ts kernel is connected to the current notebook.');
      return;
    }
    if (!this._items.length) {
      this._note.textContent = t.__('No dispatches in this kernel yet.');
      return;
    }
    this._note.textContent = '';
    for (const d of this._items) {
      const li = document.createElement('li');
      li.className = 'jp-CovalentDispatches-item';
      li.dataset.dispatchId = d.dispatchId;
      li.dataset.status = d.status;
      const name = document.createElement('span');
      name.className = 'jp-CovalentDispatches-name';
      name.textContent = d.name;
      const meta = document.createElement('span');
      meta.className = 'jp-CovalentDispatches-meta';
      meta.textContent = `${d.dispatchId} · ${t.__('%1 tasks', d.nodeCount)} · ${formatTime(d.startedAt) ?? t.__('not started')}`;
      const status = document.createElement('span');
      status.className = 'jp-CovalentDispatches-status';
      status.dataset.status = d.status;
      status.textContent = `${STATUS_GLYPH[d.status]} ${statusLabel(t, d.status)}`;
      const b = document.createElement('button');
      b.type = 'button';
      b.className = 'jp-CovalentDispatches-cancel jp-mod-styled jp-mod-warn';
      b.dataset.dispatchId = d.dispatchId;
      b.textContent = t.__('Cancel');
      b.setAttribute('aria-label', t.__('Cancel dispatch %1', d.dispatchId));
      const finished = isTerminal(d.status) || d.status === 'CANCELLING';
      b.disabled = finished;
      b.title = finished ? t.__('The dispatch has already finished (%1)', statusLabel(t, d.status)) : t.__('Cancel every unfinished task of %1', d.name);
      li.append(name, status, meta, b);
      this._list.append(li);
    }
  }

  private _trans: TranslationBundle;
  private _confirm: (summary: DispatchSummary) => Promise<boolean>;
  private _source: ConnectionSource | null = null;
  private _client: CovalentClient | null = null;
  private _items: DispatchSummary[] = [];
  private _note: HTMLParagraphElement;
  private _list: HTMLUListElement;
}
