import { CommandRegistry } from '@lumino/commands';
import { Widget } from '@lumino/widgets';
import { CommandIDs, addCancelCommands, type GraphLookup } from '../../labextension/src/commands';
import { DispatchGraph } from '../../labextension/src/graph/graph-widget';
import { DispatchController } from '../../labextension/src/model/dispatch-controller';
import { DispatchModel } from '../../labextension/src/model/dispatch-model';
import { loadBundle } from '../../labextension/src/translation';
import { FakeConnection } from './support/fake-connection';
import { FakeKernel, diamond } from './support/fake-kernel';

// The cancel commands on a real Lumino command registry, with graphs whose
// buttons execute them. The tracker is the part of JupyterLab's WidgetTracker
// they read (its ESM build does not load in jest; the browser tests use the real one).
class Graphs implements GraphLookup {
  graphs: DispatchGraph[] = [];
  currentWidget: DispatchGraph | null = null;
  find(fn: (g: DispatchGraph) => boolean): DispatchGraph | undefined {
    return this.graphs.find(fn);
  }
}

async function setUp() {
  const kernel = new FakeKernel();
  kernel.addDispatch(diamond());
  const commands = new CommandRegistry();
  const tracker = new Graphs();
  addCancelCommands(commands, tracker, loadBundle(null));
  const model = new DispatchModel(diamond());
  const controller = new DispatchController(model, new FakeConnection(kernel));
  const graph = new DispatchGraph({ model, controller, commands, requestFrame: cb => cb() });
  graph.id = 'graph-1';
  Widget.attach(graph, document.body);
  tracker.graphs.push(graph);
  tracker.currentWidget = graph;
  await controller.attached;
  const executed: Array<{ id: string; args: unknown }> = [];
  commands.commandExecuted.connect((_, e) => executed.push({ id: e.id, args: e.args }));
  const cancelOf = (id: number) => graph.node.querySelector(`button[aria-label="Cancel task ${id}"]`) as HTMLButtonElement;
  return { kernel, commands, graph, executed, cancelOf };
}

afterEach(() => {
  document.body.textContent = '';
});

describe('covalent-ts cancel commands', () => {
  it('describe their args: cancel-task needs dispatchId and taskId', async () => {
    const { commands } = await setUp();
    const d = await commands.describedBy(CommandIDs.cancelTask);
    expect(d.args).toMatchObject({ required: ['dispatchId', 'taskId'], properties: { dispatchId: { type: 'string' }, taskId: { type: 'integer' } } });
    expect((await commands.describedBy(CommandIDs.cancelDispatch)).args).toMatchObject({ properties: { dispatchId: { type: 'string' } } });
  });

  it('the node button executes covalent-ts:cancel-task with { dispatchId, taskId }', async () => {
    const { kernel, executed, cancelOf } = await setUp();
    cancelOf(1).click();
    expect(executed).toEqual([{ id: CommandIDs.cancelTask, args: { dispatchId: 'd-1', taskId: 1 } }]);
    await new Promise(r => setTimeout(r, 0));
    expect(kernel.sent.filter(m => m.type === 'cancel_tasks')).toEqual([expect.objectContaining({ dispatchId: 'd-1', taskIds: [1] })]);
  });

  it('are enabled by the same cancel policy as the buttons', async () => {
    const { commands, kernel } = await setUp();
    expect(commands.isEnabled(CommandIDs.cancelTask, { dispatchId: 'd-1', taskId: 2 })).toBe(true);
    // COMPLETED: nothing to cancel; an unknown dispatch or task id: nothing to act on.
    expect(commands.isEnabled(CommandIDs.cancelTask, { dispatchId: 'd-1', taskId: 0 })).toBe(false);
    expect(commands.isEnabled(CommandIDs.cancelTask, { dispatchId: 'other', taskId: 2 })).toBe(false);
    expect(commands.isEnabled(CommandIDs.cancelTask, { dispatchId: 'd-1' })).toBe(false);
    expect(commands.isEnabled(CommandIDs.cancelDispatch, { dispatchId: 'd-1' })).toBe(true);
    await commands.execute(CommandIDs.cancelTask, { dispatchId: 'd-1', taskId: 0 });
    expect(kernel.sent.some(m => m.type === 'cancel_tasks')).toBe(false);
    await commands.execute(CommandIDs.cancelTask, { dispatchId: 'd-1', taskId: 2 });
    expect(kernel.sent.filter(m => m.type === 'cancel_tasks')).toEqual([expect.objectContaining({ taskIds: [2] })]);
  });

  it('the toolbar executes covalent-ts:cancel-dispatch for its own dispatch', async () => {
    const { graph, executed, kernel } = await setUp();
    (graph.node.querySelector('button[aria-label="Cancel dispatch"]') as HTMLButtonElement).click();
    expect(executed).toEqual([{ id: CommandIDs.cancelDispatch, args: { dispatchId: 'd-1' } }]);
    await new Promise(r => setTimeout(r, 0));
    expect(kernel.sent.some(m => m.type === 'cancel_dispatch')).toBe(true);
  });
});
