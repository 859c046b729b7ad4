import { Widget } from '@lumino/widgets';
import { DispatchController } from '../../labextension/src/model/dispatch-controller';
import { DispatchModel } from '../../labextension/src/model/dispatch-model';
import { DispatchGraph } from '../../labextension/src/graph/graph-widget';
import { FakeConnection } from './support/fake-connection';
import { FakeKernel, diamond, node } from './support/fake-kernel';

/** Frames run when the test says so, to check per-frame batching. */
class Frames {
  queue: Array<() => void> = [];
  request = (cb: () => void) => this.queue.push(cb);
  run(): number {
    const q = this.queue;
    this.queue = [];
    q.forEach(f => f());
    return q.length;
  }
}

const flush = () => new Promise(r => setTimeout(r, 0));

async function mount(kernel: FakeKernel | null, confirm = async () => true) {
  const frames = new Frames();
  const model = new DispatchModel(diamond());
  const controller = new DispatchController(model, new FakeConnection(kernel));
  const graph = new DispatchGraph({ model, controller, confirmCancelDispatch: confirm, requestFrame: frames.request });
  Widget.attach(graph, document.body);
  await controller.attached;
  frames.run();
  const q = <T extends Element = HTMLElement>(sel: string) => graph.node.querySelector(sel) as T | null;
  const cancelOf = (id: number) => q<HTMLButtonElement>(`button[aria-label="Cancel task ${id}"]`)!;
  const nodeEl = (id: number) => q<HTMLElement>(`.jp-CovalentNode[data-node-id="${id}"]`)!;
  return { graph, model, controller, frames, q, cancelOf, nodeEl };
}

function liveKernel(): FakeKernel {
  const k = new FakeKernel();
  k.addDispatch(diamond());
  return k;
}

afterEach(() => {
  document.body.textContent = '';
});

