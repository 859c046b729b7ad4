/**
 * For executors whose resource takes many jobs in one request (AWS Batch
 * array jobs, Slurm job arrays). The tasks of a fan-out (one electron mapped
 * over N inputs) are handed to the executor in one synchronous loop, then
 * each uploads on its own and reaches submission at its own time. So each
 * task *reserves* a place in its group as soon as it starts (in `serialize`,
 * before any await) and later *submits* (or *releases* the place, when it
 * was cancelled or failed before submitting). A group is submitted once every
 * reservation has submitted or released, or `maxWaitMs` after its first
 * submission (a straggler does not hold the others forever); `submit` gets
 * the group's items and answers each in order. A group holds at most
 * `maxItems` reservations; later ones start a new group.
 */
export interface SubmissionBatcherOptions {
  maxWaitMs: number;
  maxItems: number;
}

export interface Reservation<T, R> {
  submit(item: T): Promise<R>;
  /** Give the place up (the task will not submit). Safe to call after submit (then it does nothing). */
  release(): void;
}

interface Group<T, R> {
  reserved: number;
  items: T[];
  waiters: Array<{ resolve: (r: R) => void; reject: (e: unknown) => void }>;
  deadline?: NodeJS.Timeout;
  flushed: boolean;
}

export class SubmissionBatcher<T, R> {
  private readonly open = new Map<string, Group<T, R>>();

  constructor(
    private readonly submit: (key: string, items: T[]) => Promise<R[]>,
    private readonly options: SubmissionBatcherOptions,
  ) {}

  /** Reserve a place in the current group of `key`; call synchronously when the task starts. */
  reserve(key: string): Reservation<T, R> {
    let g = this.open.get(key);
    if (!g || g.flushed || g.reserved >= this.options.maxItems) {
      g = { reserved: 0, items: [], waiters: [], flushed: false };
      this.open.set(key, g);
    }
    const group = g;
    group.reserved++;
    let done = false;
    return {
      submit: (item: T) =>
        new Promise<R>((resolve, reject) => {
          if (done) return reject(new Error('This reservation was already used or released.'));
          done = true;
          if (group.flushed) {
            // Its group went ahead without it (maxWaitMs): submit alone.
            this.submit(key, [item]).then((r) => resolve(r[0]), reject);
            return;
          }
          group.items.push(item);
          group.waiters.push({ resolve, reject });
          group.deadline ??= setTimeout(() => this.flush(key, group), this.options.maxWaitMs);
          this.flushIfComplete(key, group);
        }),
      release: () => {
        if (done) return;
        done = true;
        group.reserved--;
        this.flushIfComplete(key, group);
      },
    };
  }

  private flushIfComplete(key: string, g: Group<T, R>): void {
    if (g.items.length > 0 && g.items.length >= g.reserved) this.flush(key, g);
    else if (g.reserved === 0 && this.open.get(key) === g) this.open.delete(key);
  }

  private flush(key: string, g: Group<T, R>): void {
    if (g.flushed) return;
    g.flushed = true;
    clearTimeout(g.deadline);
    if (this.open.get(key) === g) this.open.delete(key);
    this.submit(key, g.items).then(
      (results) => g.waiters.forEach((w, i) => w.resolve(results[i])),
      (e) => g.waiters.forEach((w) => w.reject(e)),
    );
  }
}
