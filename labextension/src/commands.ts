import type { TranslationBundle } from '@jupyterlab/translation';
import type { DispatchGraph } from './graph/graph-widget';
import type { IDispatchGraphTracker } from './tokens';

/** Command ids, in one place so the palette, menus, node buttons and tests agree. */
export namespace CommandIDs {
  /** Args `{ dispatchId, taskId }`: cancel one task (and what depends on it). The node buttons execute it. */
  export const cancelTask = 'covalent-ts:cancel-task';
  /** Args `{ dispatchId? }`: cancel every unfinished task after confirmation (default: the graph used last). */
  export const cancelDispatch = 'covalent-ts:cancel-dispatch';
  export const cancelSelectedTask = 'covalent-ts:cancel-selected-task';
  export const showDispatches = 'covalent-ts:show-dispatches';
}

/** Arguments of {@link CommandIDs.cancelTask}. */
export interface CancelTaskArgs {
  dispatchId: string;
  taskId: number;
}

/** What the commands read of the {@link IDispatchGraphTracker}. */
export type GraphLookup = Pick<IDispatchGraphTracker, 'currentWidget' | 'find'>;

/** What the commands need of JupyterLab's command registry. */
export interface CommandHost {
  addCommand(id: string, options: any): unknown;
}

const CANCEL_TASK_ARGS = {
  type: 'object',
  properties: {
    dispatchId: { type: 'string', description: 'The dispatch the task belongs to' },
    taskId: { type: 'integer', minimum: 0, description: 'The task (node) id in that dispatch' }
  },
  required: ['dispatchId', 'taskId']
};

const CANCEL_DISPATCH_ARGS = {
  type: 'object',
  properties: {
    dispatchId: { type: 'string', description: 'The dispatch to cancel; the graph used last when omitted' }
  }
};

/** The graph of `dispatchId` the user is most likely looking at: the current one, else the first attached. */
export function graphOf(tracker: GraphLookup, dispatchId: unknown): DispatchGraph | null {
  const current = tracker.currentWidget;
  if (typeof dispatchId !== 'string') {
    return current;
  }
  if (current && current.model.dispatchId === dispatchId) {
    return current;
  }
  return tracker.find(g => g.model.dispatchId === dispatchId && g.isAttached) ?? tracker.find(g => g.model.dispatchId === dispatchId) ?? null;
}

function taskArgs(args: Record<string, unknown>): CancelTaskArgs | null {
  const { dispatchId, taskId } = args;
  return typeof dispatchId === 'string' && typeof taskId === 'number' && Number.isInteger(taskId) ? { dispatchId, taskId } : null;
}

/** The cancel commands, enabled by the same cancel policy as the graph's buttons. */
export function addCancelCommands(commands: CommandHost, tracker: GraphLookup, trans: TranslationBundle): void {
  commands.addCommand(CommandIDs.cancelTask, {
    label: (args: Record<string, unknown>) => trans.__('Cancel task %1', String(args.taskId ?? '')),
    caption: trans.__('Cancel a task and the tasks that depend on it'),
    describedBy: { args: CANCEL_TASK_ARGS },
    isEnabled: (args: Record<string, unknown>) => {
      const a = taskArgs(args);
      const g = a && graphOf(tracker, a.dispatchId);
      return !!a && !!g && g.cancelBlock(g.model.node(a.taskId)) === null;
    },
    execute: async (args: Record<string, unknown>) => {
      const a = taskArgs(args);
      const g = a && graphOf(tracker, a.dispatchId);
      if (a && g && g.cancelBlock(g.model.node(a.taskId)) === null) {
        await g.cancelTasks([a.taskId]);
      }
    }
  });
  commands.addCommand(CommandIDs.cancelDispatch, {
    label: trans.__('Cancel dispatch'),
    caption: trans.__('Cancel every unfinished task of the dispatch whose graph you used last'),
    describedBy: { args: CANCEL_DISPATCH_ARGS },
    isEnabled: (args: Record<string, unknown>) => {
      const g = graphOf(tracker, args.dispatchId);
      return !!g && g.dispatchBlock === null;
    },
    execute: async (args: Record<string, unknown>) => {
      await graphOf(tracker, args.dispatchId)?.cancelDispatch();
    }
  });
  commands.addCommand(CommandIDs.cancelSelectedTask, {
    label: trans.__('Cancel selected task'),
    caption: trans.__('Cancel the task selected in the graph, and the tasks that depend on it'),
    describedBy: { args: { type: 'object', properties: {} } },
    isEnabled: () => {
      const g = tracker.currentWidget;
      const id = g?.selectedNodeId;
      return !!g && id !== null && id !== undefined && g.cancelBlock(g.model.node(id)) === null;
    },
    execute: async () => {
      const g = tracker.currentWidget;
      const id = g?.selectedNodeId;
      if (g && id !== null && id !== undefined) {
        await g.cancelTasks([id]);
      }
    }
  });
}
