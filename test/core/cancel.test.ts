import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawn } from 'node:child_process';
import * as ct from '../../src';
import { processRunning, tempDir, usePrivateHome, waitFor } from '../support/wait';

const home = usePrivateHome();
afterAll(() => ct.shutdown());
const dir = tempDir('ct-cancel-');
let seq = 0;
const pidFile = () => path.join(dir, `pids-${++seq}.json`);
/** The pids a task wrote; undefined until the file is complete. */
const readPids = (f: string): { worker: number; child: number } | undefined => {
  try {
    return JSON.parse(fs.readFileSync(f, 'utf8'));
  } catch {
    return undefined;
  }
};

/** A task that starts a child process (a process tree) and runs until killed. */
const hang = ct.electron(async function hang(file: string, _upstream?: unknown) {
  const cp = require('child_process');
  const fsm = require('fs');
  const child = cp.spawn('sleep', ['600'], { stdio: 'ignore' });
  fsm.writeFileSync(file, JSON.stringify({ worker: process.pid, child: child.pid }));
  await new Promise(() => undefined);
});
const quick = ct.electron(function quick(x: unknown) {
  return `quick(${JSON.stringify(x ?? null)})`;
});
const sleepy = ct.electron(async function sleepy(ms: number) {
  await new Promise((r) => setTimeout(r, ms));
  return ms;
});

async function runningWith(file: string) {
  return waitFor(`task to start and write ${file}`, () => readPids(file));
}

describe('cancelling a dispatch', () => {
  it('kills a running task with its whole process tree and aborts the rest of a 3-task chain', async () => {
    const f = pidFile();
    const wf = ct.lattice((file: string) => quick(quick(hang(file))), { name: 'chain' });
    const id = await ct.dispatch(wf)(f);
    const pids = await runningWith(f);
    expect(processRunning(pids.worker) && processRunning(pids.child)).toBe(true);

    const report = await ct.cancel(id);

    expect(processRunning(pids.worker)).toBe(false);
    expect(processRunning(pids.child)).toBe(false);
    expect(report.confirmed).toBe(true);
    expect(report.tasks.map((t) => [t.nodeId, t.outcome, t.statusAfter])).toEqual([
      [0, 'killed', 'CANCELLED'],
      [1, 'aborted_before_start', 'CANCELLED'],
      [2, 'aborted_before_start', 'CANCELLED'],
    ]);
    const res = await ct.getResult(id, { wait: true });
    expect(res.status).toBe('CANCELLED');
    expect(res.nodes.every((n) => n.status === 'CANCELLED' && n.cancelRequested)).toBe(true);
    expect(res.nodes[0].cancelSource).toBe('api');
  });

  it('has the cancel flag and final states on disk before ct.cancel resolves', async () => {
    const f = pidFile();
    const wf = ct.lattice((file: string) => quick(hang(file)));
    const id = await ct.dispatch(wf)(f);
    await runningWith(f);
    await ct.cancel(id, { reason: 'budget' });
    // A second, independent reader of the same home sees it (journal replayed over the database file).
    const reader = await ct.Store.open(home);
    const stored = reader.readDispatch(id);
    expect(stored?.nodes.map((n) => [n.cancelRequested, n.status, n.cancelReason])).toEqual([
      [true, 'CANCELLED', 'budget'],
      [true, 'CANCELLED', 'budget'],
    ]);
  });
});

