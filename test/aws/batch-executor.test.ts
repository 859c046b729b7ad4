import { BatchClient, TerminateJobCommand } from '@aws-sdk/client-batch';
import * as ct from '../../src';
import { processRunning, usePrivateHome, waitFor } from '../support/wait';
import { batchOptions, useLocalAws } from './support/fixture';
import { TEST_REGION } from './support/local-aws';

usePrivateHome();
const aws = useLocalAws();
afterAll(() => ct.shutdown());
afterEach(() => {
  // Every test starts from the default timings and knobs.
  Object.assign(aws().batch.knobs.timings, { SUBMITTED: 20, PENDING: 20, RUNNABLE: 40, STARTING: 40 });
  aws().batch.knobs.terminateGraceMs = 30_000;
  aws().http.knobs.outage = false;
  aws().http.knobs.throttle = {};
  aws().http.knobs.delayMs = {};
  for (const k of Object.keys(aws().s3Proxy.delayMs)) delete aws().s3Proxy.delayMs[k];
  aws().s3Proxy.removeAllListeners();
  aws().batch.release();
});

function add(a: number, b: number) {
  console.log('adding', a, b);
  console.error('to stderr');
  return a + b;
}
async function hang(ms: number) {
  await new Promise((r) => setTimeout(r, ms));
  return 'woke up';
}
function boom() {
  throw new RangeError('no good');
}

const executor = (extra = {}) => new ct.AWSBatchExecutor(batchOptions(aws(), extra));
const node0 = async (id: string) => (await ct.getResult(id)).nodes[0];
const jobOf = async (id: string) => {
  const h = (await node0(id)).jobHandle as any;
  return h ? aws().batch.jobs.get(h.jobId) : undefined;
};
/** The job once its container runs and the node shows RUNNING. */
const runningJob = (id: string) =>
  waitFor('the container to run', async () => {
    const j = await jobOf(id);
    return j?.process && (await node0(id)).status === 'RUNNING' ? j : undefined;
  });
/** Statuses a dispatch's first node went through, from the dispatcher's events. */
function statusesOf(id: () => string): string[] {
  const seen: string[] = [];
  ct.getDispatcher().on('node-changed', (e) => {
    if (e.dispatchId === id() && e.node.id === 0 && e.node.status && seen[seen.length - 1] !== e.node.status) seen.push(e.node.status);
  });
  return seen;
}

describe('AWSBatchExecutor runs tasks', () => {
  it('as Batch jobs that run `covalent-ts run-task` on a payload in S3, reporting QUEUED then RUNNING', async () => {
    let id = '';
    const seen = statusesOf(() => id);
    const e = ct.electron(add, { executor: executor({ tags: { team: 'qc' } }) });
    id = await ct.dispatch(ct.lattice((a: number) => e(a, 2)))(40);
    const r = await ct.getResult(id, { wait: true });
    expect(r.error).toBeNull();
    expect(r.status).toBe('COMPLETED');
    expect(r.result).toBe(42);
    expect(seen).toEqual(['RUNNING', 'QUEUED', 'RUNNING', 'COMPLETED']);
    const job = (await jobOf(id))!;
    const payload = (r.nodes[0].jobHandle as any).payload as string;
    expect(payload).toMatch(new RegExp(`^s3://ct-test-bucket/tasks/${id}/0-[0-9a-f]{8}/payload\\.bin$`));
    expect(job.command).toEqual(['covalent-ts', 'run-task', '--payload', payload]);
    expect(job.environment).toMatchObject({ CT_PAYLOAD: payload, AWS_REGION: TEST_REGION });
    expect(job.tags).toMatchObject({ team: 'qc', 'covalent-ts:dispatch': id });
    expect(job.logs).toContain('adding 40 2');
    expect(r.nodes[0].jobHandle).toMatchObject({ jobId: job.jobId, logStreamName: job.logStreamName });
    // The task's files are removed once the result is back.
    await waitFor('the task files to be removed', () => aws().s3Keys().filter((k) => k.includes(id)).length === 0);
  });

  it('reports the task\'s own error when it throws (FAILED with the message, not a cancel)', async () => {
    const e = ct.electron(boom, { executor: executor() });
    const r = await ct.dispatchSync(ct.lattice(() => e()))();
    expect(r.status).toBe('FAILED');
    expect(r.nodes[0].error).toMatch(/RangeError: no good/);
    expect((await jobOf(r.dispatchId))!.status).toBe('FAILED');
  });

  it('rejects bad options before anything is uploaded or submitted', () => {
    const calls = aws().http.count();
    const bad: Array<[object, RegExp]> = [
      [{ s3Bucket: undefined }, /"s3Bucket" is required/],
      [{ region: 'mars-1' }, /"region" "mars-1" is not valid/],
      [{ jobQueue: 'arn:aws:batch:us-east-1:1:job-queue/x' }, /"jobQueue"/],
      [{ environment: { AWS_SECRET_ACCESS_KEY: 'x' } }, /would store a credential/],
      [{ endpoints: { ec2: 'http://x' } }, /"endpoints.ec2" is not known/],
      [{ vcpus: 0 }, /"vcpus" must be an integer from 1/],
    ];
    for (const [o, msg] of bad) {
      const err = (() => {
        try {
          executor(o);
        } catch (e) {
          return e as ct.CtError;
        }
        return undefined;
      })();
      expect(err).toBeInstanceOf(ct.InvalidInputError);
      expect(err!.code).toBe('CT_INVALID_ARGUMENT');
      expect(err!.message).toMatch(msg);
    }
    expect(aws().http.count()).toBe(calls);
  });

  it('rejects bad options of an executor named by type at dispatch time, naming the task', async () => {
    const calls = aws().http.count();
    const puts = aws().s3Proxy.requests.length;
    const { s3Bucket: _b, ...noBucket } = batchOptions(aws());
    const e = ct.electron(add, { executor: { type: 'awsbatch', options: noBucket } });
    const err = await ct.dispatch(ct.lattice(() => e(1, 2)))().catch((x) => x);
    expect(err).toBeInstanceOf(ct.InvalidInputError);
    expect(err.message).toMatch(/^Task 0 \(add\): AWSBatchExecutor options: "s3Bucket" is required/);
    const q = ct.electron(() => 'OPENQASM 3.0; qubit q;', { executor: 'braket' });
    await expect(ct.dispatch(ct.lattice(() => q()))()).rejects.toThrow(/BraketExecutor options: "deviceArn" is required/);
    expect(aws().http.count()).toBe(calls);
    expect(aws().s3Proxy.requests.length).toBe(puts);
  });
});

