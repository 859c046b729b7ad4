import { DispatchController } from '../../labextension/src/model/dispatch-controller';
import { DispatchModel } from '../../labextension/src/model/dispatch-model';
import { FakeConnection } from './support/fake-connection';
import { FakeKernel, diamond } from './support/fake-kernel';

const flush = () => new Promise(r => setTimeout(r, 0));

async function attached(kernel: FakeKernel | null) {
  const connection = new FakeConnection(kernel);
  const model = new DispatchModel(diamond());
  const controller = new DispatchController(model, connection);
  await controller.attached;
  return { connection, model, controller };
}

describe('DispatchController', () => {
  it('follows the live dispatch when the kernel knows it', async () => {
    const kernel = new FakeKernel();
    kernel.addDispatch(diamond());
    const { model, controller } = await attached(kernel);
    expect(model.mode).toBe('live');
    expect(controller.canCancel).toBe(true);
    kernel.pushDelta('d-1', [{ id: 2, status: 'RUNNING' }]);
    expect(model.node(2)!.status).toBe('RUNNING');
  });

  it('stays a read-only snapshot without a kernel', async () => {
    const { model, controller } = await attached(null);
    expect(model.mode).toBe('snapshot');
    expect(model.modeReason).toBe('no-kernel');
    expect(controller.canCancel).toBe(false);
    await expect(controller.cancelTasks([1])).rejects.toMatchObject({ code: 'NO_KERNEL' });
  });

  it('stays a snapshot when the kernel does not know the dispatch (restarted kernel)', async () => {
    const { model } = await attached(new FakeKernel());
    expect(model.mode).toBe('snapshot');
    expect(model.modeReason).toBe('unknown-dispatch');
  });

  it('re-subscribes for a fresh snapshot after a missed delta', async () => {
    const kernel = new FakeKernel();
    kernel.addDispatch(diamond());
    const { model } = await attached(kernel);
    kernel.pushDelta('d-1', [{ id: 2, status: 'RUNNING' }], { seq: 3 });
    await flush();
    expect(kernel.sent.filter(r => r.type === 'subscribe')).toHaveLength(2);
    expect(model.node(2)!.status).toBe('RUNNING');
    expect(model.seq).toBe(3);
  });

  it('shows CANCELLING before the kernel answers, then the reported outcome', async () => {
    const kernel = new FakeKernel();
    kernel.addDispatch(diamond());
    const { model, controller } = await attached(kernel);
    kernel.holdReplies = true;
    const done = controller.cancelTasks([1]);
    expect(model.node(1)!.status).toBe('CANCELLING');
    expect(kernel.sent[kernel.sent.length - 1]).toMatchObject({ type: 'cancel_tasks', dispatchId: 'd-1', taskIds: [1] });
    kernel.release();
    const report = await done;
    expect(report!.tasks[0].outcome).toBe('killed');
    expect(model.node(1)!.status).toBe('CANCELLED');
  });

  it('puts the status back and reports the error when the kernel refuses a cancel', async () => {
    const kernel = new FakeKernel();
    kernel.addDispatch(diamond());
    const { model, controller } = await attached(kernel);
    const errors: string[] = [];
    controller.error.connect((_, e) => errors.push(e.code));
    kernel.failNext.cancel_tasks = { code: 'CT_UNKNOWN_TASK', message: 'no such task' };
    await controller.cancelTasks([1]);
    expect(model.node(1)!.status).toBe('RUNNING');
    expect(errors).toEqual(['CT_UNKNOWN_TASK']);
  });

  it('becomes a snapshot when the kernel goes away and re-attaches to a new one', async () => {
    const kernel = new FakeKernel();
    kernel.addDispatch(diamond());
    const { connection, model } = await attached(kernel);
    connection.loseKernel();
    expect(model.mode).toBe('snapshot');
    expect(model.modeReason).toBe('no-kernel');
    await connection.connectTo(kernel);
    await flush();
    await flush();
    expect(model.mode).toBe('live');
  });
});
