import { DispatchModel, type ModelChange } from '../../labextension/src/model/dispatch-model';
import { diamond, node } from './support/fake-kernel';
import type { DeltaPush } from '../../src/protocol/messages';

const delta = (seq: number, nodes: DeltaPush['nodes'], extra: Partial<DeltaPush> = {}): DeltaPush => ({
  v: 1,
  type: 'delta',
  dispatchId: 'd-1',
  seq,
  nodes,
  ...extra
});

function live(): { model: DispatchModel; changes: ModelChange[] } {
  const model = new DispatchModel(diamond());
  model.applySnapshot(diamond(), { seq: 0 });
  model.setMode('live');
  const changes: ModelChange[] = [];
  model.changed.connect((_, c) => changes.push(c));
  return { model, changes };
}

describe('DispatchModel', () => {
  it('starts as a read-only snapshot of the saved output', () => {
    const model = new DispatchModel(diamond());
    expect(model.mode).toBe('snapshot');
    expect([...model.nodes.keys()]).toEqual([0, 1, 2, 3]);
    expect(model.takenAt).toBe('2026-01-01T00:00:05.000Z');
  });

  it('applies deltas in sequence and reports which nodes changed', () => {
    const { model, changes } = live();
    expect(model.applyDelta(delta(1, [{ id: 2, status: 'RUNNING' }]))).toBe(true);
    expect(model.node(2)!.status).toBe('RUNNING');
    expect(changes).toEqual([{ nodeIds: [2], structure: false, dispatch: false }]);
  });

  it('refuses a delta after a gap so the caller re-subscribes', () => {
    const { model } = live();
    expect(model.applyDelta(delta(2, [{ id: 2, status: 'RUNNING' }]))).toBe(false);
    expect(model.node(2)!.status).toBe('NEW_OBJECT');
  });

  it('ignores deltas already contained in the snapshot', () => {
    const { model, changes } = live();
    model.applySnapshot(diamond(), { seq: 5 });
    changes.length = 0;
    expect(model.applyDelta(delta(4, [{ id: 2, status: 'FAILED' }]))).toBe(true);
    expect(model.node(2)!.status).toBe('NEW_OBJECT');
    expect(changes).toEqual([]);
  });

  it('keeps CANCELLING shown after a click until a terminal status arrives', () => {
    const { model } = live();
    model.markCancelling([1]);
    expect(model.node(1)!.status).toBe('CANCELLING');
    model.applyDelta(delta(1, [{ id: 1, status: 'RUNNING' }]));
    expect(model.node(1)!.status).toBe('CANCELLING');
    model.applyDelta(delta(2, [{ id: 1, status: 'CANCELLED', cancelOutcome: 'killed' }]));
    expect(model.node(1)!.status).toBe('CANCELLED');
  });

  it('does not mark finished tasks as cancelling', () => {
    const { model } = live();
    model.markCancelling([0]);
    expect(model.node(0)!.status).toBe('COMPLETED');
  });

  it('flags new nodes and new dependencies as a structure change', () => {
    const { model, changes } = live();
    model.applyDelta(delta(1, [node(4, { dependsOn: [3] })]));
    expect(changes[0].structure).toBe(true);
    expect(model.node(4)!.dependsOn).toEqual([3]);
  });

  it('folds a cancel report in without undoing terminal states', () => {
    const { model } = live();
    model.applyDelta(delta(1, [{ id: 2, status: 'COMPLETED' }]));
    model.applyCancelReport({
      dispatchId: 'd-1',
      requestedAt: '',
      completedAt: '',
      reason: 'too slow',
      source: 'comm',
      requestedTaskIds: [1],
      tasks: [
        { nodeId: 1, name: 'train', outcome: 'kill_unconfirmed', statusBefore: 'RUNNING', statusAfter: 'CANCELLED', downstreamOf: null, detail: 'no answer from host' },
        { nodeId: 2, name: 'score', outcome: 'already_finished', statusBefore: 'COMPLETED', statusAfter: 'COMPLETED', downstreamOf: null, detail: null }
      ],
      confirmed: false,
      summary: ''
    });
    expect(model.node(1)).toMatchObject({ status: 'CANCELLED', cancelOutcome: 'kill_unconfirmed', cancelDetail: 'no answer from host', cancelReason: 'too slow' });
    expect(model.node(2)!.status).toBe('COMPLETED');
  });

  it('updates the dispatch status from a delta', () => {
    const { model, changes } = live();
    model.applyDelta(delta(1, [], { dispatch: { status: 'CANCELLED', completedAt: '2026-01-01T00:01:00.000Z' } }));
    expect(model.status).toBe('CANCELLED');
    expect(model.isFinished).toBe(true);
    expect(changes[0].dispatch).toBe(true);
  });
});