describe('cancelling a Batch task', () => {
  it('before upload: nothing reaches S3 or Batch', async () => {
    const submits = aws().http.count('SubmitJob');
    const e = ct.electron(add, { executor: executor() });
    const id = await ct.dispatch(ct.lattice(() => e(1, 2)))();
    const report = await ct.cancel(id);
    expect(report.tasks[0]).toMatchObject({ outcome: 'aborted_before_start', statusAfter: 'CANCELLED' });
    expect((await ct.getResult(id, { wait: true })).status).toBe('CANCELLED');
    // Only this dispatch's requests: earlier tests' background S3 cleanup may still be running.
    expect(aws().s3Proxy.requests.filter((r) => r.path.includes(id))).toEqual([]);
    expect(aws().http.count('SubmitJob')).toBe(submits);
  });

  it('after upload, before submit: no job is submitted and the payload is removed', async () => {
    aws().s3Proxy.delayMs.PUT = 400;
    const submits = aws().http.count('SubmitJob');
    const e = ct.electron(add, { executor: executor() });
    let id = '';
    const cancelled = new Promise<ct.CancelReport>((resolve) =>
      aws().s3Proxy.on('request', (r) => {
        if (r.method === 'PUT' && r.path.includes('payload.bin')) resolve(ct.cancel(id));
      }),
    );
    id = await ct.dispatch(ct.lattice(() => e(1, 2)))();
    const report = await cancelled;
    expect(report.tasks[0]).toMatchObject({ outcome: 'aborted_before_start', statusAfter: 'CANCELLED' });
    expect(aws().s3Proxy.puts('payload.bin')).toBeGreaterThan(0);
    expect(aws().http.count('SubmitJob')).toBe(submits);
    await waitFor('the payload to be removed', () => aws().s3Keys().filter((k) => k.includes(id)).length === 0);
  });

  it('racing the submit: the new job is cancelled as soon as its id exists', async () => {
    aws().http.knobs.delayMs.SubmitJob = 400;
    const e = ct.electron(hang, { executor: executor() });
    aws().http.resetCalls();
    const id = await ct.dispatch(ct.lattice(() => e(60_000)))();
    await waitFor('SubmitJob to arrive', () => aws().http.count('SubmitJob') === 1);
    const report = await ct.cancel(id);
    const job = (await jobOf(id))!;
    expect(job).toBeDefined();
    expect(job.status).toBe('FAILED');
    expect(job.statusReason).toBe('Cancelled by covalent-ts');
    expect(job.process).toBeUndefined();
    expect(report.tasks[0]).toMatchObject({ outcome: 'aborted_before_start', statusAfter: 'CANCELLED' });
    expect(report.tasks[0].detail).toMatch(/job was (SUBMITTED|PENDING); CancelJob; FAILED/);
  });

  it('while QUEUED (RUNNABLE): CancelJob, the node ends CANCELLED (AWS says FAILED), aborted before start', async () => {
    aws().batch.knobs.timings.RUNNABLE = Infinity;
    const e = ct.electron(hang, { executor: executor() });
    const id = await ct.dispatch(ct.lattice(() => e(60_000)))();
    await waitFor('QUEUED', async () => (await node0(id)).status === 'QUEUED' && (await jobOf(id))?.status === 'RUNNABLE');
    const terminates = aws().http.count('TerminateJobs');
    const report = await ct.cancel(id, { reason: 'queue too long' });
    expect(report.confirmed).toBe(true);
    expect(report.tasks[0]).toMatchObject({ outcome: 'aborted_before_start', statusBefore: 'QUEUED', statusAfter: 'CANCELLED' });
    expect(report.tasks[0].detail).toBe('job was RUNNABLE; CancelJob; FAILED');
    expect(aws().http.count('TerminateJobs')).toBe(terminates);
    const r = await ct.getResult(id, { wait: true });
    expect(r.nodes[0]).toMatchObject({ status: 'CANCELLED', cancelOutcome: 'aborted_before_start', cancelDetail: 'job was RUNNABLE; CancelJob; FAILED', cancelReason: 'queue too long' });
    expect((await jobOf(id))!.status).toBe('FAILED');
  });

  it('while RUNNING: TerminateJob stops the container process; the node ends CANCELLED, killed', async () => {
    const e = ct.electron(hang, { executor: executor() });
    const id = await ct.dispatch(ct.lattice(() => e(600_000)))();
    const job = await runningJob(id);
    const pid = job.process!.pid!;
    expect(processRunning(pid)).toBe(true);
    const report = await ct.cancel(id);
    expect(report.tasks[0]).toMatchObject({ outcome: 'killed', statusBefore: 'RUNNING', statusAfter: 'CANCELLED' });
    expect(report.tasks[0].detail).toMatch(/^job was RUNNING; TerminateJob; FAILED \(exit 143\)$/);
    expect(processRunning(pid)).toBe(false);
    expect(job.status).toBe('FAILED');
    const r = await ct.getResult(id, { wait: true });
    expect(r.status).toBe('CANCELLED');
    expect(r.nodes[0]).toMatchObject({ status: 'CANCELLED', cancelOutcome: 'killed' });
  });

  it('a job that started between the look and the CancelJob is terminated (escalated)', async () => {
    aws().batch.knobs.timings.RUNNABLE = Infinity;
    aws().http.knobs.delayMs.CancelJobs = 300;
    const e = ct.electron(hang, { executor: executor() });
    const id = await ct.dispatch(ct.lattice(() => e(600_000)))();
    await waitFor('QUEUED', async () => (await jobOf(id))?.status === 'RUNNABLE');
    // The job starts while our CancelJobs is on the wire: AWS ignores it for a STARTING job.
    aws().http.resetCalls();
    const cancelling = ct.cancel(id);
    await waitFor('CancelJobs to be sent', () => aws().http.count('CancelJobs') === 1);
    aws().batch.knobs.timings.RUNNABLE = 0;
    aws().batch.knobs.timings.STARTING = 0;
    aws().batch.release();
    const report = await cancelling;
    expect(report.confirmed).toBe(true);
    expect(report.tasks[0].detail).toMatch(/job was RUNNABLE; CancelJob; it reached (STARTING|RUNNING); TerminateJob; FAILED/);
    expect((await jobOf(id))!.status).toBe('FAILED');
  });

  it('a job that finished before the cancel landed keeps its result: COMPLETED, already_finished', async () => {
    // A slow poll: the job is done on AWS long before we look again.
    const e = ct.electron(add, { executor: executor({ pollIntervalMs: 3000, maxPollIntervalMs: 3000 }) });
    const id = await ct.dispatch(ct.lattice(() => e(20, 1)))();
    await waitFor('the job to succeed on AWS', async () => (await jobOf(id))?.status === 'SUCCEEDED');
    expect((await node0(id)).status).not.toBe('COMPLETED');
    const report = await ct.cancel(id);
    expect(report.tasks[0]).toMatchObject({ outcome: 'already_finished', statusAfter: 'COMPLETED' });
    const r = await ct.getResult(id, { wait: true });
    expect(r.status).toBe('COMPLETED');
    expect(r.nodes[0]).toMatchObject({ status: 'COMPLETED', output: 21, cancelOutcome: 'already_finished' });
  });

  it('a job cancelled outside covalent-ts ends CANCELLED with its statusReason kept', async () => {
    const e = ct.electron(hang, { executor: executor() });
    const id = await ct.dispatch(ct.lattice(() => e(600_000)))();
    const job = await waitFor('the container to run', async () => ((await jobOf(id))?.process ? jobOf(id) : undefined));
    const client = new BatchClient({ region: TEST_REGION, endpoint: aws().endpoint });
    await client.send(new TerminateJobCommand({ jobId: job!.jobId, reason: 'Terminated by the on-call engineer' }));
    client.destroy();
    const r = await ct.getResult(id, { wait: true });
    expect(r.nodes[0].status).toBe('CANCELLED');
    expect(r.nodes[0].cancelDetail).toMatch(/stopped outside covalent-ts: Terminated by the on-call engineer/);
    expect(r.nodes[0].cancelOutcome).toBe('killed');
  });
});

