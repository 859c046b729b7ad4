/**
 * Typed errors of the browser side. Each carries a stable `code` so the UI and
 * the tests can tell "no kernel" from "the kernel said no" without parsing text.
 */
export type LabErrorCode =
  | 'NO_KERNEL'
  | 'COMM_CLOSED'
  | 'REQUEST_TIMEOUT'
  | 'PROTOCOL_MISMATCH'
  | 'KERNEL_ERROR';

export class CovalentLabError extends Error {
  readonly code: LabErrorCode | string;
  constructor(code: LabErrorCode | string, message: string, options?: { cause?: unknown }) {
    super(message);
    this.name = 'CovalentLabError';
    this.code = code;
    if (options?.cause !== undefined) {
      (this as { cause?: unknown }).cause = options.cause;
    }
  }
}