describe('cancelling selected tasks', () => {
  it('cancels B in A -> B while A runs; A completes and B never runs', async () => {
    const wf = ct.lattice(() => quick(sleepy(400)));
    const id = await ct.dispatch(wf)();
    await waitFor('A running', async () => (await ct.getResult(id)).nodes[0].status === 'RUNNING');
    const report = await ct.cancel(id, { taskIds: [1], reason: 'not needed' });
    expect(report.tasks).toEqual([
      expect.objectContaining({ nodeId: 1, outcome: 'aborted_before_start', statusBefore: 'NEW_OBJECT', statusAfter: 'CANCELLED' }),
    ]);
    const res = await ct.getResult(id, { wait: true });
    expect(res.nodes[0]).toMatchObject({ status: 'COMPLETED', output: 400, cancelRequested: false });
    expect(res.nodes[1]).toMatchObject({ status: 'CANCELLED', cancelReason: 'not needed', output: undefined });
    expect(res.status).toBe('CANCELLED');
  });

  it('cancels one of two independent branches; the other runs to completion', async () => {
    const f = pidFile();
    const wf = ct.lattice((file: string) => [quick(hang(file)), quick(sleepy(200))]);
    const id = await ct.dispatch(wf)(f);
    const pids = await runningWith(f);
    const report = await ct.cancel(id, { taskIds: [0] });
    expect(report.tasks.map((t) => [t.nodeId, t.outcome, t.downstreamOf])).toEqual([
      [0, 'killed', null],
      [1, 'aborted_before_start', [0]],
    ]);
    expect(processRunning(pids.child)).toBe(false);
    const res = await ct.getResult(id, { wait: true });
    expect(res.nodes.map((n) => n.status)).toEqual(['CANCELLED', 'CANCELLED', 'COMPLETED', 'COMPLETED']);
    expect(res.nodes[3].output).toBe('quick(200)');
    expect(res.status).toBe('CANCELLED');
  });

  it('validates every task id before cancelling any, and changes nothing on bad ids', async () => {
    const wf = ct.lattice(() => quick(sleepy(300)));
    const id = await ct.dispatch(wf)();
    const err = await ct.cancel(id, { taskIds: [1, 99, -1] }).catch((e) => e);
    expect(err).toBeInstanceOf(ct.CtError);
    expect(err.code).toBe('CT_UNKNOWN_TASK');
    expect(err.message).toMatch(/no tasks 99, -1/);
    expect(err.message).toMatch(/Nothing was cancelled/);
    await expect(ct.cancel(id, { taskIds: 'all' as any })).rejects.toMatchObject({ code: 'CT_INVALID_ARGUMENT' });
    await expect(ct.cancel(id, { taskIds: [] })).rejects.toMatchObject({ code: 'CT_INVALID_ARGUMENT' });
    const res = await ct.getResult(id, { wait: true });
    expect(res.status).toBe('COMPLETED');
    expect(res.nodes.some((n) => n.cancelRequested)).toBe(false);
  });

  it.each([
    ['an array of ids', [0], /did you mean `\{ taskIds: \[0\] \}`\?/],
    ['a reason as a bare string', 'too slow', /did you mean `\{ reason: "too slow" \}`\?/],
    ['a bare task id', 1, /did you mean `\{ taskIds: \[1\] \}`\?/],
    ['a misspelt key', { taskId: 0 }, /unknown option "taskId"; did you mean `\{ taskIds: \[0\] \}`\?/],
    ['an unknown key', { force: true }, /unknown option "force"/],
    ['null', null, /must be an options object, got null/],
    ['a NaN task id', { taskIds: [NaN] }, /taskIds\[0\] is NaN, not a task id/],
    ['a fractional task id', { taskIds: [0.5] }, /taskIds\[0\] is 0.5, not a task id/],
    ['a task id as text', { taskIds: ['1'] }, /taskIds\[0\] is "1", not a task id/],
    ['task ids not in an array', { taskIds: 0 }, /did you mean `\{ taskIds: \[0\] \}`\?/],
    ['abandon as text', { abandon: 'yes' }, /abandon must be true or false, got "yes"/],
    ['abandon of a dispatch this process runs', { abandon: true }, /abandon gives up on kills of an orphaned dispatch.*not orphaned: it runs in this process/],
  ])('refuses %s with CT_INVALID_ARGUMENT, naming the mistake, and cancels nothing', async (_what, options, message) => {
    const wf = ct.lattice(() => [quick(sleepy(300)), sleepy(300)]);
    const id = await ct.dispatch(wf)();
    const err = await ct.cancel(id, options as any).catch((e) => e);
    expect(err).toBeInstanceOf(ct.InvalidInputError);
    expect(err.code).toBe('CT_INVALID_ARGUMENT');
    expect(err.message).toMatch(message);
    expect(err.message).toMatch(/Nothing was cancelled/);
    const res = await ct.getResult(id, { wait: true });
    expect(res.status).toBe('COMPLETED');
    expect(res.nodes.map((n) => [n.status, n.cancelRequested])).toEqual([['COMPLETED', false], ['COMPLETED', false], ['COMPLETED', false]]);
  });

  it('reports a task that already finished as such and keeps its status', async () => {
    const wf = ct.lattice(() => [quick(1), sleepy(300)]);
    const id = await ct.dispatch(wf)();
    await waitFor('task 0 done', async () => (await ct.getResult(id)).nodes[0].status === 'COMPLETED');
    const report = await ct.cancel(id);
    expect(report.tasks.find((t) => t.nodeId === 0)).toMatchObject({ outcome: 'already_finished', statusAfter: 'COMPLETED' });
    expect(report.tasks.find((t) => t.nodeId === 1)).toMatchObject({ outcome: 'killed', statusAfter: 'CANCELLED' });
    const res = await ct.getResult(id, { wait: true });
    expect(res.nodes[0]).toMatchObject({ status: 'COMPLETED', output: 'quick(1)' });
    // Terminal states never change again.
    const again = await ct.cancel(id);
    expect(again.tasks.map((t) => t.outcome)).toEqual(['already_finished', 'already_finished']);
    expect((await ct.getResult(id)).nodes.map((n) => n.status)).toEqual(['COMPLETED', 'CANCELLED']);
  });

  it('ends FAILED when one task failed and another was cancelled', async () => {
    const fail = ct.electron(function fail(): number {
      throw new Error('numerical blow-up');
    });
    const f = pidFile();
    const wf = ct.lattice((file: string) => [fail(), hang(file)]);
    const id = await ct.dispatch(wf)(f);
    await runningWith(f);
    await waitFor('failure', async () => (await ct.getResult(id)).nodes[0].status === 'FAILED');
    await ct.cancel(id, { taskIds: [1] });
    const res = await ct.getResult(id, { wait: true });
    expect(res.nodes.map((n) => n.status)).toEqual(['FAILED', 'CANCELLED']);
    expect(res.status).toBe('FAILED');
  });

  it('stops a task that ignores SIGTERM with SIGKILL after the grace period', async () => {
    const stubborn = ct.electron(
      async function stubborn(file: string) {
        const cp = require('child_process');
        const fsm = require('fs');
        process.on('SIGTERM', () => undefined); // the worker itself ignores TERM
        const child = cp.spawn('bash', ['-c', 'trap "" TERM; while true; do sleep 1; done'], { stdio: 'ignore' });
        fsm.writeFileSync(file, JSON.stringify({ worker: process.pid, child: child.pid }));
        await new Promise(() => undefined);
      },
      { executor: new ct.LocalExecutor({ killGraceSeconds: 0.3 }) },
    );
    const f = pidFile();
    const id = await ct.dispatch(ct.lattice((file: string) => stubborn(file)))(f);
    const pids = await runningWith(f);
    const t0 = Date.now();
    const report = await ct.cancel(id);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(250);
    expect(report.tasks[0].outcome).toBe('killed');
    expect(processRunning(pids.worker)).toBe(false);
    expect(processRunning(pids.child)).toBe(false);
  });
});

