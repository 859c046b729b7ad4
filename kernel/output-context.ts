import { AsyncLocalStorage } from 'async_hooks';
import type { Header } from './message';
import { processSingleton } from './process-singleton';

/**
 * Which request a piece of work belongs to. Every shell message is handled
 * inside `run(context, ...)`, and Node carries the context through timers,
 * promises and callbacks the work creates: so output printed by a dispatch
 * started in cell 3 still goes to cell 3 while cell 7 runs, and output of a
 * comm handler goes to the comm message that triggered it.
 */
export interface OutputContext {
  parent: Header;
  /** `silent` executions publish nothing on IOPub. */
  silent: boolean;
}

const KEY = Symbol.for('covalent-ts.kernel.outputContext');

/** One store per process, even if this module is loaded twice. */
export const outputContext: AsyncLocalStorage<OutputContext> = processSingleton(KEY, () => new AsyncLocalStorage<OutputContext>());

export function currentOutputContext(): OutputContext | undefined {
  return outputContext.getStore();
}
