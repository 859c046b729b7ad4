/**
 * An AbortController made only when someone asks for its signal. Most tasks
 * are never cancelled and never look at their signal; with 100,000 tasks the
 * controllers would be a noticeable share of the time and memory.
 */
export class LazyAbort {
  private controller: AbortController | undefined;
  private flagged = false;
  private reason: unknown;

  get signal(): AbortSignal {
    if (!this.controller) {
      this.controller = new AbortController();
      if (this.flagged) this.controller.abort(this.reason);
    }
    return this.controller.signal;
  }

  get aborted(): boolean {
    return this.flagged;
  }

  private listeners: Array<() => void> | undefined;

  /** Call `listener` on abort (at once if already aborted). Cheaper than a signal listener. */
  onAbort(listener: () => void): () => void {
    if (this.flagged) {
      queueMicrotask(listener);
      return () => undefined;
    }
    (this.listeners ??= []).push(listener);
    return () => {
      const i = this.listeners?.indexOf(listener) ?? -1;
      if (i >= 0) this.listeners!.splice(i, 1);
    };
  }

  abort(reason?: unknown): void {
    if (this.flagged) return;
    this.flagged = true;
    this.reason = reason;
    this.controller?.abort(reason);
    const listeners = this.listeners;
    this.listeners = undefined;
    listeners?.forEach((l) => l());
  }
}
