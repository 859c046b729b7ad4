import { ErrorCodes, InvalidInputError } from '../errors';
import { taskContextStorage, type TaskContext } from '../executors/runner/run-payload';
import { isLattice, type Lattice } from '../workflow/lattice';
import type { CancelReport } from './cancel-report';
import { getDisplayHook } from './display-hook';
import { Dispatcher, type CancelOptions, type GetResultOptions } from './dispatcher';
import { closeAll } from '../executors/registry';
import type { Result } from './result';
import type { DispatchOptions } from './limits';
import type { RedispatchOptions } from './redispatch';

const DISPATCHER_KEY = Symbol.for('covalent-ts.dispatcher');

/**
 * The process-wide dispatcher. Kept on globalThis so the kernel's copy of
 * the library and a notebook cell's copy share one dispatcher, one store and
 * one worker pool.
 */
export function getDispatcher(): Dispatcher {
  const g = globalThis as any;
  g[DISPATCHER_KEY] ??= new Dispatcher();
  return g[DISPATCHER_KEY];
}

/** Close the process-wide dispatcher (flush the store, stop workers); the next call makes a new one. */
export async function shutdown(): Promise<void> {
  const g = globalThis as any;
  const d: Dispatcher | undefined = g[DISPATCHER_KEY];
  g[DISPATCHER_KEY] = undefined;
  // The dispatcher's close releases executors' process-wide resources; without one, release them here.
  if (d) await d.close();
  else await closeAll();
}

type AnyFn = (...args: any[]) => any;

/**
 * `ct.dispatch(workflow)(...args)` starts the workflow in the background and
 * resolves with its dispatch id as soon as the graph is built and checked.
 * `ct.dispatch(workflow, { timeLimit: '2h', budget: 50 })` cancels it (reason
 * `time limit` or `budget`, source `limit`) once it runs that long or its
 * executors' prices add up to the budget.
 *
 * Follow it with {@link getResult}, stop it with {@link cancel}; in a notebook
 * it shows a live graph in the cell.
 *
 * @example
 * ```ts
 * const id = await ct.dispatch(wf)(10);
 * const result = await ct.getResult(id, { wait: true });
 * ```
 */
export function dispatch<F extends AnyFn>(lattice: Lattice<F>, options?: DispatchOptions): (...args: Parameters<F>) => Promise<string> {
  return async (...args: Parameters<F>) => {
    const id = await getDispatcher().dispatch(lattice, args, options);
    getDisplayHook()?.onDispatch(id);
    return id;
  };
}

/** `ct.dispatchSync(workflow)(...args)`: dispatch and wait for the final result. */
export function dispatchSync<F extends AnyFn>(lattice: Lattice<F>, options?: DispatchOptions): (...args: Parameters<F>) => Promise<Result<ReturnType<F>>> {
  return async (...args: Parameters<F>) => {
    const id = await dispatch(lattice, options)(...args);
    return (await getDispatcher().getResult(id, { wait: true })) as Result<ReturnType<F>>;
  };
}

/**
 * `ct.redispatch(dispatchId, { replaceElectrons?, reuseCompleted? })(...newArgs?)`:
 * run an earlier dispatch's workflow again (with its original inputs when no
 * arguments are given), reusing each task that COMPLETED before with the same
 * function source, inputs and executor configuration. Resolves with the new id.
 */
export function redispatch(dispatchId: string, options?: RedispatchOptions): (...newArgs: unknown[]) => Promise<string> {
  return async (...newArgs: unknown[]) => {
    const id = await getDispatcher().redispatch(dispatchId, options, newArgs.length ? newArgs : undefined);
    getDisplayHook()?.onDispatch(id);
    return id;
  };
}

/**
 * A dispatch's state; with `{ wait: true }` (or a timeout in ms) once it has
 * ended. Works for dispatches of other processes too (read from the store).
 *
 * @example
 * ```ts
 * const r = await ct.getResult<number>(id, { wait: true });
 * if (r.status === 'COMPLETED') console.log(r.result);
 * else console.log(r.status, r.error); // FAILED or CANCELLED, see r.nodes for each task
 * ```
 */
export function getResult<T = unknown>(dispatchId: string, options?: GetResultOptions): Promise<Result<T>> {
  return getDispatcher().getResult(dispatchId, options) as Promise<Result<T>>;
}

/**
 * Cancel a whole dispatch, or `{ taskIds }` and everything downstream of
 * them. Resolves with a {@link CancelReport} of what happened to each task
 * (`aborted_before_start`, `killed`, `kill_unconfirmed`, `already_finished`).
 * A task whose kill could not be confirmed stays CANCELLING; calling `cancel`
 * again retries it, and `{ abandon: true }` gives up on it explicitly.
 *
 * @example
 * ```ts
 * const report = await ct.cancel(id, { taskIds: [3], reason: 'wrong input' });
 * for (const t of report.tasks) console.log(t.nodeId, t.outcome, t.detail);
 * await ct.cancel(id); // the rest of the dispatch
 * ```
 */
export function cancel(dispatchId: string, options?: CancelOptions): Promise<CancelReport> {
  // Passed on as given: the dispatcher checks it (a copy would hide an array or a string).
  return getDispatcher().cancel(dispatchId, options);
}

/** Inside a running task: its ids and an AbortSignal that fires on cancel. */
export function taskContext(): TaskContext {
  const ctx = taskContextStorage().getStore();
  if (!ctx) {
    throw new InvalidInputError(ErrorCodes.INVALID_ARGUMENT, `ct.taskContext() is only available inside a running task (an electron's function).`);
  }
  return ctx;
}

/** Show a dispatch's live graph in the current notebook cell (a text summary outside Jupyter). */
export function show(dispatchId: string): void {
  const hook = getDisplayHook();
  if (hook) {
    hook.show(dispatchId);
    return;
  }
  const snap = getDispatcher().liveSnapshot(dispatchId);
  if (!snap) {
    console.log(`Dispatch ${dispatchId}: not running in this process (use ct.getResult).`);
    return;
  }
  console.log(`Dispatch ${snap.dispatchId} (${snap.name}): ${snap.status}`);
  for (const n of snap.nodes) console.log(`  [${n.id}] ${n.name} ${n.status}${n.dependsOn.length ? ` <- ${n.dependsOn.join(', ')}` : ''}`);
}

export { isLattice };
