import type { TranslationBundle } from '@jupyterlab/translation';
import type { NodeView } from 'covalent-ts-protocol';
import { outcomeLabel, sourceLabel, statusLabel } from './labels';

/** The details of one node: status, times, executor, job handle, error and cancel facts. */
export function renderDetails(container: HTMLElement, node: NodeView | undefined, trans: TranslationBundle): void {
  container.textContent = '';
  if (!node) {
    const p = document.createElement('p');
    p.className = 'jp-CovalentDetails-empty';
    p.textContent = trans.__('Select a task to see its details.');
    container.append(p);
    return;
  }
  const title = document.createElement('h3');
  title.className = 'jp-CovalentDetails-title';
  title.textContent = trans.__('Task %1: %2', node.id, node.name);
  // A two-column table: label, value (each value cell carries data-field for tests and tools).
  const table = document.createElement('table');
  table.className = 'jp-CovalentDetails-list';
  const body = table.createTBody();
  const row = (label: string, value: string, key: string) => {
    const tr = body.insertRow();
    const th = document.createElement('th');
    th.scope = 'row';
    th.textContent = label;
    const td = document.createElement('td');
    td.textContent = value;
    td.dataset.field = key;
    tr.append(th, td);
  };
  const dash = trans.__('—');
  row(trans.__('Status'), statusLabel(trans, node.status), 'status');
  row(trans.__('Kind'), node.kind, 'kind');
  row(trans.__('Executor'), node.executor || dash, 'executor');
  row(trans.__('Started'), formatTime(node.startedAt) ?? dash, 'startedAt');
  row(trans.__('Completed'), formatTime(node.completedAt) ?? dash, 'completedAt');
  row(trans.__('Job handle'), node.jobHandle === null || node.jobHandle === undefined ? dash : JSON.stringify(node.jobHandle), 'jobHandle');
  row(trans.__('Depends on'), node.dependsOn.length ? node.dependsOn.map(d => `#${d}`).join(', ') : dash, 'dependsOn');
  row(trans.__('Error'), node.error ?? dash, 'error');
  row(trans.__('Cancel requested'), node.cancelRequested ? trans.__('yes') : trans.__('no'), 'cancelRequested');
  row(trans.__('Cancelled by'), node.cancelSource ? sourceLabel(trans, node.cancelSource) : dash, 'cancelSource');
  row(trans.__('Cancel reason'), node.cancelReason ?? dash, 'cancelReason');
  row(trans.__('Cancel outcome'), outcomeLabel(trans, node.cancelOutcome), 'cancelOutcome');
  row(trans.__('Cancel detail'), node.cancelDetail ?? dash, 'cancelDetail');
  if (node.subDispatchId) {
    row(trans.__('Sub-dispatch'), node.subDispatchId, 'subDispatchId');
  }
  // Limits and redispatch: shown only when they apply.
  if (node.reusedFrom) row(trans.__('Reused from'), node.reusedFrom, 'reusedFrom');
  if (node.limitWarning) row(trans.__('Limit warning'), node.limitWarning, 'limitWarning');
  if (typeof node.cost === 'number') row(trans.__('Cost (estimated)'), node.cost.toFixed(2), 'cost');
  container.append(title, table);
}

/** Local time with seconds; the ISO string stays in the title for precision. */
export function formatTime(iso: string | null): string | null {
  if (!iso) {
    return null;
  }
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : d.toLocaleString();
}
