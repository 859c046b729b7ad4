import type { TranslationBundle } from '@jupyterlab/translation';
import type { CancelOutcome, CancelSource, StatusName } from '../../../src/protocol/messages';

/** Every user-visible word of the graph goes through the translator here. */
export function statusLabel(trans: TranslationBundle, status: StatusName): string {
  switch (status) {
    case 'NEW_OBJECT':
      return trans.__('PENDING');
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
