import type { IWidgetTracker } from '@jupyterlab/apputils';
import { Token } from '@lumino/coreutils';
import type { DispatchGraph } from './graph/graph-widget';

/**
 * The dispatch graphs on screen, and the one the user worked with last
 * (`currentWidget`): the cancel commands act on them. Provided by the
 * `covalent-ts-labextension:graphs` plugin.
 */
export type IDispatchGraphTracker = IWidgetTracker<DispatchGraph>;

/** The token of the {@link IDispatchGraphTracker} service. */
export const IDispatchGraphTracker = new Token<IDispatchGraphTracker>(
  'covalent-ts-labextension:IDispatchGraphTracker',
  'The covalent-ts dispatch graphs on screen and the one used last.'
);
