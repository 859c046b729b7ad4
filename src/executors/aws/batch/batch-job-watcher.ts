/**
 * Watches the Batch jobs of one executor (one job queue) with as few calls
 * as AWS allows: one DescribeJobs per poll for all watched jobs (100 ids a
 * call, the API's limit), at an interval that backs off while nothing
 * changes and snaps back when something does or a cancel asks for news.
 */
import type { BatchClient, JobDetail } from '@aws-sdk/client-batch';
import { Backoff, sleepUnlessAborted } from '../../remote/backoff';
import { withThrottleRetry } from '../throttle';
import type { BatchJobState, BatchStatus } from './batch-states';

/** DescribeJobs takes at most this many ids. */
export const DESCRIBE_LIMIT = 100;
/** A job AWS does not list this many polls in a row is reported gone (new jobs can lag a poll or two). */
const MISSING_POLLS = 5;

type Listener = (state: BatchJobState) => void;

export function stateOf(d: JobDetail): BatchJobState {
  return {
    jobId: d.jobId!,
    status: d.status as BatchStatus,
    statusReason: d.statusReason,
    startedAt: d.startedAt,
    logStreamName: d.container?.logStreamName,
    exitCode: d.container?.exitCode,
  };
}

export function chunks<T>(items: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

export class BatchJobWatcher {
  private readonly watched = new Map<string, { last?: BatchJobState; missing: number; listeners: Set<Listener> }>();
  private readonly backoff: Backoff;
  private loop: Promise<void> | undefined;
  private wake = new AbortController();
  private closed = false;

  constructor(
    private readonly client: () => Promise<BatchClient>,
    intervals: { pollIntervalMs: number; maxPollIntervalMs: number },
    private readonly onPollError: (e: unknown) => void,
  ) {
    this.backoff = new Backoff(intervals.pollIntervalMs, intervals.maxPollIntervalMs);
  }

  /** Call `listener` with each new state of the job until the returned function is called. */
  watch(jobId: string, listener: Listener): () => void {
    let w = this.watched.get(jobId);
    if (!w) this.watched.set(jobId, (w = { missing: 0, listeners: new Set() }));
    w.listeners.add(listener);
    if (w.last) queueMicrotask(() => listener(w!.last!));
    this.loop ??= this.run().finally(() => (this.loop = undefined));
    return () => {
      w!.listeners.delete(listener);
      if (!w!.listeners.size) this.watched.delete(jobId);
    };
  }

  /** Poll now (a cancel went out, or a caller needs fresh states). */
  refresh(): void {
    this.backoff.reset();
    this.wake.abort();
  }

  /** States learnt elsewhere (a cancel's own DescribeJobs) reach the watchers at once. */
  observe(states: Iterable<BatchJobState>): void {
    for (const s of states) this.update(s);
  }

  /** The current states of these jobs, 100 ids a call; jobs AWS does not know are absent. */
  async describe(jobIds: string[]): Promise<Map<string, BatchJobState>> {
    const { DescribeJobsCommand } = await import('@aws-sdk/client-batch');
    const client = await this.client();
    const out = new Map<string, BatchJobState>();
    await Promise.all(
      chunks(jobIds, DESCRIBE_LIMIT).map(async (jobs) => {
        const r = await withThrottleRetry(() => client.send(new DescribeJobsCommand({ jobs })));
        for (const d of r.jobs ?? []) out.set(d.jobId!, stateOf(d));
      }),
    );
    return out;
  }

  close(): void {
    this.closed = true;
    this.refresh();
  }

  private update(s: BatchJobState): boolean {
    const w = this.watched.get(s.jobId);
    if (!w) return false;
    w.missing = 0;
    if (w.last && w.last.status === s.status && w.last.logStreamName === s.logStreamName) return false;
    w.last = s;
    for (const l of [...w.listeners]) l(s);
    return true;
  }

  private async run(): Promise<void> {
    while (this.watched.size && !this.closed) {
      // A refresh during this poll's call asks for another poll at once, not after the interval.
      if (this.wake.signal.aborted) this.wake = new AbortController();
      const wake = this.wake.signal;
      let changed = false;
      const ids = [...this.watched.keys()];
      try {
        const states = await this.describe(ids);
        for (const id of ids) {
          const s = states.get(id);
          if (s) changed = this.update(s) || changed;
          else {
            const w = this.watched.get(id);
            if (w && ++w.missing >= MISSING_POLLS) {
              changed = this.update({ jobId: id, status: 'FAILED', statusReason: 'AWS Batch no longer lists this job' }) || changed;
            }
          }
        }
      } catch (e) {
        this.onPollError(e);
      }
      if (changed) this.backoff.reset();
      if (!this.watched.size || this.closed) break;
      await sleepUnlessAborted(this.backoff.next(), wake);
    }
  }
}
