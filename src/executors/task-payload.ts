/**
 * What travels to wherever a task runs: the functions' source and their
 * already-resolved arguments. A payload holds one task, or a packed chain of
 * tasks that run one after another in the same job.
 */
export interface TaskPayload {
  version: 1;
  steps: PayloadStep[];
}

export interface PayloadStep {
  nodeId: number;
  name: string;
  /** Source of a self-contained function, e.g. `function add(a, b) { return a + b; }`. */
  source: string;
  args: PayloadArg[];
  /**
   * The original function, only for executors that run in this process
   * (`inline`); never serialized.
   */
  fn?: (...args: any[]) => unknown;
}

/** An argument is either a value, or the output of an earlier step of the same payload. */
export type PayloadArg = { value: unknown } | { fromStep: number };

/** Outcome of one step, as reported by the runner. */
export type StepOutcome =
  | { nodeId: number; ok: true; value: unknown }
  | { nodeId: number; ok: false; error: { name: string; message: string; stack?: string }; cancelled?: boolean };

export interface TaskOutput {
  steps: StepOutcome[];
  /** Captured task output, when the executor collects it (remote executors do). */
  stdout?: string;
  stderr?: string;
}
