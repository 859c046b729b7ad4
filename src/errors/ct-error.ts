import { ErrorCode, ErrorCodes } from './codes';

/**
 * The kernel and a notebook cell may load two copies of this module, so a
 * plain prototype check would say an error from one copy is not an instance of
 * the other's class. Each error carries the names of its class chain under a
 * process-wide symbol, and `instanceof` checks that list instead.
 */
const KINDS = Symbol.for('covalent-ts.error.kinds');

export interface CtErrorOptions {
  cause?: unknown;
  /** Extra structured facts (dispatch id, task ids, ...) for programs and logs. */
  details?: Record<string, unknown>;
}

/** Base class of every error covalent-ts throws on purpose. */
export class CtError extends Error {
  readonly code: ErrorCode;
  readonly details: Record<string, unknown>;
  declare readonly [KINDS]: readonly string[];

  constructor(code: ErrorCode, message: string, options: CtErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.details = options.details ?? {};
    const kinds: string[] = [];
    for (let ctor: any = new.target; ctor && ctor !== Error; ctor = Object.getPrototypeOf(ctor)) {
      if (typeof ctor.kind === 'string') kinds.push(ctor.kind);
    }
    Object.defineProperty(this, KINDS, { value: kinds, enumerable: false });
    this.name = new.target.kind;
  }

  /** Name used for cross-copy `instanceof`; each subclass declares its own. */
  static readonly kind: string = 'CtError';

  static [Symbol.hasInstance](value: unknown): boolean {
    if (value === null || typeof value !== 'object') return false;
    const kinds = (value as any)[KINDS];
    return Array.isArray(kinds) && kinds.includes((this as any).kind);
  }

  toJSON(): { name: string; code: string; message: string; details: Record<string, unknown> } {
    return { name: this.name, code: this.code, message: this.message, details: this.details };
  }
}

/**
 * Raised inside an executor step (or a task) when `cancel_requested` is set.
 * The dispatcher treats it as a clean abort, never as a failure.
 */
export class TaskCancelledError extends CtError {
  static readonly kind: string = 'TaskCancelledError';
  constructor(message = 'The task was cancelled.', options: CtErrorOptions = {}) {
    // A cancel is an outcome, not a bug: its stack says nothing, and cancelling a wide dispatch
    // makes a few of these per task. Capturing stacks was 15% of the time to cancel 400 tasks.
    const stackTraceLimit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    try {
      super(ErrorCodes.TASK_CANCELLED, message, options);
    } finally {
      Error.stackTraceLimit = stackTraceLimit;
    }
  }
}

/** A task's own code threw, or its executor could not run it. */
export class TaskFailedError extends CtError {
  static readonly kind: string = 'TaskFailedError';
  constructor(message: string, options: CtErrorOptions = {}) {
    super(ErrorCodes.TASK_FAILED, message, options);
  }
}

/** Input the caller can fix: the message says how. Nothing was changed. */
export class InvalidInputError extends CtError {
  static readonly kind: string = 'InvalidInputError';
  constructor(code: ErrorCode, message: string, options: CtErrorOptions = {}) {
    super(code, message, options);
  }
}

/** The store on disk could not be read or written. */
export class StoreError extends CtError {
  static readonly kind: string = 'StoreError';
  constructor(code: ErrorCode, message: string, options: CtErrorOptions = {}) {
    super(code, message, options);
  }
}

/** An executor reported a problem with its backend (connection, scheduler, API). */
export class ExecutorError extends CtError {
  static readonly kind: string = 'ExecutorError';
  constructor(code: ErrorCode, message: string, options: CtErrorOptions = {}) {
    super(code, message, options);
  }
}

/** True for a TaskCancelledError anywhere in an error's `cause` chain. */
export function isCancellation(error: unknown): boolean {
  for (let e: any = error, depth = 0; e && depth < 16; e = e.cause, depth++) {
    if (e instanceof TaskCancelledError) return true;
  }
  return false;
}
