/** Poll intervals that start short and grow while nothing changes. */
export class Backoff {
  private current: number;
  constructor(
    private readonly initialMs: number,
    private readonly maxMs: number,
    private readonly factor = 1.5,
  ) {
    this.current = initialMs;
  }
  /** The next wait, then grow. */
  next(): number {
    const v = this.current;
    this.current = Math.min(this.maxMs, Math.ceil(this.current * this.factor));
    return v;
  }
  reset(): void {
    this.current = this.initialMs;
  }
}

/** Resolve after `ms`, or as soon as `signal` aborts (never rejects). */
export function sleepUnlessAborted(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}

/** Resolve after `ms`, or as soon as a cancel is requested through `onCancel` (never rejects). */
export function sleepUnlessCancelled(ms: number, onCancel?: (listener: () => void) => () => void): Promise<void> {
  return new Promise((resolve) => {
    let remove: (() => void) | undefined;
    const done = () => {
      clearTimeout(timer);
      remove?.();
      resolve();
    };
    const timer = setTimeout(done, ms);
    remove = onCancel?.(done);
  });
}
