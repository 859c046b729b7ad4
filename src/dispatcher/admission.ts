import type { Executor } from '../executors/executor';

/**
 * Admission of jobs to executors: the jobs an executor holds at once are
 * capped by its `maxInFlight`; the rest wait in order (as NEW_OBJECT) and
 * start as slots free up. Keeps memory flat for wide dispatches.
 */
export class Admission {
  private readonly slots = new Map<Executor<any, any>, { running: number; waiting: Array<() => boolean>; head: number }>();

  /** Run `launch` when the executor has a free slot; `launch` returns false if it started nothing. */
  admit(executor: Executor<any, any>, launch: () => boolean): void {
    let s = this.slots.get(executor);
    if (!s) this.slots.set(executor, (s = { running: 0, waiting: [], head: 0 }));
    if (s.running < executor.maxInFlight) {
      s.running++;
      if (!launch()) s.running--;
    } else {
      s.waiting.push(launch);
    }
  }

  /** A job of the executor ended: its slot goes to the next waiting job. */
  release(executor: Executor<any, any>): void {
    const s = this.slots.get(executor);
    if (!s) return;
    s.running--;
    while (s.head < s.waiting.length && s.running < executor.maxInFlight) {
      const launch = s.waiting[s.head++];
      s.running++;
      if (!launch()) s.running--;
    }
    if (s.head > 1024 && s.head * 2 > s.waiting.length) {
      s.waiting = s.waiting.slice(s.head);
      s.head = 0;
    }
  }
}
