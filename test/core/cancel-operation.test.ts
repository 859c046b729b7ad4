/**
 * CancelOperation: the affected set (downstream, sublattices recursively),
 * the outcome rules, and one recorded outcome per node that the report, the
 * live view and the store all read.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as ct from '../../src';
import { affectedSet, affectedTree, type CancelScope } from '../../src/dispatcher/cancel-operation';
import { outcomeOfOutsideCancel, outcomeOfStop, outcomeOfSublattice } from '../../src/dispatcher/cancel-outcome';
import { TransportGraph } from '../../src/workflow/transport-graph';
import { tempDir, usePrivateHome, waitFor } from '../support/wait';

const home = usePrivateHome();
afterAll(() => ct.shutdown());

/** A graph given by each node's upstream ids (only `dependsOn` matters to the affected set). */
function graphOf(dependsOn: number[][]): TransportGraph {
  const g = new TransportGraph();
  for (const deps of dependsOn) g.addNode({ kind: 'electron', name: `n${g.nodes.length}`, dependsOn: deps, args: [] } as any);
  return g;
}

/** A dispatch as the affected set sees it; `subs` maps a node id to the sub-dispatch it runs. */
class FakeScope implements CancelScope<FakeScope> {
  readonly graph: TransportGraph;
  constructor(readonly name: string, dependsOn: number[][], private readonly subs: Record<number, FakeScope> = {}) {
    this.graph = graphOf(dependsOn);
  }
  get nodes() {
    return this.graph.nodes;
  }
  subOf(id: number) {
    return this.subs[id];
  }
}

describe('the affected set', () => {
  // 0 -> 1 -> 3, 0 -> 2, 4 independent, 2 -> 5 <- 4
  const diamond = [[], [0], [0], [1], [], [2, 4]];

  it('is the named tasks, in the order given, and everything downstream of them, ascending, each once', () => {
    expect(affectedSet(graphOf(diamond), 6, [2, 1])).toEqual({ named: [2, 1], downstream: [3, 5] });
    expect(affectedSet(graphOf(diamond), 6, [0, 1])).toEqual({ named: [0, 1], downstream: [2, 3, 5] });
    expect(affectedSet(graphOf(diamond), 6, [3])).toEqual({ named: [3], downstream: [] });
  });

  it('is every task for a whole-dispatch cancel', () => {
    expect(affectedSet(graphOf(diamond), 6, null)).toEqual({ named: [0, 1, 2, 3, 4, 5], downstream: [] });
  });

  it('reaches into sublattices recursively: the sub-dispatch of every affected sublattice node, whole; no other', () => {
    const innermost = new FakeScope('innermost', [[], [0]]);
    const inner = new FakeScope('inner', [[], [0], []], { 2: innermost });
    const untouched = new FakeScope('untouched', [[]]);
    // Node 1 runs `inner`, node 3 (upstream of nothing affected) runs `untouched`.
    const top = new FakeScope('top', [[], [0], [1], []], { 1: inner, 3: untouched });

    const tree = affectedTree(top, [1]);

    expect(tree.map(({ scope, set }) => [scope.name, set])).toEqual([
      ['top', { named: [1], downstream: [2] }],
      ['inner', { named: [0, 1, 2], downstream: [] }],
      ['innermost', { named: [0, 1], downstream: [] }],
    ]);
  });
});

describe('the outcome rules (cancel-outcome.ts)', () => {
  it('a job stopped by a cancel: aborted before start without a job, kill_unconfirmed without confirmation, killed or aborted by where it was', () => {
    expect(outcomeOfStop(undefined, false, false)).toEqual({ outcome: 'aborted_before_start', detail: null });
    expect(outcomeOfStop({ confirmed: false, detail: 'host unreachable' }, true, false)).toEqual({ outcome: 'kill_unconfirmed', detail: 'host unreachable' });
    expect(outcomeOfStop({ confirmed: true, detail: 'SIGTERM; 2 processes gone' }, true, false)).toEqual({ outcome: 'killed', detail: 'SIGTERM; 2 processes gone' });
    // Queued on its resource when the cancel came: stopped before it ran, with the executor's detail.
    expect(outcomeOfStop({ confirmed: true, detail: 'job was PENDING; scancel; CANCELLED' }, true, true)).toEqual({ outcome: 'aborted_before_start', detail: 'job was PENDING; scancel; CANCELLED' });
    // The executor knows better than the last status report.
    expect(outcomeOfStop({ confirmed: true, detail: 'd', started: true }, true, true).outcome).toBe('killed');
    expect(outcomeOfStop({ confirmed: true, detail: 'd', started: false }, true, false).outcome).toBe('aborted_before_start');
  });

  it('a job cancelled by someone else keeps the executor explanation', () => {
    const why = new Error('Slurm job 12 was cancelled outside covalent-ts (state CANCELLED)');
    expect(outcomeOfOutsideCancel('RUNNING', why)).toEqual({ outcome: 'killed', detail: why.message });
    expect(outcomeOfOutsideCancel('QUEUED', why)).toEqual({ outcome: 'aborted_before_start', detail: why.message });
  });

  it('a sublattice claims no more than its tasks recorded', () => {
    expect(outcomeOfSublattice(['killed', 'aborted_before_start'], 's1')).toEqual({ outcome: 'killed', detail: 'sub-dispatch s1 cancelled' });
    expect(outcomeOfSublattice(['killed', 'kill_unconfirmed'], 's1').outcome).toBe('kill_unconfirmed');
    expect(outcomeOfSublattice(['aborted_before_start', null], 's1').outcome).toBe('aborted_before_start');
  });
});

