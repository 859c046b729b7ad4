/**
 * JobExecutionContext, the one execution context (dispatcher, executor tests,
 * benchmarks): unit tests of its rules, with a recording host in place of a
 * dispatcher (pure logic; the executor tests drive it against real sshd/Slurm).
 */
import { ErrorCodes, TaskCancelledError } from '../../src/errors';
import type { JobHandle, TaskMetadata } from '../../src/executors/executor';
import { JobExecutionContext, type JobContextHost } from '../../src/executors/job-execution-context';

const meta: TaskMetadata = { dispatchId: 'd-1', nodeId: 3, nodeIds: [3], name: 'train' };

/** A host that records what the context asked of it; `recordHandle` waits on `gate` when given one. */
function recordingHost(gate?: Promise<void>) {
  const calls: string[] = [];
  const killed: JobHandle[] = [];
  const host: JobContextHost = {
    async recordHandle(_h, json) {
      calls.push(`record ${json}`);
      await gate;
    },
    async killJob(h) {
      calls.push('kill');
      killed.push(h);
      return true;
    },
  };
  return { host, calls, killed };
}

describe('JobExecutionContext', () => {
  it('a cancel arriving while setJobHandle records the handle kills the new job, and setJobHandle throws TaskCancelledError', async () => {
    let open!: () => void;
    const { host, calls, killed } = recordingHost(new Promise<void>((r) => (open = r)));
    const ctx = new JobExecutionContext(meta, host);

    const pending = ctx.setJobHandle({ jobId: 'job-7', host: { name: 'hpc' } });
    ctx.requestCancel(); // while the handle is being recorded (a durable write, say)
    expect(calls).toEqual(['record {"jobId":"job-7","host":{"name":"hpc"}}']);
    open();

    const err = await pending.catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TaskCancelledError);
    expect((err as TaskCancelledError).code).toBe(ErrorCodes.TASK_CANCELLED);
    expect((err as Error).message).toMatch(/Task 3 \(train\) was cancelled while its job was being submitted; the job was cancelled/);
    // Killed once, from the handle's stored (JSON) form: a copy, as another process would read it.
    expect(calls).toEqual(['record {"jobId":"job-7","host":{"name":"hpc"}}', 'kill']);
    expect(killed).toEqual([{ jobId: 'job-7', host: { name: 'hpc' } }]);
  });

  it('a cancel flagged before the job existed also kills the job once its handle arrives', async () => {
    const { host, calls } = recordingHost();
    const ctx = new JobExecutionContext(meta, host);
    ctx.requestCancel();
    await expect(ctx.setJobHandle({ pid: 42 })).rejects.toBeInstanceOf(TaskCancelledError);
    expect(calls).toEqual(['record {"pid":42}', 'kill']);
  });

  it('without a cancel, setJobHandle records the handle and kills nothing', async () => {
    const { host, calls } = recordingHost();
    const ctx = new JobExecutionContext(meta, host);
    await ctx.setJobHandle({ pid: 42 });
    expect(calls).toEqual(['record {"pid":42}']);
    expect(ctx.isCancelRequested()).toBe(false);
  });

  it('checks the flag before each step, aborts its signal and calls cancel listeners', async () => {
    const ctx = new JobExecutionContext(meta, recordingHost().host);
    const heard: string[] = [];
    ctx.onCancel(() => heard.push('before'));
    expect(() => ctx.checkCancelled('upload')).not.toThrow();
    const signal = ctx.signal;
    expect(signal.aborted).toBe(false);

    ctx.requestCancel('too slow');

    expect(ctx.isCancelRequested()).toBe(true);
    expect(signal.aborted).toBe(true);
    expect(heard).toEqual(['before']);
    expect(() => ctx.checkCancelled('provision')).toThrow(/Task 3 \(train\) was cancelled before step "provision"/);
    // A listener added after the cancel still hears of it (on the next microtask).
    await new Promise<void>((r) => ctx.onCancel(r));
  });

  it('passes status reports and output lines to the host, and ignores them when the host has no use for them', () => {
    const seen: string[] = [];
    const ctx = new JobExecutionContext(meta, { ...recordingHost().host, reportStatus: (s) => seen.push(s), log: (st, t) => seen.push(`${st}:${t}`) });
    ctx.reportStatus('QUEUED');
    ctx.log('stdout', 'hi');
    expect(seen).toEqual(['QUEUED', 'stdout:hi']);
    const bare = new JobExecutionContext(meta, recordingHost().host);
    expect(() => (bare.reportStatus('RUNNING'), bare.log('stderr', 'x'))).not.toThrow();
  });
});