describe('sublattices', () => {
  const inner = ct.lattice((file: string) => quick(hang(file)), { name: 'inner' });
  const sub = ct.electron(inner);

  it('cancels a sublattice before it expands: it never runs', async () => {
    const f = pidFile();
    const wf = ct.lattice((file: string) => sub(quick(sleepy(400)) as unknown as string));
    const id = await ct.dispatch(wf)(f);
    const report = await ct.cancel(id, { taskIds: [2] });
    expect(report.tasks).toEqual([expect.objectContaining({ nodeId: 2, outcome: 'aborted_before_start', statusAfter: 'CANCELLED' })]);
    const res = await ct.getResult(id, { wait: true });
    expect(res.nodes[2]).toMatchObject({ kind: 'sublattice', status: 'CANCELLED', subDispatchId: null });
    expect(res.nodes[0].status).toBe('COMPLETED');
  });

  it('cancels every task inside an expanded sublattice, killing its running task', async () => {
    const f = pidFile();
    const wf = ct.lattice((file: string) => quick(sub(file)));
    const id = await ct.dispatch(wf)(f);
    const pids = await runningWith(f);
    const subId = (await ct.getResult(id)).nodes[0].subDispatchId!;
    const report = await ct.cancel(id, { taskIds: [0] });
    expect(report.tasks.map((t) => [t.nodeId, t.outcome])).toEqual([
      [0, 'killed'],
      [1, 'aborted_before_start'],
    ]);
    expect(processRunning(pids.child)).toBe(false);
    const child = await ct.getResult(subId, { wait: true });
    expect(child.status).toBe('CANCELLED');
    expect(child.nodes.map((n) => n.status)).toEqual(['CANCELLED', 'CANCELLED']);
    expect((await ct.getResult(id, { wait: true })).status).toBe('CANCELLED');
  });
});