describe('cancelling many Batch tasks', () => {
  it('uses the bulk CancelJobs (50 ids a call) and DescribeJobs (100 ids a call) for 120 queued jobs', async () => {
    aws().batch.knobs.timings.RUNNABLE = Infinity;
    const ex = executor({ pollIntervalMs: 200, maxPollIntervalMs: 1000, arrayJobs: false });
    const e = ct.electron(hang, { executor: ex });
    const n = 120;
    const id = await ct.dispatch(ct.lattice((k: number) => Array.from({ length: k }, (_, i) => e(i))))(n);
    await waitFor('all queued', async () => (await ct.getResult(id)).nodes.filter((x) => x.status === 'QUEUED').length === n, 60_000);
    aws().http.resetCalls();
    const report = await ct.cancel(id);
    expect(report.confirmed).toBe(true);
    expect(report.withOutcome('aborted_before_start').length).toBe(n);
    expect(aws().http.count('CancelJobs')).toBe(3);
    expect(aws().http.count('CancelJob')).toBe(0);
    expect(aws().http.count('TerminateJobs')).toBe(0);
    // The cancel's first look: 2 calls for 120 ids; the watcher polls all jobs with 2 calls a round.
    expect(aws().http.calls.filter((c) => c.op === 'DescribeJobs').length % 2).toBe(0);
    const r = await ct.getResult(id, { wait: true });
    expect(r.status).toBe('CANCELLED');
    expect(r.nodes.every((x) => x.status === 'CANCELLED')).toBe(true);
  });
});

