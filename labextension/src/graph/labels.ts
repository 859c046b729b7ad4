import type { TranslationBundle } from '@jupyterlab/translation';
import type { CancelOutcome, CancelSource, StatusName } from 'covalent-ts-protocol';

/** Every user-visible word of the graph goes through the translator here. */
export function statusLabel(trans: TranslationBundle, status: StatusName): string {
  switch (status) {
    case 'NEW_OBJECT':
      return trans.__('PENDING');
    case 'QUEUED':
      return trans.__('QUEUED');
    case 'RUNNING':
      return trans.__('RUNNING');
    case 'CANCELLING':
      return trans.__('CANCELLING');
    case 'COMPLETED':
      return trans.__('COMPLETED');
    case 'FAILED':
      return trans.__('FAILED');
    case 'CANCELLED':
      return trans.__('CANCELLED');
  }
}

export function sourceLabel(trans: TranslationBundle, source: CancelSource | null): string {
  switch (source) {
    case 'comm':
      return trans.__('Cancel button in JupyterLab');
    case 'api':
      return trans.__('ct.cancel in a notebook cell');
    case 'external':
      return trans.__('Another process (covalent-ts cancel)');
    case 'limit':
      return trans.__('A time limit or budget');
    default:
      return trans.__('—');
  }
}

export function outcomeLabel(trans: TranslationBundle, outcome: CancelOutcome | null): string {
  switch (outcome) {
    case 'aborted_before_start':
      return trans.__('Aborted before it started');
    case 'killed':
      return trans.__('Killed (confirmed)');
    case 'kill_unconfirmed':
      return trans.__('Kill not confirmed by the executor');
    case 'already_finished':
      return trans.__('Had already finished');
    default:
      return trans.__('—');
  }
}

/**
 * A duration as people read it: `4.2 s` (tenths only under 10 s, and only for
 * finished tasks: a live clock ticks in whole seconds), `42 s`, `3 min 05 s`,
 * `2 h 07 min`.
 */
export function durationLabel(trans: TranslationBundle, ms: number, live = false): string {
  const safe = Math.max(0, ms);
  if (safe < 10000 && !live) {
    return trans.__('%1 s', (safe / 1000).toFixed(1));
  }
  const total = Math.floor(safe / 1000);
  if (total < 60) {
    return trans.__('%1 s', total);
  }
  const pad = (n: number) => String(n).padStart(2, '0');
  if (total < 3600) {
    return trans.__('%1 min %2 s', Math.floor(total / 60), pad(total % 60));
  }
  return trans.__('%1 h %2 min', Math.floor(total / 3600), pad(Math.floor((total % 3600) / 60)));
}

/** The short outcome shown on a finished node where its cancel button was. */
export function shortOutcomeLabel(trans: TranslationBundle, outcome: CancelOutcome | null): string {
  switch (outcome) {
    case 'aborted_before_start':
      return trans.__('aborted before start');
    case 'killed':
      return trans.__('killed');
    case 'kill_unconfirmed':
      return trans.__('kill unconfirmed');
    case 'already_finished':
      return trans.__('already finished');
    default:
      return '';
  }
}

/** The cancel button's description: what else the click stops (-1: not counted yet). */
export function cancelDescription(trans: TranslationBundle, id: number, downstream: number): string {
  if (downstream < 0) {
    return trans.__('Cancel task %1 and the tasks downstream of it', id);
  }
  if (downstream === 0) {
    return trans.__('Cancel task %1 (no downstream tasks)', id);
  }
  return trans._n('Cancel task %2 and %1 downstream task', 'Cancel task %2 and %1 downstream tasks', downstream, id);
}