describe('task packing', () => {
  it('runs a chain as one job with one handle, and cancelling any member cancels the job', async () => {
    const f = pidFile();
    const wf = ct.lattice((file: string) => quick(hang(file)), { taskPacking: true });
    const id = await ct.dispatch(wf)(f);
    const pids = await runningWith(f);
    const running = await ct.getResult(id);
    expect(running.nodes[0].jobHandle).toEqual(running.nodes[1].jobHandle);
    expect(running.nodes[0].jobHandle).toMatchObject({ pid: pids.worker });
    const report = await ct.cancel(id, { taskIds: [1] });
    expect(processRunning(pids.child)).toBe(false);
    expect(report.tasks.map((t) => [t.nodeId, t.statusAfter])).toEqual(
      expect.arrayContaining([
        [1, 'CANCELLED'],
        [0, 'CANCELLED'],
      ]),
    );
  });

  it('produces the same results packed as unpacked', async () => {
    const inc = ct.electron(function inc(x: number) {
      return x + 1;
    });
    const wf = ct.lattice((x: number) => inc(inc(inc(x))), { taskPacking: true });
    const res = await ct.dispatchSync(wf)(1);
    expect(res.result).toBe(4);
    expect(new Set(res.nodes.map((n) => JSON.stringify(n.jobHandle))).size).toBe(1);
  });
});

describe('the inline executor (cooperative cancellation)', () => {
  it('stops a task that watches its AbortSignal', async () => {
    const polite = ct.electron(
      async function polite() {
        const { signal } = ct.taskContext();
        while (!signal.aborted) await new Promise((r) => setTimeout(r, 5));
        throw new ct.TaskCancelledError();
      },
      { executor: 'inline' },
    );
    const id = await ct.dispatch(ct.lattice(() => polite()))();
    await waitFor('running', async () => (await ct.getResult(id)).nodes[0].status === 'RUNNING');
    const report = await ct.cancel(id);
    expect(report.tasks[0]).toMatchObject({ outcome: 'killed', statusAfter: 'CANCELLED' });
    expect(report.confirmed).toBe(true);
  });

  it('never claims success for a task that ignores the signal', async () => {
    const rude = ct.electron(
      async function rude() {
        await new Promise((r) => setTimeout(r, 3000));
        return 'finished anyway';
      },
      { executor: new ct.InlineExecutor({ cancelWaitSeconds: 0.2 }) },
    );
    const id = await ct.dispatch(ct.lattice(() => rude()))();
    await waitFor('running', async () => (await ct.getResult(id)).nodes[0].status === 'RUNNING');
    const report = await ct.cancel(id);
    expect(report.confirmed).toBe(false);
    expect(report.tasks[0].outcome).toBe('kill_unconfirmed');
    expect(report.tasks[0].detail).toMatch(/could not confirm/);
    expect(report.summary).toMatch(/NOT confirmed/);
    const res = await ct.getResult(id);
    expect(res.nodes[0]).toMatchObject({ status: 'CANCELLED', cancelOutcome: 'kill_unconfirmed' });
  });
});

