import { ErrorCodes, InvalidInputError } from '../errors';
import { currentGraph } from './build-context';
import { NodeOutput, collectOutputs } from './node-output';
import type { ExecutorSpec } from './transport-graph';
import type { Duration } from './duration';
import { isLattice, type Lattice } from './lattice';

const ELECTRON_BRAND = Symbol.for('covalent-ts.electron');

export interface ElectronOptions {
  /** Task name shown in the graph; defaults to the function's name. */
  name?: string;
  /**
   * Where the task runs: `'local'` (default: a pool of worker processes),
   * `'inline'` (in this process), another registered name, an executor
   * instance, or a stored `{ type, options }` config.
   */
  executor?: ExecutorSpec;
  /**
   * Wall-clock limit of the task, counted from when it starts RUNNING
   * (`'90s'`, `'10m'`, `'2h'` or ms). Past it the task is cancelled with
   * reason `time limit`; remote executors also tell the resource (Slurm `--time`).
   */
  timeLimit?: Duration;
  /**
   * false: `ct.redispatch` always runs this task, never reuses an earlier
   * result (for stochastic tasks). Default true.
   */
  reuse?: boolean;
}

type AnyFn = (...args: any[]) => any;

/**
 * Inside a lattice, arguments may be other tasks' outputs; the call returns a
 * placeholder typed as the task's eventual (awaited) value.
 */
export type Electron<F extends AnyFn> = ((...args: Parameters<F>) => Awaited<ReturnType<F>>) & {
  readonly electronName: string;
  readonly options: Readonly<ElectronOptions>;
};

export interface ElectronDefinition {
  name: string;
  fn?: AnyFn;
  lattice?: Lattice<any>;
  options: ElectronOptions;
}

/**
 * Make a task. Called inside a lattice function it adds a node to the
 * workflow's transport graph and returns a placeholder for its output;
 * called anywhere else it simply runs the function.
 *
 * Where it runs is `options.executor` (a registered name such as `'local'`, an
 * {@link Executor} instance, or a stored config), else the lattice's executor.
 * A lattice passed instead of a function becomes a sublattice task.
 *
 * @example
 * ```ts
 * import * as ct from 'covalent-ts';
 * const add = ct.electron((a: number, b: number) => a + b);
 * const train = ct.electron(async function train(steps: number) { return steps * 2; }, { executor: 'local' });
 * const wf = ct.lattice((n: number) => add(train(n), 1));
 * ```
 */
export function electron<F extends AnyFn>(fn: F, options?: ElectronOptions): Electron<F>;
export function electron<L extends Lattice<any>>(lattice: L, options?: ElectronOptions): Electron<L['fn']>;
export function electron(target: AnyFn | Lattice<any>, options: ElectronOptions = {}): Electron<AnyFn> {
  if (options === null || typeof options !== 'object') {
    throw new InvalidInputError(ErrorCodes.INVALID_ARGUMENT, `ct.electron options must be an object like { name, executor }.`);
  }
  const sub = isLattice(target) ? (target as Lattice<any>) : undefined;
  if (!sub && typeof target !== 'function') {
    throw new InvalidInputError(
      ErrorCodes.INVALID_ARGUMENT,
      `ct.electron expects a function or a lattice, got ${target === null ? 'null' : typeof target}.`,
    );
  }
  const name = options.name ?? (sub ? sub.name : (target as AnyFn).name) ?? '';
  const def: ElectronDefinition = {
    name: name || 'task',
    fn: sub ? undefined : (target as AnyFn),
    lattice: sub,
    options: { ...options },
  };

  let source: string | undefined;
  const call = function (this: unknown, ...args: unknown[]): unknown {
    const graph = currentGraph();
    if (!graph) {
      // Outside a lattice an electron is just its function (a sublattice runs its function).
      return sub ? sub.fn(...args) : (target as AnyFn).apply(this, args);
    }
    const deps: number[] = [];
    for (const out of collectOutputs(args)) {
      if (out.graphId !== graph.graphId) {
        throw new InvalidInputError(
          ErrorCodes.INVALID_ARGUMENT,
          `Task "${def.name}" received the output of task ${out.nodeId} (${out.nodeName}) from a different workflow. ` +
            `Outputs can only be passed between tasks of the same lattice.`,
        );
      }
      if (!deps.includes(out.nodeId)) deps.push(out.nodeId);
    }
    const node = graph.addNode({
      name: def.name,
      kind: sub ? 'sublattice' : 'electron',
      fn: def.fn,
      source: def.fn ? (source ??= Function.prototype.toString.call(def.fn)) : undefined,
      lattice: sub,
      executor: options.executor,
      timeLimit: options.timeLimit,
      reuse: options.reuse,
      args,
      dependsOn: deps,
    });
    return new NodeOutput(graph.graphId, node.id, node.name);
  } as Electron<AnyFn>;

  Object.defineProperty(call, 'name', { value: def.name });
  Object.defineProperty(call, 'electronName', { value: def.name });
  Object.defineProperty(call, 'options', { value: Object.freeze({ ...options }) });
  Object.defineProperty(call, ELECTRON_BRAND, { value: def });
  return call;
}

export function electronDefinition(value: unknown): ElectronDefinition | undefined {
  return typeof value === 'function' ? (value as any)[ELECTRON_BRAND] : undefined;
}
