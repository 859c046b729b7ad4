import type { Price } from './price';
import { ErrorCodes, InvalidInputError } from '../errors';
import type { Executor, ExecutorConfig } from './executor';

export type ExecutorFactory = (options: Record<string, unknown>) => Executor<any, any>;

const REGISTRY_KEY = Symbol.for('covalent-ts.executorRegistry');
/** Process-wide, so plugins registered from a notebook cell reach the kernel's dispatcher. */
function registry(): Map<string, ExecutorFactory> {
  const g = globalThis as any;
  if (!g[REGISTRY_KEY]) g[REGISTRY_KEY] = new Map<string, ExecutorFactory>();
  return g[REGISTRY_KEY];
}

/** Make an executor type available by name (`{ executor: 'name' }`) and rebuildable from its config. */
export function registerExecutor(type: string, factory: ExecutorFactory): void {
  if (!/^[a-z][a-z0-9_-]*$/.test(type)) {
    throw new InvalidInputError(ErrorCodes.INVALID_ARGUMENT, `Executor type "${type}" is not a valid name: use lower-case letters, digits, "-" or "_".`);
  }
  registry().set(type, factory);
}

export function executorTypes(): string[] {
  return [...registry().keys()].sort();
}

/** Rebuild an executor from its stored configuration (for example to cancel a job). */
export function createExecutor(config: ExecutorConfig): Executor<any, any> {
  const factory = registry().get(config.type);
  if (!factory) {
    throw new InvalidInputError(
      ErrorCodes.UNKNOWN_EXECUTOR,
      `No executor named "${config.type}". Known executors: ${executorTypes().join(', ') || 'none'}. ` +
        `Register a plugin with ct.registerExecutor(), or pass an executor instance.`,
    );
  }
  const executor = factory(config.options ?? {});
  // Every executor takes a `price` option, whether or not its own options know it.
  executor.price ??= (config.options as { price?: Price } | undefined)?.price;
  return executor;
}

const HOOKS_KEY = Symbol.for('covalent-ts.executorShutdownHooks');
/** Process-wide, like the registry: one set of hooks however many copies of the library are loaded. */
function shutdownHooks(): Map<string, () => Promise<void>> {
  const g = globalThis as any;
  if (!g[HOOKS_KEY]) g[HOOKS_KEY] = new Map<string, () => Promise<void>>();
  return g[HOOKS_KEY];
}

/**
 * Release, on shutdown, what an executor type keeps for the whole process
 * (a worker pool, pooled connections) so the process can exit. One hook per
 * name: registering a name again replaces its hook. The dispatcher knows
 * executors' resources only through these hooks (see `closeAll`).
 */
export function registerShutdownHook(name: string, close: () => Promise<void>): void {
  shutdownHooks().set(name, close);
}

/** Run every shutdown hook, in registration order; all run even if one fails, the first failure is rethrown. */
export async function closeAll(): Promise<void> {
  let failure: unknown;
  for (const close of shutdownHooks().values()) {
    try {
      await close();
    } catch (e) {
      failure ??= e;
    }
  }
  if (failure !== undefined) throw failure;
}
