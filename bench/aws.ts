/**
 * AWS executor benchmarks against the local AWS of the tests
 * (test/aws/support: s3rver and a stateful Batch/Braket service speaking the
 * real REST protocols; the real SDK clients talk HTTP to them):
 *
 * - cancel request -> CANCELLED (median, p99) per executor and state;
 * - 500 queued Batch tasks cancelled at once: API calls, time until all CANCELLED;
 * - a 1,000-task fan-out submitted as one array job vs as single jobs: calls, time until all are queued.
 *
 * The local service answers in well under a millisecond, so the figures are
 * covalent-ts's own overhead plus the polls it needs; AWS adds its latency.
 */
import * as ct from '../src';
import { LocalAws, TEST_BUCKET, TEST_REGION, useTestCredentials } from '../test/aws/support/local-aws';
import { stats, type BenchRow } from './bench-util';

const TRIALS = 20;
const BUDGET_MS = 20_000;

async function until(check: () => Promise<boolean> | boolean, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 5));
  }
}

export async function runAwsBenchmarks(): Promise<BenchRow[]> {
  useTestCredentials();
  process.env.CT_HOME = require('node:fs').mkdtempSync(require('node:path').join(require('node:os').tmpdir(), 'ct-bench-aws-'));
  const aws = await new LocalAws().start();
  const rows: BenchRow[] = [];
  const batchOpts = (extra = {}) => ({
    region: TEST_REGION, jobQueue: 'ct-queue', jobDefinition: 'covalent-ts:1', s3Bucket: TEST_BUCKET, s3Prefix: 'bench',
    endpoints: { batch: aws.endpoint, s3: aws.s3Endpoint }, pollIntervalMs: 50, maxPollIntervalMs: 1000, ...extra,
  });
  const braketOpts = (extra = {}) => ({
    region: TEST_REGION, deviceArn: 'arn:aws:braket:::device/quantum-simulator/amazon/sv1', shots: 100, s3Bucket: TEST_BUCKET,
    s3Prefix: 'bench-braket', endpoints: { braket: aws.endpoint, s3: aws.s3Endpoint }, pollIntervalMs: 50, ...extra,
  });
  const hang = async function hang() {
    await new Promise((r) => setTimeout(r, 600_000));
  };
  const bell = function bell() {
    return 'OPENQASM 3.0; qubit[2] q; bit[2] c; h q[0]; cnot q[0], q[1]; c = measure q;';
  };
  const node0 = async (id: string) => (await ct.getResult(id)).nodes[0];

  /** Dispatch, wait for `ready`, then time ct.cancel until the node is CANCELLED. */
  async function cancelLatency(name: string, executor: ct.Executor<any, any>, fn: (...a: any[]) => unknown, ready: (id: string) => Promise<boolean>) {
    const samples: number[] = [];
    const started = Date.now();
    for (let i = 0; i < TRIALS && Date.now() - started < BUDGET_MS; i++) {
      const e = ct.electron(fn, { executor });
      const id = await ct.dispatch(ct.lattice(() => e()))();
      await until(() => ready(id));
      const t0 = performance.now();
      const report = await ct.cancel(id);
      samples.push(performance.now() - t0);
      if (report.tasks[0].statusAfter !== 'CANCELLED') throw new Error(`${name}: ended ${report.tasks[0].statusAfter}`);
    }
    const s = stats(samples);
    rows.push({ name: `${name}: cancel -> CANCELLED median (${samples.length} trials)`, value: s.median, unit: 'ms' });
    rows.push({ name: `${name}: cancel -> CANCELLED p99`, value: s.p99, unit: 'ms' });
  }

  try {
    // ---- cancel latency per executor and state ----
    const batch = new ct.AWSBatchExecutor(batchOpts());
    aws.batch.knobs.timings.RUNNABLE = Infinity;
    await cancelLatency('Batch, queued (RUNNABLE)', batch, hang, async (id) => (await node0(id)).status === 'QUEUED');
    aws.batch.knobs.timings.RUNNABLE = 0;
    aws.batch.knobs.timings.STARTING = 0;
    await cancelLatency('Batch, running', batch, hang, async (id) => (await node0(id)).status === 'RUNNING');
    Object.assign(aws.batch.knobs.timings, { RUNNABLE: 40, STARTING: 40 });

    const qt = new ct.BraketExecutor(braketOpts());
    aws.braket.knobs.taskTimings.QUEUED = Infinity;
    await cancelLatency('Braket quantum task, queued', qt, bell, async (id) => (await node0(id)).status === 'QUEUED');
    aws.braket.knobs.taskTimings.QUEUED = 0;
    aws.braket.knobs.taskTimings.RUNNING = Infinity;
    await cancelLatency('Braket quantum task, running', qt, bell, async (id) => (await node0(id)).status === 'RUNNING');
    Object.assign(aws.braket.knobs.taskTimings, { QUEUED: 40, RUNNING: 40 });

    const hybrid = new ct.BraketExecutor(braketOpts({
      mode: 'hybrid-job', jobImage: '123456789012.dkr.ecr.us-east-1.amazonaws.com/covalent-ts:1', roleArn: 'arn:aws:iam::123456789012:role/BraketJobRole',
    }));
    await cancelLatency('Braket hybrid job, running', hybrid, hang, async (id) => (await node0(id)).status === 'RUNNING');

    const local = new ct.BraketExecutor({ region: TEST_REGION, deviceArn: 'local:state_vector', shots: 10, s3Bucket: 'unused' });
    const big = new Function(`return function big() { return 'OPENQASM 3.0; qubit[20] q; ${Array.from({ length: 3000 }, (_, i) => `h q[${i % 20}];`).join(' ')}'; }`)();
    await cancelLatency('Braket local:state_vector, running', local, big, async (id) => (await node0(id)).jobHandle !== null);

    // ---- 500 queued Batch tasks cancelled at once (single jobs) ----
    aws.batch.knobs.timings.RUNNABLE = Infinity;
    {
      const e = ct.electron(hang, { executor: new ct.AWSBatchExecutor(batchOpts({ arrayJobs: false, pollIntervalMs: 500, maxPollIntervalMs: 5000 })) });
      const id = await ct.dispatch(ct.lattice((k: number) => Array.from({ length: k }, () => e())))(500);
      await until(async () => (await ct.getResult(id)).nodes.filter((n) => n.status === 'QUEUED').length === 500);
      aws.http.resetCalls();
      const t0 = performance.now();
      const report = await ct.cancel(id);
      const ms = performance.now() - t0;
      const unconfirmed = report.withOutcome('kill_unconfirmed');
      if (unconfirmed.length) process.stderr.write(`  unconfirmed: ${unconfirmed.length}, e.g. ${unconfirmed[0].detail}\n`);
      rows.push({ name: '500 queued Batch tasks cancelled at once: kills not confirmed', value: unconfirmed.length, unit: 'count', target: '0' });
      rows.push({ name: '500 queued Batch tasks cancelled at once: time until all CANCELLED', value: ms, unit: 'ms' });
      rows.push({ name: '500 queued Batch tasks cancelled at once: API calls (all kinds)', value: aws.http.count(), unit: 'calls' });
      rows.push({ name: '500 queued Batch tasks cancelled at once: CancelJobs calls', value: aws.http.count('CancelJobs'), unit: 'calls' });
    }

    // ---- 1,000-task fan-out: array job vs single jobs ----
    for (const arrayJobs of [true, false]) {
      const e = ct.electron(hang, { executor: new ct.AWSBatchExecutor(batchOpts({ arrayJobs, pollIntervalMs: 500, maxPollIntervalMs: 5000 })) });
      aws.http.resetCalls();
      const t0 = performance.now();
      const id = await ct.dispatch(ct.lattice((k: number) => Array.from({ length: k }, () => e())))(1000);
      await until(async () => (await ct.getResult(id)).nodes.filter((n) => n.status === 'QUEUED').length === 1000, 300_000);
      const ms = performance.now() - t0;
      const label = arrayJobs ? 'as one array job' : 'as 1,000 single jobs';
      rows.push({ name: `1,000-task fan-out ${label}: time until all queued`, value: ms, unit: 'ms' });
      rows.push({ name: `1,000-task fan-out ${label}: SubmitJob calls`, value: aws.http.count('SubmitJob'), unit: 'calls' });
      rows.push({ name: `1,000-task fan-out ${label}: Batch API calls (all kinds)`, value: aws.http.count(), unit: 'calls' });
      aws.http.resetCalls();
      const c0 = performance.now();
      await ct.cancel(id);
      rows.push({ name: `1,000-task fan-out ${label}: cancel all -> CANCELLED`, value: performance.now() - c0, unit: 'ms' });
      rows.push({ name: `1,000-task fan-out ${label}: cancel API calls (all kinds)`, value: aws.http.count(), unit: 'calls' });
    }
  } finally {
    await ct.shutdown();
    await aws.stop();
  }
  return rows;
}
