/**
 * AWS answers too many requests with HTTP 429 (Batch: TooManyRequestsException,
 * Braket: ThrottlingException). Every AWS call of the executors goes through
 * `withThrottleRetry`: it backs off with full jitter and tries again, a
 * bounded number of times; any other error is the caller's to handle.
 */
import { sleepUnlessAborted } from '../remote/backoff';

const THROTTLING_NAMES = new Set([
  'TooManyRequestsException', 'ThrottlingException', 'Throttling', 'ThrottledException', 'RequestLimitExceeded', 'SlowDown',
]);

export function isThrottling(e: unknown): boolean {
  const err = e as { name?: string; $metadata?: { httpStatusCode?: number } } | undefined;
  return !!err && (THROTTLING_NAMES.has(err.name ?? '') || err.$metadata?.httpStatusCode === 429);
}

export interface ThrottleRetryOptions {
  /** Attempts in all (default 8). */
  attempts?: number;
  /** First backoff cap in ms (default 100); doubles each attempt up to `maxDelayMs`. */
  baseDelayMs?: number;
  maxDelayMs?: number;
  /** Stop retrying (and throw the last error) once aborted. */
  signal?: AbortSignal;
  /** Told about each throttled attempt (for logs and benchmarks). */
  onThrottled?: (attempt: number, error: unknown) => void;
}

export async function withThrottleRetry<T>(call: () => Promise<T>, options: ThrottleRetryOptions = {}): Promise<T> {
  const attempts = options.attempts ?? 8;
  const base = options.baseDelayMs ?? 100;
  const max = options.maxDelayMs ?? 5000;
  for (let attempt = 1; ; attempt++) {
    try {
      return await call();
    } catch (e) {
      if (!isThrottling(e) || attempt >= attempts || options.signal?.aborted) throw e;
      options.onThrottled?.(attempt, e);
      await sleepUnlessAborted(Math.random() * Math.min(max, base * 2 ** (attempt - 1)), options.signal);
    }
  }
}