describe('a fan-out as one Batch array job', () => {
  const square = function square(x: number) {
    return x * x;
  };

  it('submits one array job for one electron mapped over N inputs; each task is a child jobId:index', async () => {
    aws().http.resetCalls();
    const e = ct.electron(square, { executor: executor() });
    const r = await ct.dispatchSync(ct.lattice((k: number) => Array.from({ length: k }, (_, i) => e(i))))(6);
    expect(r.error).toBeNull();
    expect(r.result).toEqual([0, 1, 4, 9, 16, 25]);
    expect(aws().http.count('SubmitJob')).toBe(1);
    const handles = r.nodes.filter((n) => n.kind === 'electron').map((n) => n.jobHandle as any);
    const parent = handles[0].arrayParentId as string;
    expect(aws().batch.jobs.get(parent)!.arraySize).toBe(6);
    expect(handles.map((h) => h.jobId).sort()).toEqual([0, 1, 2, 3, 4, 5].map((i) => `${parent}:${i}`).sort());
  });

  it('cancelling one task terminates only its child; cancelling the rest terminates the parent', async () => {
    aws().batch.knobs.timings.RUNNABLE = Infinity;
    const e = ct.electron(hang, { executor: executor() });
    const id = await ct.dispatch(ct.lattice((k: number) => Array.from({ length: k }, (_, i) => e(i))))(4);
    await waitFor('all queued', async () => (await ct.getResult(id)).nodes.filter((x) => x.status === 'QUEUED').length === 4);
    const nodes = (await ct.getResult(id)).nodes;
    const childOf = (taskId: number) => aws().batch.jobs.get((nodes.find((n) => n.id === taskId)!.jobHandle as any).jobId)!;
    const parentId = (nodes[0].jobHandle as any).arrayParentId as string;
    // QUEUED covers PENDING too: start from children the service has made RUNNABLE (they stay so).
    await waitFor('every child RUNNABLE', () => nodes.every((n) => childOf(n.id).status === 'RUNNABLE'));
    aws().http.resetCalls();

    const one = await ct.cancel(id, { taskIds: [nodes[1].id] });
    expect(one.tasks[0]).toMatchObject({ outcome: 'aborted_before_start', statusAfter: 'CANCELLED' });
    expect(childOf(nodes[1].id).status).toBe('FAILED');
    expect(nodes.filter((n) => n.id !== nodes[1].id).map((n) => childOf(n.id).status)).toEqual(['RUNNABLE', 'RUNNABLE', 'RUNNABLE']);
    expect(aws().batch.jobs.get(parentId)!.status).toBe('PENDING');

    aws().http.resetCalls();
    const rest = await ct.cancel(id);
    expect(rest.confirmed).toBe(true);
    expect(aws().http.count('TerminateJobs')).toBe(0);
    expect(aws().http.count('CancelJobs')).toBe(1);
    expect(nodes.map((n) => childOf(n.id).status)).toEqual(['FAILED', 'FAILED', 'FAILED', 'FAILED']);
    expect(aws().batch.jobs.get(parentId)!.status).toBe('FAILED');
  });

  it('cancelling every child at once is one TerminateJob on the parent', async () => {
    aws().batch.knobs.timings.RUNNABLE = Infinity;
    const e = ct.electron(hang, { executor: executor() });
    const id = await ct.dispatch(ct.lattice((k: number) => Array.from({ length: k }, (_, i) => e(i))))(5);
    await waitFor('all queued', async () => (await ct.getResult(id)).nodes.filter((x) => x.status === 'QUEUED').length === 5);
    const parentId = ((await node0(id)).jobHandle as any).arrayParentId as string;
    aws().http.resetCalls();
    const report = await ct.cancel(id);
    expect(report.confirmed).toBe(true);
    expect(report.withOutcome('aborted_before_start').length).toBe(5);
    expect(report.tasks[0].detail).toMatch(new RegExp(`^job was (SUBMITTED|PENDING|RUNNABLE); TerminateJob of its array job ${parentId}; FAILED$`));
    expect(aws().http.count('TerminateJobs')).toBe(1);
    expect(aws().http.count('CancelJobs')).toBe(0);
    expect(aws().batch.jobs.get(parentId)!.status).toBe('FAILED');
  });
});

