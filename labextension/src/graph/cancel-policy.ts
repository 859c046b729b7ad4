import type { TranslationBundle } from '@jupyterlab/translation';
import { cancelBlockReason, isTerminal, type NodeView, type StatusName } from 'covalent-ts-protocol';
import { statusLabel } from './labels';

/**
 * When a cancel from the browser is possible: one pure decision shared by the
 * node buttons, the graph's toolbar and the `covalent-ts:cancel-*` commands.
 * Node-level rules come from the protocol's status model ({@link cancelBlockReason}).
 */

/** What the policy reads of a graph: its connection and the dispatch status. */
export interface CancelContext {
  /** `live` when the graph follows a kernel that runs the dispatch. */
  mode: string;
  /** Why the graph is not live (`connecting`, `unknown-dispatch`, ...), or null. */
  modeReason: string | null;
  /** Whether the graph's controller can send cancel requests to a kernel. */
  canCancel: boolean;
  /** The dispatch's status. */
  status: StatusName;
}

/** Why a cancel is refused: a text for the button's title (null: allowed). */
export type CancelBlock = string | null;

/** Refusal that holds for every cancel of this graph: it is a snapshot, or still connecting. */
export function modeBlock(ctx: CancelContext, t: TranslationBundle): CancelBlock {
  if (ctx.mode === 'live' && ctx.canCancel) {
    return null;
  }
  switch (ctx.modeReason) {
    case 'connecting':
      return t.__('Connecting to the kernel…');
    case 'unknown-dispatch':
      return t.__('The kernel no longer runs this dispatch: this is a read-only snapshot');
    default:
      return t.__('No kernel connected: this is a read-only snapshot');
  }
}

/** Why the task `node` cannot be cancelled from this graph, or null. */
export function taskCancelBlock(ctx: CancelContext, node: NodeView | undefined, t: TranslationBundle): CancelBlock {
  const mode = modeBlock(ctx, t);
  if (mode) {
    return mode;
  }
  if (!node) {
    return t.__('No task selected');
  }
  const reason = cancelBlockReason(node, true);
  switch (reason?.code) {
    case undefined:
      return null;
    case 'finished':
      return t.__('Task already finished (%1)', statusLabel(t, reason.status));
    case 'cancel_requested':
      return t.__('Cancel already requested');
    case 'not_live':
      return t.__('No kernel connected: this is a read-only snapshot');
  }
}

/** Why the whole dispatch cannot be cancelled from this graph, or null. */
export function dispatchCancelBlock(ctx: CancelContext, t: TranslationBundle): CancelBlock {
  const mode = modeBlock(ctx, t);
  if (mode) {
    return mode;
  }
  if (isTerminal(ctx.status)) {
    return t.__('The dispatch has already finished (%1)', statusLabel(t, ctx.status));
  }
  return null;
}
