import { Widget } from '@lumino/widgets';
import { DispatchesPanel } from '../../labextension/src/panel/dispatches-panel';
import { FakeConnection } from './support/fake-connection';
import { FakeKernel, diamond } from './support/fake-kernel';

const flush = () => new Promise(r => setTimeout(r, 0));

describe('DispatchesPanel', () => {
  afterEach(() => (document.body.textContent = ''));

  it('lists the kernel’s dispatches with status, and cancels one after confirmation', async () => {
    const kernel = new FakeKernel();
    kernel.addDispatch(diamond('d-1'));
    kernel.addDispatch({ ...diamond('d-2'), status: 'COMPLETED' });
    const confirmed: string[] = [];
    const panel = new DispatchesPanel({
      confirm: async s => {
        confirmed.push(s.dispatchId);
        return true;
      }
    });
    Widget.attach(panel, document.body);
    const connection = new FakeConnection(kernel);
    panel.setSource(connection);
    await connection.connectTo(kernel);
    await flush();
    const items = panel.node.querySelectorAll('li.jp-CovalentDispatches-item');
    expect(items).toHaveLength(2);
    expect((items[0] as HTMLElement).dataset.status).toBe('RUNNING');
    expect(items[0].querySelector('.jp-CovalentDispatches-status')!.textContent).toMatch(/RUNNING/);
    const done = panel.node.querySelector('button[aria-label="Cancel dispatch d-2"]') as HTMLButtonElement;
    expect(done.disabled).toBe(true);
    (panel.node.querySelector('button[aria-label="Cancel dispatch d-1"]') as HTMLButtonElement).click();
    await flush();
    await flush();
    expect(confirmed).toEqual(['d-1']);
    expect(kernel.sent.some(r => r.type === 'cancel_dispatch' && r.dispatchId === 'd-1')).toBe(true);
  });

  it('updates from the kernel’s pushes and says when no kernel is connected', async () => {
    const kernel = new FakeKernel();
    const panel = new DispatchesPanel({ confirm: async () => true });
    Widget.attach(panel, document.body);
    expect(panel.node.textContent).toMatch(/No covalent-ts kernel/);
    const connection = new FakeConnection(kernel);
    panel.setSource(connection);
    await connection.connectTo(kernel);
    await flush();
    kernel.comm.deliver({
      v: 1,
      type: 'dispatches',
      dispatches: [{ dispatchId: 'd-9', name: 'wf', status: 'RUNNING', startedAt: null, completedAt: null, nodeCount: 3, parentDispatchId: null }]
    });
    expect(panel.node.querySelectorAll('li')).toHaveLength(1);
    connection.loseKernel();
    expect(panel.node.textContent).toMatch(/No covalent-ts kernel/);
  });
});
