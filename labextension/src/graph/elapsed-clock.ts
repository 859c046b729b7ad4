/**
 * The clock of the running nodes' elapsed times: whole seconds are what the
 * labels show, so one tick a second, for the running nodes only, and only
 * while the graph is live.
 */
export class ElapsedClock {
  /** `tick(now, ids)` redraws the elapsed time of `ids`. */
  constructor(tick: (now: number, ids: Iterable<number>) => void) {
    this._tick = tick;
  }

  /** Whether node `id`'s elapsed time is running. */
  set(id: number, running: boolean): void {
    if (running) {
      this._running.add(id);
    } else {
      this._running.delete(id);
    }
  }

  /** Starts or stops ticking: it runs while any node runs and the graph is live. */
  sync(live: boolean): void {
    if (this._running.size && live && this._timer === null) {
      this._timer = setInterval(() => this._tick(Date.now(), this._running), 1000);
    } else if (!this._running.size || !live) {
      this.stop();
    }
  }

  stop(): void {
    if (this._timer !== null) {
      clearInterval(this._timer);
      this._timer = null;
    }
  }

  private _tick: (now: number, ids: Iterable<number>) => void;
  private _running = new Set<number>();
  private _timer: ReturnType<typeof setInterval> | null = null;
}
