/**
 * Stops Batch jobs and says honestly whether they stopped.
 *
 * Cancels that arrive in the same turn (a dispatch-wide cancel asks for
 * each job at once) are handled together: one DescribeJobs per 100 jobs to
 * learn their states, then `CancelJobs` for jobs not yet STARTING and
 * `TerminateJobs` for STARTING/RUNNING ones (50 ids a call; one call per job
 * in parallel on an SDK without the bulk forms). Then it polls until each
 * job is terminal: a job that started between the look and the CancelJob
 * (which AWS then ignores, silently) gets a TerminateJob. Only a terminal
 * job is a confirmed cancel; anything else is reported unconfirmed with why.
 */
import type { BatchClient } from '@aws-sdk/client-batch';
import type { CancelVerdictDetails } from '../../executor';
import { sleepUnlessAborted } from '../../remote/backoff';
import { withThrottleRetry } from '../throttle';
import { CANCELLABLE, CANCEL_REASON, TERMINAL } from './batch-states';
import { chunks, type BatchJobWatcher } from './batch-job-watcher';

/** CancelJobs / TerminateJobs take at most this many ids. */
export const BULK_LIMIT = 50;

interface Pending {
  jobId: string;
  /** A child of an array job: its parent and the array's size. */
  array?: { parentId: string; size: number };
  resolve: (v: CancelVerdictDetails) => void;
  /** What we saw and did, for the verdict's detail. */
  story: string[];
  action?: 'cancel' | 'terminate';
  escalated: boolean;
  /** The job had reached STARTING or later when we acted. */
  started: boolean;
}

export interface BatchCancellerOptions {
  /** How long to wait for jobs to become terminal before reporting unconfirmed. */
  confirmTimeoutMs: number;
  /** Poll interval while confirming. */
  pollIntervalMs: number;
}

export class BatchCanceller {
  private queue: Pending[] = [];
  private scheduled = false;

  constructor(
    private readonly client: () => Promise<BatchClient>,
    private readonly watcher: BatchJobWatcher,
    private readonly options: BatchCancellerOptions,
  ) {}