describe('throttling and outages', () => {
  it('retries throttled calls (HTTP 429 TooManyRequestsException) with backoff', async () => {
    aws().http.knobs.throttle.SubmitJob = 2;
    aws().http.knobs.throttle.DescribeJobs = 3;
    const e = ct.electron(add, { executor: executor() });
    const r = await ct.dispatchSync(ct.lattice(() => e(2, 2)))();
    expect(r.error).toBeNull();
    expect(r.result).toBe(4);
    expect(aws().http.calls.filter((c) => c.op === 'SubmitJob' && c.throttled).length).toBe(2);
  });

  it('a cancel during a service outage leaves the node CANCELLING with kill_unconfirmed; a retry kills it', async () => {
    const e = ct.electron(hang, { executor: executor() });
    const id = await ct.dispatch(ct.lattice(() => e(600_000)))();
    const job = await runningJob(id);
    aws().http.knobs.outage = true;
    const first = await ct.cancel(id);
    expect(first.confirmed).toBe(false);
    expect(first.tasks[0]).toMatchObject({ outcome: 'kill_unconfirmed', statusAfter: 'CANCELLING' });
    expect(first.tasks[0].detail).toMatch(/could not reach AWS Batch/);
    let r = await ct.getResult(id);
    expect(r.nodes[0]).toMatchObject({ status: 'CANCELLING', cancelOutcome: 'kill_unconfirmed' });
    expect(r.status).toBe('RUNNING');
    expect(processRunning(job.process!.pid!)).toBe(true);

    aws().http.knobs.outage = false;
    const retry = await ct.cancel(id);
    expect(retry.confirmed).toBe(true);
    expect(retry.tasks[0]).toMatchObject({ outcome: 'killed', statusBefore: 'CANCELLING', statusAfter: 'CANCELLED' });
    r = await ct.getResult(id, { wait: true });
    expect(r.status).toBe('CANCELLED');
    expect(r.nodes[0]).toMatchObject({ status: 'CANCELLED', cancelOutcome: 'killed' });
    expect(processRunning(job.process!.pid!)).toBe(false);
  });
});