describe('a custom executor plugin', () => {
  /** Records each step it is asked to run; `upload` waits for the test to open a gate. */
  class StepRecorder extends ct.Executor<ct.TaskPayload, ct.TaskOutput> {
    readonly type = 'step-recorder';
    steps: string[] = [];
    cancels: Array<{ meta: ct.TaskMetadata; handle: ct.JobHandle }> = [];
    uploadGate: Promise<void> = Promise.resolve();
    handleGate: Promise<void> = Promise.resolve();
    job: ReturnType<typeof spawn> | undefined;
    protected publicOptions() {
      return {};
    }
    protected override async serialize(p: ct.TaskPayload) {
      this.steps.push('serialize');
      return p;
    }
    protected override async upload() {
      this.steps.push('upload');
      await this.uploadGate;
    }
    protected override async provision() {
      this.steps.push('provision');
    }
    protected async run(_p: ct.TaskPayload, ctx: ct.ExecutionContext): Promise<ct.TaskOutput> {
      this.steps.push('run');
      // The job exists (a real process) before its handle is stored: the race window.
      this.job = spawn('sleep', ['600'], { stdio: 'ignore', detached: true });
      await this.handleGate;
      await ctx.setJobHandle({ pid: this.job.pid! });
      await new Promise((_r, reject) => this.job!.on('exit', () => reject(new Error('job exited'))));
      throw new Error('unreachable');
    }
    protected override async cleanup() {
      this.steps.push('cleanup');
    }
    async cancel(meta: ct.TaskMetadata, handle: ct.JobHandle) {
      this.cancels.push({ meta, handle });
      process.kill(Number(handle.pid), 'SIGKILL');
      await waitFor('job gone', () => !processRunning(Number(handle.pid)));
      return true;
    }
  }
  const task = ct.electron(function task() {
    return 1;
  });

  it('runs no step after the cancel request is seen', async () => {
    const ex = new StepRecorder();
    let open!: () => void;
    ex.uploadGate = new Promise((r) => (open = r));
    const wf = ct.lattice(() => task(), { executor: ex });
    const id = await ct.dispatch(wf)();
    await waitFor('upload step', () => ex.steps.includes('upload'));
    const pending = ct.cancel(id);
    open();
    const report = await pending;
    expect(ex.steps).toEqual(['serialize', 'upload', 'cleanup']);
    expect(report.tasks[0]).toMatchObject({ outcome: 'aborted_before_start', statusAfter: 'CANCELLED' });
    expect(ex.cancels).toHaveLength(0);
  });

  it('does not lose a cancel that arrives between job creation and setJobHandle', async () => {
    const ex = new StepRecorder();
    let open!: () => void;
    ex.handleGate = new Promise((r) => (open = r));
    const id = await ct.dispatch(ct.lattice(() => task(), { executor: ex }))();
    await waitFor('job created', () => ex.job?.pid);
    const pending = ct.cancel(id);
    open();
    const report = await pending;
    expect(ex.cancels).toHaveLength(1);
    // The handle went through its stored form: equal, but not the object the executor passed.
    expect(ex.cancels[0].handle).toEqual({ pid: ex.job!.pid });
    expect(ex.cancels[0].meta).toMatchObject({ dispatchId: id, nodeId: 0 });
    expect(processRunning(ex.job!.pid!)).toBe(false);
    expect(report.tasks[0]).toMatchObject({ outcome: 'killed', statusAfter: 'CANCELLED' });
  });
});

describe('many tasks at once', () => {
  it('cancels running and queued tasks of a wide dispatch; queued ones never start', async () => {
    const f = pidFile();
    const wf = ct.lattice((file: string) => {
      const outs = [hang(file)];
      for (let i = 0; i < 30; i++) outs.push(sleepy(60_000));
      return outs;
    });
    const id = await ct.dispatch(wf)(f);
    const pids = await runningWith(f);
    const report = await ct.cancel(id);
    expect(processRunning(pids.worker)).toBe(false);
    expect(report.confirmed).toBe(true);
    const outcomes = report.tasks.map((t) => t.outcome);
    expect(outcomes.filter((o) => o === 'killed').length).toBeGreaterThanOrEqual(1);
    // At most one task per worker was running; the rest were still queued.
    expect(outcomes.filter((o) => o === 'killed').length).toBeLessThanOrEqual(os.availableParallelism());
    expect(outcomes.filter((o) => o === 'aborted_before_start').length).toBeGreaterThanOrEqual(31 - os.availableParallelism());
    const res = await ct.getResult(id, { wait: 10_000 });
    expect(res.status).toBe('CANCELLED');
    expect(res.nodes.every((n) => n.status === 'CANCELLED')).toBe(true);
  });
});

