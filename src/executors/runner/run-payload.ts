/**
 * Runs a TaskPayload's steps in this process. Shared by the local worker and
 * the remote runner script, so it imports only Node built-ins: remote
 * executors upload the compiled file as it is.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import * as vm from 'node:vm';
import type { PayloadStep, StepOutcome, TaskOutput, TaskPayload } from '../task-payload';

/** What `ct.taskContext()` returns inside a running task. */
export interface TaskContext {
  dispatchId: string;
  nodeId: number;
  name: string;
  /** Aborted when the task is cancelled (cooperative; hard kills need no help). */
  signal: AbortSignal;
}

const STORAGE_KEY = Symbol.for('covalent-ts.taskContextStorage');
/** One storage per process, whichever copy of the library asks. */
export function taskContextStorage(): AsyncLocalStorage<TaskContext> {
  const g = globalThis as any;
  if (!g[STORAGE_KEY]) g[STORAGE_KEY] = new AsyncLocalStorage<TaskContext>();
  return g[STORAGE_KEY];
}

let requireForTasks: NodeRequire | undefined;
function taskRequire(): NodeRequire {
  requireForTasks ??= createRequire(path.join(process.cwd(), 'covalent-ts-task.js'));
  return requireForTasks;
}

const compiled = new Map<string, (...args: unknown[]) => unknown>();
/** Compile once per source: the same electron runs many times in a worker. */
export function compileTaskFunction(source: string, name: string): (...args: unknown[]) => unknown {
  let fn = compiled.get(source);
  if (!fn) {
    // `require` is module-scoped in Node, so a task gets its own, resolving from the working directory.
    const wrapper = vm.runInThisContext(`(function (require) { return (${source}); })`, { filename: `covalent-ts-task:${name}` });
    const value = wrapper(taskRequire());
    if (typeof value !== 'function') throw new TypeError(`Task ${name} did not compile to a function.`);
    fn = value as (...args: unknown[]) => unknown;
    if (compiled.size > 1000) compiled.clear();
    compiled.set(source, fn);
  }
  return fn;
}

function errorInfo(e: unknown): { name: string; message: string; stack?: string } {
  if (e instanceof Error) return { name: e.name, message: e.message, stack: e.stack };
  return { name: 'Error', message: String(e) };
}

export interface RunOptions {
  dispatchId: string;
  signal?: AbortSignal;
}

/** Run every step in order; a failed step fails the steps after it in the chain. */
export async function runPayload(payload: TaskPayload, options: RunOptions): Promise<TaskOutput> {
  const outcomes: StepOutcome[] = [];
  const values: unknown[] = [];
  const signal = options.signal ?? new AbortController().signal;
  for (let i = 0; i < payload.steps.length; i++) {
    const step: PayloadStep = payload.steps[i];
    if (outcomes.some((o) => !o.ok)) {
      outcomes.push({
        nodeId: step.nodeId,
        ok: false,
        error: { name: 'UpstreamFailed', message: `An earlier task in the same packed job failed.` },
      });
      continue;
    }
    try {
      const args = step.args.map((a) => ('fromStep' in a ? values[a.fromStep] : a.value));
      const fn = step.fn ?? compileTaskFunction(step.source, step.name);
      const ctx: TaskContext = { dispatchId: options.dispatchId, nodeId: step.nodeId, name: step.name, signal };
      const value = await taskContextStorage().run(ctx, () => fn(...args));
      values[i] = value;
      outcomes.push({ nodeId: step.nodeId, ok: true, value });
    } catch (e) {
      outcomes.push({ nodeId: step.nodeId, ok: false, error: errorInfo(e), cancelled: signal.aborted || undefined });
    }
  }
  return { steps: outcomes };
}
