import {
  ILabShell,
  ILayoutRestorer,
  type JupyterFrontEnd,
  type JupyterFrontEndPlugin
} from '@jupyterlab/application';
import { Dialog, ICommandPalette, WidgetTracker, showDialog } from '@jupyterlab/apputils';
import { INotebookTracker, type NotebookPanel } from '@jupyterlab/notebook';
import { IRenderMimeRegistry } from '@jupyterlab/rendermime';
import { ITranslator, type TranslationBundle } from '@jupyterlab/translation';
import { loadBundle } from './translation';
import { LabIcon } from '@jupyterlab/ui-components';
import type { DispatchSummary } from 'covalent-ts-protocol';
import { KernelConnection } from './client/kernel-connection';
import { CommandIDs, addCancelCommands } from './commands';
import type { DispatchGraph } from './graph/graph-widget';
import type { DispatchModel } from './model/dispatch-model';
import { DispatchesPanel } from './panel/dispatches-panel';
import { rendererFactory } from './renderer/dispatch-renderer';
import { IDispatchGraphTracker } from './tokens';

export { CommandIDs, IDispatchGraphTracker };

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

/** One kernel connection per notebook, shared by its graphs and the dispatches panel. */
const connections = new WeakMap<NotebookPanel, KernelConnection>();
function connectionOf(panel: NotebookPanel): KernelConnection {
  let c = connections.get(panel);
  if (!c) {
    c = new KernelConnection(panel.sessionContext);
    connections.set(panel, c);
  }
  return c;
}

/** Live graphs in notebook outputs (a read-only snapshot elsewhere), tracked by IDispatchGraphTracker. */
const graphsPlugin: JupyterFrontEndPlugin<IDispatchGraphTracker> = {
  id: 'covalent-ts-labextension:graphs',
  description: 'Live transport graphs of covalent-ts dispatches, with cancel buttons.',
  autoStart: true,
  requires: [INotebookTracker],
  optional: [ITranslator, IRenderMimeRegistry],
  provides: IDispatchGraphTracker,
  activate: (
    app: JupyterFrontEnd,
    notebooks: INotebookTracker,
    translator: ITranslator | null,
    rendermime: IRenderMimeRegistry | null
  ): IDispatchGraphTracker => {
    const trans = loadBundle(translator);
    const tracker = new WidgetTracker<DispatchGraph>({ namespace: 'covalent-ts-graphs' });
    let seq = 0;
    const track = (graph: DispatchGraph) => {
      graph.id ||= `covalent-ts-graph-${++seq}`;
      void tracker.add(graph);
    };
    const confirmCancelDispatch = (m: DispatchModel) => confirmDispatchCancel(trans, m.name, m.dispatchId);
    const common = { translator, track, confirmCancelDispatch, commands: app.commands };
    // Outside notebooks (output views, other documents) the graph is a read-only snapshot.
    rendermime?.addFactory(rendererFactory({ connection: null, ...common }), 0);
    const setUp = (panel: NotebookPanel) => {
      panel.content.rendermime.addFactory(rendererFactory({ connection: connectionOf(panel), ...common }), 0);
    };
    notebooks.forEach(setUp);
    notebooks.widgetAdded.connect((_, panel) => setUp(panel));
    return tracker;
  }
};

/** The dispatches panel in the right sidebar, following the current notebook's kernel. */
const panelPlugin: JupyterFrontEndPlugin<void> = {
  id: 'covalent-ts-labextension:panel',
  description: "The covalent-ts dispatches panel: every dispatch of the current notebook's kernel.",
  autoStart: true,
  requires: [INotebookTracker],
  optional: [ITranslator, ICommandPalette, ILayoutRestorer, ILabShell],
  activate: (
    app: JupyterFrontEnd,
    notebooks: INotebookTracker,
    translator: ITranslator | null,
    palette: ICommandPalette | null,
    restorer: ILayoutRestorer | null,
    labShell: ILabShell | null
  ): void => {
    const trans = loadBundle(translator);
    const panel = new DispatchesPanel({
      translator,
      confirm: (s: DispatchSummary) => confirmDispatchCancel(trans, s.name, s.dispatchId)
    });
    panel.title.icon = graphIcon;
    const follow = () => {
      const current = notebooks.currentWidget;
      panel.setSource(current ? connectionOf(current) : null);
    };
    notebooks.currentChanged.connect(follow);
    follow();
    if (labShell) {
      labShell.add(panel, 'right', { rank: 900 });
    } else {
      app.shell.add(panel, 'right', { rank: 900 });
    }
    restorer?.add(panel, panel.id);
    app.commands.addCommand(CommandIDs.showDispatches, {
      label: trans.__('Show covalent-ts dispatches'),
      describedBy: { args: { type: 'object', properties: {} } },
      execute: () => app.shell.activateById(panel.id)
    });
    palette?.addItem({ command: CommandIDs.showDispatches, category: trans.__('covalent-ts') });
  }
};

/** The cancel commands (`covalent-ts:cancel-task`, `covalent-ts:cancel-dispatch`, ...) on the tracked graphs. */
const commandsPlugin: JupyterFrontEndPlugin<void> = {
  id: 'covalent-ts-labextension:commands',
  description: 'Commands that cancel covalent-ts tasks and dispatches.',
  autoStart: true,
  requires: [IDispatchGraphTracker],
  optional: [ITranslator, ICommandPalette],
  activate: (
    app: JupyterFrontEnd,
    tracker: IDispatchGraphTracker,
    translator: ITranslator | null,
    palette: ICommandPalette | null
  ): void => {
    const trans = loadBundle(translator);
    addCancelCommands(app.commands, tracker, trans);
    const category = trans.__('covalent-ts');
    for (const command of [CommandIDs.cancelDispatch, CommandIDs.cancelSelectedTask]) {
      palette?.addItem({ command, category });
    }
  }
};

/** The covalent-ts JupyterLab plugins: live graphs, cancel commands, dispatches panel. */
const plugins: JupyterFrontEndPlugin<any>[] = [graphsPlugin, commandsPlugin, panelPlugin];

export default plugins;