describe('tasks waiting for a local worker', () => {
  it('show QUEUED, not RUNNING, until a worker has them; cancelled there they are aborted before start', async () => {
    const workers = os.availableParallelism();
    const files = Array.from({ length: workers }, () => pidFile());
    const wf = ct.lattice((fs_: string[]) => [...fs_.map((f) => hang(f)), sleepy(60_000)]);
    const id = await ct.dispatch(wf)(files);
    // Every worker is busy with a task that never ends: the last task has no worker.
    for (const f of files) await runningWith(f);
    const waiting = workers;
    const before = await ct.getResult(id);
    expect(before.nodes.filter((n) => n.id < waiting).map((n) => n.status)).toEqual(Array(workers).fill('RUNNING'));
    expect(before.nodes[waiting].status).toBe('QUEUED');

    const report = await ct.cancel(id, { taskIds: [waiting] });
    expect(report.tasks).toEqual([expect.objectContaining({ nodeId: waiting, statusBefore: 'QUEUED', outcome: 'aborted_before_start', statusAfter: 'CANCELLED' })]);
    expect((await ct.getResult(id)).nodes[waiting]).toMatchObject({ status: 'CANCELLED', cancelOutcome: 'aborted_before_start' });
    await ct.cancel(id);
  });
});

describe('executors that cap the jobs they hold', () => {
  /** Holds each job until the test releases it; at most two at a time. */
  class TwoAtATime extends ct.Executor<ct.TaskPayload, ct.TaskOutput> {
    readonly type = 'two-at-a-time';
    override readonly maxInFlight = 2;
    started: number[] = [];
    private gates = new Map<number, () => void>();
    protected publicOptions() {
      return {};
    }
    protected async run(p: ct.TaskPayload, ctx: ct.ExecutionContext): Promise<ct.TaskOutput> {
      const id = p.steps[0].nodeId;
      await ctx.setJobHandle({ id });
      // Started once its handle is stored (setJobHandle waits until the handle is on disk).
      this.started.push(id);
      await new Promise<void>((resolve, reject) => {
        this.gates.set(id, resolve);
        ctx.onCancel(() => reject(new ct.TaskCancelledError()));
      });
      return { steps: [{ nodeId: id, ok: true, value: id }] };
    }
    release(id: number) {
      this.gates.get(id)?.();
    }
    async cancel() {
      return true;
    }
  }
  const t = ct.electron(function t(i: number) {
    return i;
  });

  it('keeps the others NEW_OBJECT until a slot frees, and a waiting task cancelled never starts', async () => {
    const ex = new TwoAtATime();
    const wf = ct.lattice(() => [t(0), t(1), t(2), t(3)], { executor: ex });
    const id = await ct.dispatch(wf)();
    await waitFor('two running', () => ex.started.length === 2);
    expect((await ct.getResult(id)).nodes.map((n) => n.status)).toEqual(['RUNNING', 'RUNNING', 'NEW_OBJECT', 'NEW_OBJECT']);
    const report = await ct.cancel(id, { taskIds: [2] });
    expect(report.tasks[0]).toMatchObject({ nodeId: 2, outcome: 'aborted_before_start' });
    ex.release(0);
    await waitFor('task 3 to start', () => ex.started.includes(3));
    ex.release(1);
    ex.release(3);
    const res = await ct.getResult(id, { wait: true });
    expect(ex.started).toEqual([0, 1, 3]);
    expect(res.nodes.map((n) => n.status)).toEqual(['COMPLETED', 'COMPLETED', 'CANCELLED', 'COMPLETED']);
  });
});
