/**
 * How a workflow names where an electron runs, without knowing any executor:
 * the workflow layer only carries the spec to the dispatcher, which resolves it
 * (src/dispatcher/dispatch-validation.ts) to an `Executor` of src/executors.
 */

/** An executor's rebuildable, secret-free configuration, stored with each task. */
export interface ExecutorConfig {
  type: string;
  options: Record<string, unknown>;
}

/** The face of an executor instance that a workflow sees (every `Executor` has it). */
export interface ExecutorInstance {
  readonly type: string;
  label(): string;
  toConfig(): ExecutorConfig;
}

/** How an electron says where it runs: a registered name, an instance, or a stored config. */
export type ExecutorSpec = string | ExecutorInstance | ExecutorConfig;