describe('DispatchGraph', () => {
  it('shows each node with name, id, executor and status as text and icon', async () => {
    const { nodeEl } = await mount(liveKernel());
    const el = nodeEl(1);
    expect(el.dataset.status).toBe('RUNNING');
    expect(el.querySelector('.jp-CovalentNode-name')!.textContent).toBe('train');
    expect(el.querySelector('.jp-CovalentNode-meta')!.textContent).toBe('#1 · local');
    expect(el.querySelector('.jp-CovalentNode-status')!.textContent).toBe('RUNNING');
    expect(el.querySelector('.jp-CovalentNode-glyph')!.textContent).not.toBe('');
  });

  it('draws one edge per data dependency', async () => {
    const { q } = await mount(liveKernel());
    expect(q<SVGElement>('svg.jp-CovalentGraph-edges')!.dataset.edgeCount).toBe('4');
  });

  it('lays dependencies out above their dependents', async () => {
    const { nodeEl } = await mount(liveKernel());
    const y = (id: number) => Number(/translate\([^,]+, ([\d.]+)px\)/.exec(nodeEl(id).style.transform)![1]);
    expect(y(0)).toBeLessThan(y(1));
    expect(y(1)).toBeLessThan(y(3));
    expect(y(2)).toBeLessThan(y(3));
  });

  it('gives unfinished nodes a real cancel button; a finished node has none', async () => {
    const { cancelOf } = await mount(liveKernel());
    expect(cancelOf(1).tagName).toBe('BUTTON');
    expect(cancelOf(1).disabled).toBe(false);
    expect(cancelOf(1).hidden).toBe(false);
    // Hidden: out of the accessibility tree and the tab order, not merely disabled.
    expect(cancelOf(0).hidden).toBe(true);
  });

  it('describes a cancel button by what else it stops, and highlights those tasks on focus and hover', async () => {
    const { cancelOf, nodeEl, frames, model } = await mount(liveKernel());
    // 1 -> 3: cancelling train also stops report; score (2) feeds report too: 2 -> 3.
    expect(cancelOf(1).getAttribute('aria-label')).toBe('Cancel task 1');
    expect(cancelOf(1).title).toBe('Cancel task 1 and 1 downstream task');
    expect(cancelOf(3).title).toBe('Cancel task 3 (no downstream tasks)');
    const marked = () => [0, 1, 2, 3].filter(id => nodeEl(id).classList.contains('jp-mod-willCancel'));
    cancelOf(1).dispatchEvent(new FocusEvent('focusin', { bubbles: true }));
    expect(marked()).toEqual([1, 3]);
    cancelOf(1).dispatchEvent(new FocusEvent('focusout', { bubbles: true }));
    expect(marked()).toEqual([]);
    cancelOf(2).dispatchEvent(new Event('pointerover', { bubbles: true }));
    expect(marked()).toEqual([2, 3]);
    nodeEl(0).dispatchEvent(new Event('pointerover', { bubbles: true }));
    expect(marked()).toEqual([]);
    expect(model.node(3)).toBeDefined();
    frames.run();
  });

  it('shows a live elapsed time on running nodes and the duration on finished ones', async () => {
    // Only the clock and intervals are faked: the fake kernel answers on real timeouts.
    jest.useFakeTimers({ now: Date.parse('2026-01-01T00:00:20.000Z'), doNotFake: ['setTimeout', 'clearTimeout', 'setImmediate', 'queueMicrotask', 'nextTick'] });
    try {
      const kernel = new FakeKernel();
      const snap = diamond();
      snap.nodes[0] = node(0, { name: 'load', status: 'COMPLETED', startedAt: '2026-01-01T00:00:00.000Z', completedAt: '2026-01-01T00:00:02.500Z' });
      snap.nodes[1] = node(1, { name: 'train', status: 'RUNNING', dependsOn: [0], startedAt: '2026-01-01T00:00:03.000Z' });
      kernel.addDispatch(snap);
      const frames = new Frames();
      const model = new DispatchModel(snap);
      const controller = new DispatchController(model, new FakeConnection(kernel));
      const graph = new DispatchGraph({ model, controller, requestFrame: frames.request });
      Widget.attach(graph, document.body);
      await controller.attached;
      frames.run();
      const time = (id: number) => graph.node.querySelector(`.jp-CovalentNode[data-node-id="${id}"] .jp-CovalentNode-time`)!.textContent;
      expect(time(0)).toBe('2.5 s');
      expect(time(1)).toBe('17 s');
      jest.advanceTimersByTime(2000);
      expect(time(1)).toBe('19 s');
      jest.advanceTimersByTime(60000);
      expect(time(1)).toBe('1 min 19 s');
      expect(time(2)).toBe('');
      graph.dispose();
    } finally {
      jest.useRealTimers();
    }
  });

  it('cancels a task on click without confirmation and shows CANCELLING in the next frame', async () => {
    const kernel = liveKernel();
    const { cancelOf, nodeEl, frames } = await mount(kernel);
    kernel.holdReplies = true;
    cancelOf(1).click();
    expect(kernel.sent[kernel.sent.length - 1]).toMatchObject({ type: 'cancel_tasks', taskIds: [1] });
    frames.run();
    expect(nodeEl(1).dataset.status).toBe('CANCELLING');
    expect(cancelOf(1).disabled).toBe(true);
    expect(cancelOf(1).title).toMatch(/already requested/);
    kernel.holdReplies = false;
    kernel.release();
    kernel.pushDelta('d-1', [
      { id: 1, status: 'CANCELLED', cancelOutcome: 'killed', cancelSource: 'comm', cancelRequested: true },
      { id: 3, status: 'CANCELLED', cancelSource: 'comm' }
    ]);
    await flush();
    frames.run();
    expect(nodeEl(1).dataset.status).toBe('CANCELLED');
    expect(nodeEl(3).dataset.status).toBe('CANCELLED');
  });

  it('shows a kill the executor could not confirm as such', async () => {
    const kernel = liveKernel();
    const { nodeEl, frames } = await mount(kernel);
    kernel.pushDelta('d-1', [{ id: 1, status: 'CANCELLED', cancelOutcome: 'kill_unconfirmed', cancelDetail: 'host unreachable' }]);
    frames.run();
    expect(nodeEl(1).classList).toContain('jp-mod-killUnconfirmed');
    // Where the cancel button was, the outcome: never "killed" for an unconfirmed kill.
    const outcome = nodeEl(1).querySelector<HTMLElement>('.jp-CovalentNode-outcome')!;
    expect(outcome.hidden).toBe(false);
    expect(outcome.textContent).toBe('kill unconfirmed');
    expect(nodeEl(1).getAttribute('aria-label')).toMatch(/kill unconfirmed/);
  });

  it('marks a reused result and a limit warning in words on the node', async () => {
    const kernel = liveKernel();
    const { nodeEl, frames } = await mount(kernel);
    const marks = (id: number) => nodeEl(id).querySelector<HTMLElement>('.jp-CovalentNode-marks')!;
    expect(marks(0).hidden).toBe(true);
    kernel.pushDelta('d-1', [
      { id: 0, status: 'COMPLETED', reusedFrom: 'd-0' },
      { id: 1, limitWarning: 'time limit: 80 % of 10m used' },
    ]);
    frames.run();
    expect(nodeEl(0).dataset.reused).toBe('true');
    expect(marks(0).hidden).toBe(false);
    expect(marks(0).textContent).toBe('reused');
    expect(marks(0).title).toMatch(/d-0/);
    expect(nodeEl(1).dataset.reused).toBeUndefined();
    expect(nodeEl(1).classList).toContain('jp-mod-limitWarning');
    expect(marks(1).textContent).toMatch(/time limit: 80 % of 10m used/);
  });

  it("shows the dispatch's own limit warning in words in its toolbar once a delta brings it", async () => {
    const kernel = liveKernel();
    const { q, frames } = await mount(kernel);
    const warning = () => q<HTMLElement>('.jp-CovalentGraph-toolbar .jp-CovalentGraph-limitWarning')!;
    expect(warning().hidden).toBe(true);
    kernel.pushDelta('d-1', [], { dispatch: { status: 'RUNNING', limitWarning: 'budget 80% (4.00 of 5.00)', cost: 4 } });
    await flush();
    frames.run();
    expect(warning().hidden).toBe(false);
    expect(warning().textContent).toBe('\u26a0 budget 80% (4.00 of 5.00)');
    expect(warning().getAttribute('role')).toBe('status');
    expect(warning().getAttribute('aria-label')).toBe('Dispatch limit warning: budget 80% (4.00 of 5.00)');
    // A later delta without the field keeps it: a warning is never taken back.
    kernel.pushDelta('d-1', [], { dispatch: { status: 'CANCELLED', completedAt: new Date().toISOString() } });
    await flush();
    frames.run();
    expect(warning().textContent).toMatch(/budget 80%/);
  });

  it('asks before cancelling the whole dispatch', async () => {
    const kernel = liveKernel();
    let answer = false;
    const asked: string[] = [];
    const { q } = await mount(kernel, async () => {
      asked.push('asked');
      return answer;
    });
    const button = q<HTMLButtonElement>('button[aria-label="Cancel dispatch"]')!;
    button.click();
    await flush();
    expect(asked).toHaveLength(1);
    expect(kernel.sent.some(r => r.type === 'cancel_dispatch')).toBe(false);
    answer = true;
    button.click();
    await flush();
    expect(kernel.sent.some(r => r.type === 'cancel_dispatch')).toBe(true);
  });

  it('merges many updates into one redraw per frame', async () => {
    const kernel = liveKernel();
    const { frames, nodeEl } = await mount(kernel);
    for (let i = 0; i < 200; i++) {
      kernel.pushDelta('d-1', [{ id: 2, status: i % 2 ? 'RUNNING' : 'NEW_OBJECT' }]);
    }
    expect(frames.queue).toHaveLength(1);
    expect(nodeEl(2).dataset.status).toBe('NEW_OBJECT');
    frames.run();
    expect(nodeEl(2).dataset.status).toBe('RUNNING');
  });

  it('is a read-only snapshot labelled with its time when no kernel is connected', async () => {
    const { q, cancelOf, graph } = await mount(null);
    expect(graph.node.dataset.mode).toBe('snapshot');
    expect(q('.jp-CovalentGraph-mode')!.textContent).toMatch(/^Snapshot \S.*$/);
    expect(q('.jp-CovalentGraph-mode')!.getAttribute('title')).toMatch(/^Snapshot taken .+ \(read-only\)/);
    expect(cancelOf(1).disabled).toBe(true);
    expect(cancelOf(1).title).toMatch(/No kernel connected/);
    const dispatchButton = q<HTMLButtonElement>('button[aria-label="Cancel dispatch"]')!;
    expect(dispatchButton.disabled).toBe(true);
    expect(dispatchButton.title).toMatch(/No kernel connected/);
  });

  it('shows a node’s details: status, times, executor, job handle, error and cancel facts', async () => {
    const kernel = liveKernel();
    const { nodeEl, q, frames } = await mount(kernel);
    nodeEl(1).click();
    const field = (k: string) => q(`.jp-CovalentDetails td[data-field="${k}"]`)!.textContent;
    expect(field('status')).toBe('RUNNING');
    expect(field('executor')).toBe('local');
    expect(field('jobHandle')).toBe('{"pid":42}');
    kernel.pushDelta('d-1', [
      { id: 1, status: 'CANCELLED', cancelSource: 'api', cancelReason: 'over budget', cancelOutcome: 'killed', completedAt: '2026-01-01T00:00:09.000Z' }
    ]);
    frames.run();
    expect(field('cancelSource')).toBe('ct.cancel in a notebook cell');
    expect(field('cancelReason')).toBe('over budget');
    expect(field('cancelOutcome')).toBe('Killed (confirmed)');
    expect(field('completedAt')).not.toBe('—');
  });

  it('selects a node with the keyboard and cancels it with Enter on its button', async () => {
    const kernel = liveKernel();
    const { nodeEl, cancelOf, graph } = await mount(kernel);
    expect(nodeEl(2).tabIndex).toBe(0);
    nodeEl(2).dispatchEvent(new KeyboardEvent('keydown', { key: 'Enter', bubbles: true }));
    expect(graph.selectedNodeId).toBe(2);
    // A focused <button> turns Enter into a click natively; jsdom does not, so click it.
    cancelOf(2).focus();
    expect(document.activeElement).toBe(cancelOf(2));
    cancelOf(2).click();
    expect(kernel.sent[kernel.sent.length - 1]).toMatchObject({ type: 'cancel_tasks', taskIds: [2] });
  });

  it('expands a sublattice into its own graph', async () => {
    const kernel = new FakeKernel();
    const parent = diamond();
    parent.nodes.push(node(4, { name: 'inner', kind: 'sublattice', status: 'RUNNING', subDispatchId: 'd-sub', dependsOn: [3] }));
    kernel.addDispatch(parent);
    kernel.addDispatch({ ...diamond('d-sub'), name: 'inner' });
    const frames = new Frames();
    const connection = new FakeConnection(kernel);
    const make = (id: string, snap = parent): DispatchGraph => {
      const model = new DispatchModel({ ...snap, dispatchId: id });
      return new DispatchGraph({
        model,
        controller: new DispatchController(model, connection),
        requestFrame: frames.request,
        openSublattice: sub => make(sub, { ...diamond(sub), nodes: [] })
      });
    };
    const graph = make('d-1');
    Widget.attach(graph, document.body);
    await graph.controller!.attached;
    frames.run();
    const expand = graph.node.querySelector('button[aria-label="Expand sublattice 4"]') as HTMLButtonElement;
    expect(expand).not.toBeNull();
    expand.click();
    await flush();
    await flush();
    frames.run();
    const sub = graph.node.querySelector('.jp-CovalentGraph-sublattices .jp-CovalentGraph') as HTMLElement;
    expect(sub.dataset.dispatchId).toBe('d-sub');
    expect(sub.querySelectorAll('.jp-CovalentNode')).toHaveLength(4);
    expect(expand.getAttribute('aria-expanded')).toBe('true');
  });
});
