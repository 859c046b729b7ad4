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

  abort(reason?: unknown): void {
    if (this.flagged) return;
    this.flagged = true;
    this.reason = reason;
    this.controller?.abort(reason);
  }
}
