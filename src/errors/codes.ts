/**
 * Stable error codes. Programs branch on these, never on message text, so a
 * code is never renamed or reused once released.
 */
export const ErrorCodes = {
  INVALID_ARGUMENT: 'CT_INVALID_ARGUMENT',
  NOT_A_LATTICE: 'CT_NOT_A_LATTICE',
  NOT_SERIALIZABLE: 'CT_NOT_SERIALIZABLE',
  FREE_VARIABLE: 'CT_FREE_VARIABLE',
  UNKNOWN_DISPATCH: 'CT_UNKNOWN_DISPATCH',
  UNKNOWN_TASK: 'CT_UNKNOWN_TASK',
  UNKNOWN_EXECUTOR: 'CT_UNKNOWN_EXECUTOR',
  TASK_CANCELLED: 'CT_TASK_CANCELLED',
  TASK_FAILED: 'CT_TASK_FAILED',
  DISPATCH_FAILED: 'CT_DISPATCH_FAILED',
  TIMEOUT: 'CT_TIMEOUT',
  STORE_CORRUPT: 'CT_STORE_CORRUPT',
  STORE_IO: 'CT_STORE_IO',
  EXECUTOR_FAILED: 'CT_EXECUTOR_FAILED',
  HOST_KEY_MISMATCH: 'CT_HOST_KEY_MISMATCH',
  PROTOCOL: 'CT_PROTOCOL',
  /** A bug: something failed that should not have. The message says what. */
  INTERNAL: 'CT_INTERNAL',
  HOST_KEY_UNKNOWN: 'CT_HOST_KEY_UNKNOWN',
  CREDENTIALS_REQUIRED: 'CT_CREDENTIALS_REQUIRED',
  CONNECTION_FAILED: 'CT_CONNECTION_FAILED',
  LAB_NOT_BUILT: 'CT_LAB_NOT_BUILT',
  LAB_START_FAILED: 'CT_LAB_START_FAILED',
  /** An id prefix that matches several dispatches: the message lists them. */
  AMBIGUOUS_ID: 'CT_AMBIGUOUS_ID',
  /** A file that cannot be read, or is not what it should be (an export file, a key). */
  UNREADABLE_FILE: 'CT_UNREADABLE_FILE',
  /** A dispatch imported from another store: it can be viewed, not changed. */
  READ_ONLY: 'CT_READ_ONLY',
  /** ct.redispatch of a workflow this process has not defined (define the lattice again first). */
  UNKNOWN_LATTICE: 'CT_UNKNOWN_LATTICE',
} as const;

export type ErrorCode = (typeof ErrorCodes)[keyof typeof ErrorCodes];
