/**
 * For executors whose resource takes many jobs in one request (AWS Batch
 * array jobs, Slurm job arrays): the tasks of a fan-out (one electron mapped
 * over N inputs) reach `run` one by one, a few milliseconds apart, each after
 * its own upload. The batcher gathers submissions with the same key until
 * none has arrived for `quietMs` (or `maxWaitMs` passed, or `maxItems` are
 * waiting) and hands them to `submit` together; each caller gets its own
 * element of the answer. A group of one is still submitted, only later by
 * at most `quietMs`.
 */
export interface SubmissionBatcherOptions {
  quietMs: number;
  maxWaitMs: number;
  maxItems: number;
}

interface Group<T, R> {
  items: T[];
  waiters: Array<{ resolve: (r: R) => void; reject: (e: unknown) => void }>;
  quiet?: NodeJS.Timeout;
  deadline: NodeJS.Timeout;
}

export class SubmissionBatcher<T, R> {
  private readonly groups = new Map<string, Group<T, R>>();

  constructor(
    private readonly submit: (key: string, items: T[]) => Promise<R[]>,
    private readonly options: SubmissionBatcherOptions,
  ) {}

  add(key: string, item: T): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      let g = this.groups.get(key);
      if (!g) {
        g = { items: [], waiters: [], deadline: setTimeout(() => this.flush(key), this.options.maxWaitMs) };
        this.groups.set(key, g);
      }
      g.items.push(item);
      g.waiters.push({ resolve, reject });
      clearTimeout(g.quiet);
      if (g.items.length >= this.options.maxItems) this.flush(key);
      else g.quiet = setTimeout(() => this.flush(key), this.options.quietMs);
    });
  }

  private flush(key: string): void {
    const g = this.groups.get(key);
    if (!g) return;
    this.groups.delete(key);
    clearTimeout(g.quiet);
    clearTimeout(g.deadline);
    this.submit(key, g.items).then(
      (results) => g.waiters.forEach((w, i) => w.resolve(results[i])),
      (e) => g.waiters.forEach((w) => w.reject(e)),
    );
  }
}
