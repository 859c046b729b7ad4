import {
  ILabShell,
  ILayoutRestorer,
  type JupyterFrontEnd,
  type JupyterFrontEndPlugin
} from '@jupyterlab/application';
import { Dialog, ICommandPalette, showDialog } from '@jupyterlab/apputils';
import { INotebookTracker, type NotebookPanel } from '@jupyterlab/notebook';
import { IRenderMimeRegistry } from '@jupyterlab/rendermime';
import { ITranslator, type TranslationBundle } from '@jupyterlab/translation';
import { loadBundle } from './translation';
import { LabIcon } from '@jupyterlab/ui-components';
import type { DispatchSummary } from 'covalent-ts-protocol';
import { KernelConnection } from './client/kernel-connection';
import { CommandIDs } from './commands';
import { GraphRegistry } from './graph/graph-registry';
import type { DispatchModel } from './model/dispatch-model';
import { DispatchesPanel } from './panel/dispatches-panel';
import { rendererFactory } from './renderer/dispatch-renderer';

export { CommandIDs };

const graphIcon = new LabIcon({
  name: 'covalent-ts:graph',
  svgstr:
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 24 24"><g class="jp-icon3" fill="#616161">' +
    '<circle cx="12" cy="4" r="3"/><circle cx="5" cy="19" r="3"/><circle cx="19" cy="19" r="3"/>' +
    '<path d="M11 6.5 6 16.5l1.5.8 5-10zM13 6.5l5 10-1.5.8-5-10z"/></g></svg>'
});

/** Ask before stopping every task: the one cancel that is expensive to undo. */
async function confirmDispatchCancel(trans: TranslationBundle, name: string, id: string): Promise<boolean> {
  const result = await showDialog({
    title: trans.__('Cancel dispatch'),
    body: trans.__('Stop every unfinished task of "%1" (%2)? Running tasks are killed; this cannot be undone.', name, id),
    buttons: [
      Dialog.cancelButton({ label: trans.__('Keep running') }),
      Dialog.warnButton({ label: trans.__('Stop all tasks') })
    ]
  });
  return result.button.accept;
}

function activate(
  app: JupyterFrontEnd,
  tracker: INotebookTracker,
  translator: ITranslator | null,
  palette: ICommandPalette | null,
  rendermime: IRenderMimeRegistry | null,
  restorer: ILayoutRestorer | null,
  labShell: ILabShell | null
): void {
  const trans = loadBundle(translator);
  const registry = new GraphRegistry();
  // Reachable from devtools and the browser benchmarks (which drive a graph's
  // model directly); a symbol key keeps it out of everyone's way.
  (globalThis as any)[Symbol.for('covalent-ts.graphs')] = registry;
  const connections = new WeakMap<NotebookPanel, KernelConnection>();
  const confirmCancelDispatch = (m: DispatchModel) => confirmDispatchCancel(trans, m.name, m.dispatchId);

  // Outside notebooks (output views, other documents) the graph is a read-only snapshot.
  rendermime?.addFactory(rendererFactory({ connection: null, translator, registry, confirmCancelDispatch }), 0);

  const connectionOf = (panel: NotebookPanel): KernelConnection => {
    let c = connections.get(panel);
    if (!c) {
      c = new KernelConnection(panel.sessionContext);
      connections.set(panel, c);
    }
    return c;
  };
  const setUp = (panel: NotebookPanel) => {
    const connection = connectionOf(panel);
    panel.content.rendermime.addFactory(
      rendererFactory({ connection, translator, registry, confirmCancelDispatch }),
      0
    );
  };
  tracker.forEach(setUp);
  tracker.widgetAdded.connect((_, panel) => setUp(panel));

  const panel = new DispatchesPanel({
    translator,
    confirm: (s: DispatchSummary) => confirmDispatchCancel(trans, s.name, s.dispatchId)
  });
  panel.title.icon = graphIcon;
  const follow = () => {
    const current = tracker.currentWidget;
    panel.setSource(current ? connectionOf(current) : null);
  };
  tracker.currentChanged.connect(follow);
  follow();
  if (labShell) {
    labShell.add(panel, 'right', { rank: 900 });
  } else {
    app.shell.add(panel, 'right', { rank: 900 });
  }
  restorer?.add(panel, panel.id);

  app.commands.addCommand(CommandIDs.cancelDispatch, {
    label: trans.__('Cancel dispatch'),
    caption: trans.__('Cancel every unfinished task of the dispatch whose graph you used last'),
    describedBy: { args: { type: 'object', properties: {} } },
    isEnabled: () => {
      const g = registry.current;
      return !!g && g.controller?.canCancel === true && !g.model.isFinished;
    },
    execute: async () => {
      await registry.current?.cancelDispatch();
    }
  });
  app.commands.addCommand(CommandIDs.cancelSelectedTask, {
    label: trans.__('Cancel selected task'),
    caption: trans.__('Cancel the task selected in the graph, and the tasks that depend on it'),
    describedBy: { args: { type: 'object', properties: {} } },
    isEnabled: () => {
      const g = registry.current;
      const id = g?.selectedNodeId;
      return !!g && id !== null && id !== undefined && g.cancelBlock(g.model.node(id)) === null;
    },
    execute: async () => {
      const g = registry.current;
      const id = g?.selectedNodeId;
      if (g && id !== null && id !== undefined) {
        await g.cancelTasks([id]);
      }
    }
  });
  app.commands.addCommand(CommandIDs.showDispatches, {
    label: trans.__('Show covalent-ts dispatches'),
    describedBy: { args: { type: 'object', properties: {} } },
    execute: () => app.shell.activateById(panel.id)
  });
  const category = trans.__('covalent-ts');
  for (const command of [CommandIDs.cancelDispatch, CommandIDs.cancelSelectedTask, CommandIDs.showDispatches]) {
    palette?.addItem({ command, category });
  }
}

/** The covalent-ts JupyterLab plugin: live graphs, cancel buttons, dispatches panel. */
const plugin: JupyterFrontEndPlugin<void> = {
  id: 'covalent-ts-labextension:plugin',
  description: 'Live transport graphs of covalent-ts dispatches, with cancel buttons.',
  autoStart: true,
  requires: [INotebookTracker],
  optional: [ITranslator, ICommandPalette, IRenderMimeRegistry, ILayoutRestorer, ILabShell],
  activate
};

export default plugin;
