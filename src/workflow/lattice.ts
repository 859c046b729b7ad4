import { ErrorCodes, InvalidInputError } from '../errors';
import { withNewGraph } from './build-context';
import type { ExecutorSpec, TransportGraph } from './transport-graph';
import type { Duration } from './duration';

const LATTICE_BRAND = Symbol.for('covalent-ts.lattice');

export interface LatticeOptions {
  /** Workflow name; defaults to the function's name. */
  name?: string;
  /** Default executor for this workflow's electrons that name none. */
  executor?: ExecutorSpec;
  /**
   * Run chains of electrons that share an executor as one job (one job
   * handle for all of them). Saves per-job overhead on remote executors;
   * cancelling any member cancels the whole job.
   */
  taskPacking?: boolean;
  /**
   * Wall-clock limit of each dispatch of this workflow (`'2h'`, ms), queued
   * time included; past it the dispatch is cancelled with reason `time limit`.
   * `ct.dispatch(wf, { timeLimit })` overrides it.
   */
  timeLimit?: Duration;
}

type AnyFn = (...args: any[]) => any;

/** A workflow: a function whose electron calls define the transport graph. */
export interface Lattice<F extends AnyFn> {
  readonly name: string;
  readonly fn: F;
  readonly options: Readonly<LatticeOptions>;
  /** Run the lattice function with real arguments to build its transport graph. */
  build(args: unknown[]): TransportGraph;
}

export function isLattice(value: unknown): value is Lattice<AnyFn> {
  return value !== null && typeof value === 'object' && (value as any)[LATTICE_BRAND] === true;
}

/**
 * Make a workflow from a function that calls electrons (see {@link electron}).
 * The function runs once at dispatch time with the real arguments, to build
 * the transport graph; {@link dispatch} then runs the graph's tasks.
 *
 * @example
 * ```ts
 * import * as ct from 'covalent-ts';
 * const square = ct.electron((x: number) => x * x);
 * const sum = ct.electron((xs: number[]) => xs.reduce((a, b) => a + b, 0));
 * const wf = ct.lattice((n: number) => sum([1, 2, n].map(square)), { name: 'squares', executor: 'local' });
 * const id = await ct.dispatch(wf)(3);
 * ```
 */
export function lattice<F extends AnyFn>(fn: F, options: LatticeOptions = {}): Lattice<F> {
  if (typeof fn !== 'function') {
    throw new InvalidInputError(ErrorCodes.INVALID_ARGUMENT, `ct.lattice expects a function, got ${fn === null ? 'null' : typeof fn}.`);
  }
  if (options === null || typeof options !== 'object') {
    throw new InvalidInputError(ErrorCodes.INVALID_ARGUMENT, `ct.lattice options must be an object like { name, executor, taskPacking }.`);
  }
  const lat: Lattice<F> = {
    name: options.name ?? (fn.name || 'workflow'),
    fn,
    options: Object.freeze({ ...options }),
    build(args: unknown[]): TransportGraph {
      const { graph, value } = withNewGraph(() => fn(...args));
      if (value && typeof (value as any).then === 'function') {
        throw new InvalidInputError(
          ErrorCodes.INVALID_ARGUMENT,
          `The lattice function "${lat.name}" returned a Promise. Lattice functions only wire tasks together and must be synchronous: ` +
            `remove "async" and "await" from it (electrons themselves may be async).`,
        );
      }
      graph.returnTemplate = value;
      return graph;
    },
  };
  Object.defineProperty(lat, LATTICE_BRAND, { value: true });
  latticesByName().set(lat.name, lat);
  return lat;
}

const REGISTRY_KEY = Symbol.for('covalent-ts.lattices');
/**
 * Lattices defined in this process, by name (the latest definition wins):
 * `ct.redispatch` of a dispatch from the store, after a kernel restart,
 * rebuilds its graph with the lattice the notebook defined again.
 */
export function latticesByName(): Map<string, Lattice<any>> {
  const g = globalThis as any;
  return (g[REGISTRY_KEY] ??= new Map());
}