  cancel(jobId: string, array?: { parentId: string; size: number }): Promise<CancelVerdictDetails> {
    return new Promise((resolve) => {
      this.queue.push({ jobId, array, resolve, story: [], escalated: false, started: false });
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => {
          this.scheduled = false;
          const batch = this.queue;
          this.queue = [];
          void this.stop(batch);
        });
      }
    });
  }

  private async stop(batch: Pending[]): Promise<void> {
    const open = new Map<string, Pending[]>();
    for (const p of batch) open.set(p.jobId, [...(open.get(p.jobId) ?? []), p]);
    const settle = (jobId: string, verdict: CancelVerdictDetails) => {
      for (const p of open.get(jobId) ?? []) p.resolve(verdict);
      open.delete(jobId);
    };
    const first = (jobId: string) => open.get(jobId)![0];
    const detail = (jobId: string, end: string) => [...first(jobId).story, end].join('; ');
    try {
      const states = await this.watcher.describe([...open.keys()]);
      this.watcher.observe(states.values());
      const toCancel: string[] = [];
      const toTerminate: string[] = [];
      for (const jobId of [...open.keys()]) {
        const s = states.get(jobId);
        if (!s) {
          settle(jobId, { confirmed: true, detail: `AWS Batch has no job ${jobId} (never created, or its record expired)` });
        } else if (TERMINAL.has(s.status)) {
          settle(jobId, { confirmed: true, detail: `job had already ${s.status}${s.statusReason ? ` (${s.statusReason})` : ''}` });
        } else {
          first(jobId).story.push(`job was ${s.status}`);
          first(jobId).started = !CANCELLABLE.has(s.status);
          (CANCELLABLE.has(s.status) ? toCancel : toTerminate).push(jobId);
        }
      }
      // Every child of an array job at once: one TerminateJob on the parent stops them all.
      const wholeArrays = this.wholeArrays([...open.keys()], open);
      const inWhole = (id: string) => wholeArrays.has(open.get(id)?.[0].array?.parentId ?? '');
      for (const id of open.keys()) if (inWhole(id)) open.get(id)![0].story.push(`TerminateJob of its array job ${open.get(id)![0].array!.parentId}`);
      await this.sendToParents([...wholeArrays]);
      await this.send('cancel', toCancel.filter((id) => !inWhole(id)), open);
      await this.send('terminate', toTerminate.filter((id) => !inWhole(id)), open);
      const deadline = Date.now() + this.options.confirmTimeoutMs;
      while (open.size && Date.now() < deadline) {
        await sleepUnlessAborted(this.options.pollIntervalMs);
        const now = await this.watcher.describe([...open.keys()]);
        this.watcher.observe(now.values());
        const escalate: string[] = [];
        for (const jobId of [...open.keys()]) {
          const s = now.get(jobId);
          const p = first(jobId);
          if (!s) settle(jobId, { confirmed: true, detail: detail(jobId, 'the job record is gone'), escalated: p.escalated, started: p.started });
          else if (TERMINAL.has(s.status)) {
            const started = p.started || s.startedAt !== undefined;
            settle(jobId, { confirmed: true, detail: detail(jobId, `${s.status}${s.exitCode !== undefined ? ` (exit ${s.exitCode})` : ''}`), escalated: p.escalated, started });
          } else if (p.action === 'cancel' && !CANCELLABLE.has(s.status)) {
            // It started before our CancelJob landed (AWS ignores it then): terminate it.
            p.story.push(`it reached ${s.status}`);
            p.escalated = true;
            p.started = true;
            escalate.push(jobId);
          }
        }
        await this.send('terminate', escalate, open);
      }
      for (const jobId of [...open.keys()]) {
        settle(jobId, { confirmed: false, detail: detail(jobId, `still not terminal after ${Math.round(this.options.confirmTimeoutMs / 1000)} s`) });
      }
    } catch (e) {
      for (const jobId of [...open.keys()]) {
        settle(jobId, { confirmed: false, detail: detail(jobId, `could not reach AWS Batch: ${(e as Error).name}: ${(e as Error).message}`) });
      }
    }
  }

  /** Parents of array jobs all of whose children are being cancelled here. */
  private wholeArrays(ids: string[], open: Map<string, Pending[]>): Set<string> {
    const children = new Map<string, number>();
    for (const id of ids) {
      const a = open.get(id)![0].array;
      if (a) children.set(a.parentId, (children.get(a.parentId) ?? 0) + 1);
    }
    const whole = new Set<string>();
    for (const id of ids) {
      const a = open.get(id)![0].array;
      if (a && children.get(a.parentId) === a.size) whole.add(a.parentId);
    }
    return whole;
  }

  private async sendToParents(parents: string[]): Promise<void> {
    if (!parents.length) return;
    const sdk = await import('@aws-sdk/client-batch');
    const client = await this.client();
    await Promise.all(chunks(parents, BULK_LIMIT).map((jobs) => withThrottleRetry(() => client.send(new sdk.TerminateJobsCommand({ jobs, reason: CANCEL_REASON })))));
    this.watcher.refresh();
  }

  /** CancelJobs/TerminateJobs in calls of 50 ids (or one call per job where the SDK lacks the bulk form). */
  private async send(action: 'cancel' | 'terminate', jobIds: string[], open: Map<string, Pending[]>): Promise<void> {
    if (!jobIds.length) return;
    const sdk = await import('@aws-sdk/client-batch');
    const client = await this.client();
    const name = action === 'cancel' ? 'CancelJob' : 'TerminateJob';
    for (const id of jobIds) {
      const p = open.get(id)![0];
      p.action = action;
      p.story.push(name);
    }
    const Bulk = action === 'cancel' ? sdk.CancelJobsCommand : sdk.TerminateJobsCommand;
    if (typeof Bulk === 'function') {
      await Promise.all(
        chunks(jobIds, BULK_LIMIT).map(async (jobs) => {
          const r = await withThrottleRetry(() => client.send(new Bulk({ jobs, reason: CANCEL_REASON })));
          for (const err of r.errors ?? []) open.get(err.job!)?.[0].story.push(`${name} error ${err.code}: ${err.message}`);
        }),
      );
    } else {
      const Single = action === 'cancel' ? sdk.CancelJobCommand : sdk.TerminateJobCommand;
      await Promise.all(jobIds.map((jobId) => withThrottleRetry(() => client.send(new Single({ jobId, reason: CANCEL_REASON })))));
    }
    this.watcher.refresh();
  }
}

