import type { DispatchSnapshot, NodeView, StatusName } from '../protocol/messages';
import type { LimitWarningEvent } from './limits';

/**
 * Events the dispatcher emits, for the kernel's comm channel, the notebook
 * output and anything else that watches dispatches live. Listeners run
 * synchronously in the dispatcher's turn: keep them cheap and batch.
 */
export interface DispatcherEventMap {
  /** A dispatch (or a sublattice's sub-dispatch) was created. */
  'dispatch-created': { dispatchId: string; parentDispatchId: string | null; name: string };
  /** Some fields of one node changed (always includes `id`). */
  'node-changed': { dispatchId: string; node: Partial<NodeView> & { id: number } };
  /** The dispatch's own status, times or limit warning changed. */
  'dispatch-changed': {
    dispatchId: string;
    status: StatusName;
    startedAt: DispatchSnapshot['startedAt'];
    completedAt: DispatchSnapshot['completedAt'];
    /** Present for a dispatch with limits or prices: its estimated cost so far (absent without a price)... */
    cost?: DispatchSnapshot['cost'];
    /** ... and its own warning (80 % of its time limit or budget), null until it warned. */
    limitWarning?: DispatchSnapshot['limitWarning'];
  };
  /** Output a task printed (executors that capture it report it here). */
  output: { dispatchId: string; nodeId: number; stream: 'stdout' | 'stderr'; text: string };
  /** A task or the dispatch passed 80 % of its time limit or budget (a cell can react: `on('limitWarning', ...)`). */
  limitWarning: LimitWarningEvent;
}

export type DispatcherEventName = keyof DispatcherEventMap;
export type DispatcherListener<K extends DispatcherEventName> = (event: DispatcherEventMap[K]) => void;
