/** The part of the journal that says what is on disk. */
export interface DurabilityClock {
  readonly lastSeq: number;
  isDurable(seq: number): boolean;
  whenDurable(seq: number): Promise<void>;
}

/**
 * Tells views only what is on disk. Each callback (an event for the
 * notebook, the graph, a listener) runs once every journal entry appended
 * before it was queued is durable, in the order queued. With nothing waiting
 * to be written it runs at once; otherwise it waits for the group commit in
 * flight (well under a millisecond on a local disk).
 */
export class AfterDurable {
  private queue: Array<{ seq: number; fn: () => void }> = [];
  private head = 0;
  private waiting = false;

  constructor(private readonly clock: () => DurabilityClock | undefined) {}

  run(fn: () => void): void {
    const c = this.clock();
    if (!c || (this.head === this.queue.length && c.isDurable(c.lastSeq))) {
      fn();
      return;
    }
    this.queue.push({ seq: c.lastSeq, fn });
    this.wait(c);
  }

  private wait(c: DurabilityClock): void {
    if (this.waiting) return;
    this.waiting = true;
    const target = this.queue[this.queue.length - 1].seq;
    c.whenDurable(target).then(
      () => this.drained(c, false),
      (e: Error) => {
        process.emitWarning(`covalent-ts: the store's journal could not be written (${e.message}); views are updated without it.`);
        this.drained(c, true);
      },
    );
  }

  private drained(c: DurabilityClock, all: boolean): void {
    this.waiting = false;
    while (this.head < this.queue.length && (all || c.isDurable(this.queue[this.head].seq))) {
      const { fn } = this.queue[this.head++];
      try {
        fn();
      } catch (e) {
        process.emitWarning(`covalent-ts: an event listener threw: ${(e as Error)?.message ?? String(e)}`);
      }
    }
    if (this.head === this.queue.length) {
      this.queue = [];
      this.head = 0;
    } else {
      this.wait(c);
    }
  }
}
