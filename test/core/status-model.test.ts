import {
  Status,
  canTransition,
  cancelBlockReason,
  dispatchStatusOf,
  isTerminal,
  nextStatus,
} from '../../src/protocol/status';

describe('the status model (src/protocol/status)', () => {
  it('has exactly COMPLETED, FAILED and CANCELLED as terminal statuses', () => {
    const terminal = Object.values(Status).filter(isTerminal).sort();
    expect(terminal).toEqual(['CANCELLED', 'COMPLETED', 'FAILED']);
  });

  it('never moves a terminal status, and keeps CANCELLING against a late RUNNING or QUEUED', () => {
    for (const from of [Status.COMPLETED, Status.FAILED, Status.CANCELLED]) {
      for (const to of Object.values(Status)) expect(canTransition(from, to)).toBe(from === to);
    }
    expect(nextStatus(Status.CANCELLING, Status.RUNNING)).toBe(Status.CANCELLING);
    expect(nextStatus(Status.CANCELLING, Status.QUEUED)).toBe(Status.CANCELLING);
    expect(nextStatus(Status.CANCELLING, Status.CANCELLED)).toBe(Status.CANCELLED);
    expect(nextStatus(Status.QUEUED, Status.RUNNING)).toBe(Status.RUNNING);
    expect(nextStatus(Status.RUNNING, Status.QUEUED)).toBe(Status.QUEUED);
  });

  it('says why a node cannot be cancelled, and lets an unconfirmed kill be retried', () => {
    expect(cancelBlockReason({ status: 'RUNNING' }, true)).toBeNull();
    expect(cancelBlockReason({ status: 'QUEUED' }, true)).toBeNull();
    expect(cancelBlockReason({ status: 'RUNNING' }, false)).toEqual({ code: 'not_live' });
    expect(cancelBlockReason({ status: 'FAILED' }, true)).toEqual({ code: 'finished', status: 'FAILED' });
    expect(cancelBlockReason({ status: 'CANCELLING', cancelOutcome: null }, true)).toEqual({ code: 'cancel_requested' });
    expect(cancelBlockReason({ status: 'CANCELLING', cancelOutcome: 'kill_unconfirmed' }, true)).toBeNull();
  });

  it('derives a dispatch status only once every task is terminal', () => {
    expect(dispatchStatusOf(['COMPLETED', 'CANCELLING'])).toBeNull();
    expect(dispatchStatusOf(['COMPLETED', 'CANCELLED'])).toBe('CANCELLED');
    expect(dispatchStatusOf(['CANCELLED', 'FAILED'])).toBe('FAILED');
    expect(dispatchStatusOf(['COMPLETED'])).toBe('COMPLETED');
  });
});