describe('one recorded outcome per node', () => {
  const dir = tempDir('ct-cancel-op-');
  const hang = ct.electron(async function hang(file: string) {
    require('fs').writeFileSync(file, String(process.pid));
    await new Promise(() => undefined);
  });
  const quick = ct.electron(function quick(x: unknown) {
    return x;
  });
  const inner = ct.lattice((file: string) => quick(hang(file)), { name: 'inner' });
  const sub = ct.electron(inner);

  it('the report, the live result and the store (read by another dispatcher) show the same outcome for every affected node', async () => {
    const f1 = path.join(dir, 'top');
    const f2 = path.join(dir, 'sub');
    // 0 quick (completes), 1 hang (running), 2 quick(1) downstream, 3 sublattice running hang, 4 quick(3) downstream
    const wf = ct.lattice((a: string, b: string) => {
      const done = quick('done');
      const downstream = quick(hang(a));
      const viaSub = quick(sub(b));
      return [done, downstream, viaSub];
    }, { name: 'mixed' });
    const id = await ct.dispatch(wf)(f1, f2);
    await waitFor('both hangs to run', () => fs.existsSync(f1) && fs.existsSync(f2));
    await waitFor('task 0 to complete', async () => (await ct.getResult(id)).nodes[0].status === 'COMPLETED');

    const report = await ct.cancel(id);

    // Each node once, and each outcome is what the node recorded.
    const ids = report.tasks.map((t) => t.nodeId);
    expect(new Set(ids).size).toBe(ids.length);
    expect([...ids].sort()).toEqual([0, 1, 2, 3, 4]);
    const byId = new Map(report.tasks.map((t) => [t.nodeId, t]));
    expect(byId.get(0)).toMatchObject({ outcome: 'already_finished', statusAfter: 'COMPLETED' });
    expect(byId.get(1)).toMatchObject({ outcome: 'killed', statusAfter: 'CANCELLED' });
    expect(byId.get(2)).toMatchObject({ outcome: 'aborted_before_start', statusAfter: 'CANCELLED' });
    expect(byId.get(3)).toMatchObject({ outcome: 'killed', statusAfter: 'CANCELLED', detail: expect.stringMatching(/^sub-dispatch .+ cancelled$/) });
    expect(byId.get(4)).toMatchObject({ outcome: 'aborted_before_start', statusAfter: 'CANCELLED' });

    const live = await ct.getResult(id, { wait: true });
    await ct.getDispatcher().flush();
    const other = new ct.Dispatcher({ home });
    const stored = await other.getResult(id);
    for (const view of [live, stored]) {
      expect(view.status).toBe('CANCELLED');
      for (const n of view.nodes) {
        const line = byId.get(n.id)!;
        expect([n.id, n.status]).toEqual([n.id, line.statusAfter]);
        // A node finished before the cancel keeps its own record; every other one recorded the reported outcome.
        expect([n.id, n.cancelOutcome]).toEqual([n.id, line.outcome === 'already_finished' ? null : line.outcome]);
        if (line.outcome !== 'already_finished') expect([n.id, n.cancelDetail]).toEqual([n.id, line.detail]);
      }
    }
    // Inside the sublattice too: its running task was killed, its downstream aborted.
    const subResult = await other.getResult(live.nodes[3].subDispatchId!);
    expect(subResult.nodes.map((n) => [n.status, n.cancelOutcome])).toEqual([['CANCELLED', 'killed'], ['CANCELLED', 'aborted_before_start']]);
    await other.close();
  });

  it('a second cancel while the first is still stopping a job reports the outcome the first recorded, not a guess', async () => {
    const f = path.join(dir, 'second');
    const id = await ct.dispatch(ct.lattice((file: string) => hang(file), { name: 'twice' }))(f);
    await waitFor('the hang to run', () => fs.existsSync(f));
    const [first, second] = await Promise.all([ct.cancel(id), ct.cancel(id, { reason: 'again' })]);
    expect(first.tasks).toEqual([expect.objectContaining({ nodeId: 0, outcome: 'killed', statusAfter: 'CANCELLED' })]);
    expect(second.tasks).toEqual([expect.objectContaining({ nodeId: 0, outcome: 'killed', statusAfter: 'CANCELLED' })]);
    expect((await ct.getResult(id)).nodes[0]).toMatchObject({ status: 'CANCELLED', cancelOutcome: 'killed' });
  });
});
