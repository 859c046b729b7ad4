import * as fs from 'node:fs';
import * as path from 'node:path';
import { BraketClient, CancelQuantumTaskCommand } from '@aws-sdk/client-braket';
import * as ct from '../../src';
import { processRunning, usePrivateHome, waitFor } from '../support/wait';
import { BELL, HYBRID, SV1, braketOptions, useLocalAws } from './support/fixture';
import { TEST_REGION } from './support/local-aws';

const home = usePrivateHome();
const aws = useLocalAws();
afterAll(() => ct.shutdown());
afterEach(() => {
  Object.assign(aws().braket.knobs.taskTimings, { CREATED: 20, QUEUED: 40, RUNNING: 40, CANCELLING: 40 });
  Object.assign(aws().braket.knobs.jobTimings, { QUEUED: 50, CANCELLING: 20 });
  aws().http.knobs.outage = false;
  aws().http.knobs.throttle = {};
  aws().http.knobs.delayMs = {};
  for (const k of Object.keys(aws().s3Proxy.delayMs)) delete aws().s3Proxy.delayMs[k];
  aws().s3Proxy.removeAllListeners();
  aws().braket.release();
});

/** A self-contained electron (it runs where its executor runs): the Bell circuit of the fixture. */
const bell = function bell() {
  return 'OPENQASM 3.0;\nqubit[2] q;\nbit[2] c;\nh q[0];\ncnot q[0], q[1];\nc = measure q;';
};
const executor = (extra = {}) => new ct.BraketExecutor(braketOptions(aws(), extra));
const node0 = async (id: string) => (await ct.getResult(id)).nodes[0];
const taskOf = async (id: string) => {
  const h = (await node0(id)).jobHandle as any;
  return h ? aws().braket.tasks.get(h.arn) : undefined;
};
const hybridOf = async (id: string) => {
  const h = (await node0(id)).jobHandle as any;
  return h ? aws().braket.jobs.get(h.arn) : undefined;
};

function expectBellCounts(r: ct.QuantumTaskResult, shots: number) {
  expect(Object.keys(r.counts).sort()).toEqual(['00', '11']);
  expect(r.counts['00'] + r.counts['11']).toBe(shots);
  // Binomial(shots, 1/2): well within 6 standard deviations.
  const sd = Math.sqrt(shots / 4);
  expect(Math.abs(r.counts['00'] - shots / 2)).toBeLessThan(6 * sd);
  expect(r.measuredQubits).toEqual([0, 1]);
}

describe('BraketExecutor on the local state-vector simulator', () => {
  const local = (extra = {}) => new ct.BraketExecutor({ region: TEST_REGION, deviceArn: 'local:state_vector', shots: 2000, s3Bucket: 'unused-bucket', ...extra });

  it('returns the counts of a Bell circuit: only 00 and 11, about half each', async () => {
    const e = ct.electron(bell, { executor: local() });
    const r = await ct.dispatchSync(ct.lattice(() => e()))();
    expect(r.error).toBeNull();
    const out = r.result as ct.QuantumTaskResult;
    expectBellCounts(out, 2000);
    expect(out.raw.braketSchemaHeader.name).toBe('braket.task_result.gate_model_task_result');
    expect(out.deviceArn).toBe('local:state_vector');
  });

  it('runs rotations, inputs and the other gates of the subset', async () => {
    const prog = ct.electron(function prog(theta: number) {
      return {
        // q[2] goes through every other gate; the two swaps cancel out, so q[0] and q[1] are always 1.
        program: `OPENQASM 3.0; input float theta; qubit[3] q; bit[3] c;
          x q[0]; rx(theta) q[1]; h q[2]; s q[2]; z q[2]; t q[2]; y q[2]; cz q[0], q[2]; swap q[1], q[2]; swap q[1], q[2];
          c[0] = measure q[0]; c[1] = measure q[1];`,
        shots: 50,
        inputs: { theta },
      };
    }, { executor: local() });
    const r = await ct.dispatchSync(ct.lattice((t: number) => prog(t)))(Math.PI);
    expect(r.error).toBeNull();
    expect((r.result as ct.QuantumTaskResult).counts).toEqual({ '11': 50 });
  });

  it('fails clearly on a program outside the subset, naming the line', async () => {
    const e = ct.electron(() => 'OPENQASM 3.0;\nqubit[1] q;\nccx q[0];', { executor: local() });
    const r = await ct.dispatchSync(ct.lattice(() => e()))();
    expect(r.status).toBe('FAILED');
    expect(r.nodes[0].error).toMatch(/OpenQASM line 3: the gate "ccx" is not supported/);
  });

  it('cancel kills the simulator worker process', async () => {
    const gates = Array.from({ length: 3000 }, (_, i) => `h q[${i % 20}];`).join(' ');
    const e = ct.electron(new Function(`return function big() { return 'OPENQASM 3.0; qubit[20] q; ${gates}'; }`)(), { executor: local({ shots: 10 }) });
    const id = await ct.dispatch(ct.lattice(() => e()))();
    const pid = await waitFor('the worker', async () => ((await node0(id)).jobHandle as any)?.pid as number | undefined);
    expect(processRunning(pid)).toBe(true);
    const report = await ct.cancel(id);
    expect(report.tasks[0]).toMatchObject({ outcome: 'killed', statusAfter: 'CANCELLED' });
    expect(report.tasks[0].detail).toMatch(/SIGKILL to the local simulator/);
    expect(processRunning(pid)).toBe(false);
  });

  it('rejects bad options at construction (malformed ARN, shots out of range, missing bucket, hybrid without a role)', () => {
    const cases: Array<[object, RegExp]> = [
      [{ deviceArn: 'arn:aws:braket:::device/sv1' }, /"deviceArn" .* is not a Braket device ARN/],
      [{ shots: 100_001 }, /"shots" must be an integer from 0 to 100000/],
      [{ shots: -1 }, /"shots"/],
      [{ s3Bucket: undefined }, /"s3Bucket" is required/],
      [{ ...HYBRID, roleArn: undefined }, /"roleArn" is required/],
      [{ ...HYBRID, roleArn: 'admin' }, /"roleArn" "admin" is not valid/],
      [{ mode: 'annealing' }, /"mode" must be "quantum-task" or "hybrid-job"/],
    ];
    for (const [o, msg] of cases) {
      expect(() => executor(o)).toThrow(ct.InvalidInputError);
      expect(() => executor(o)).toThrow(msg);
    }
  });
});

describe('BraketExecutor quantum tasks', () => {
  it('before anything is created: nothing reaches Braket', async () => {
    aws().http.resetCalls();
    const e = ct.electron(bell, { executor: executor() });
    const id = await ct.dispatch(ct.lattice(() => e()))();
    const report = await ct.cancel(id);
    expect(report.tasks[0]).toMatchObject({ outcome: 'aborted_before_start', statusAfter: 'CANCELLED' });
    await ct.getResult(id, { wait: true });
    expect(aws().http.count()).toBe(0);
  });

  it('creates a quantum task with the OpenQASM action, reads results.json from S3, returns counts', async () => {
    const e = ct.electron(bell, { executor: executor({ shots: 400, deviceParameters: { note: 'x' } }) });
    const r = await ct.dispatchSync(ct.lattice(() => e()))();
    expect(r.error).toBeNull();
    expectBellCounts(r.result as ct.QuantumTaskResult, 400);
    const t = (await taskOf(r.dispatchId))!;
    expect(t.deviceArn).toBe(SV1);
    expect(t.action).toEqual({ braketSchemaHeader: { name: 'braket.ir.openqasm.program', version: '1' }, source: BELL, inputs: {} });
    expect(aws().s3Keys()).toContain(`${t.outputS3Directory}/results.json`);
    expect((r.result as ct.QuantumTaskResult).taskArn).toBe(t.arn);
  });

  it('while QUEUED: CancelQuantumTask, CANCELLING then CANCELLED; aborted before start', async () => {
    aws().braket.knobs.taskTimings.QUEUED = Infinity;
    const e = ct.electron(bell, { executor: executor() });
    const id = await ct.dispatch(ct.lattice(() => e()))();
    await waitFor('QUEUED', async () => (await node0(id)).status === 'QUEUED' && (await taskOf(id))?.status === 'QUEUED');
    const report = await ct.cancel(id);
    expect(report.confirmed).toBe(true);
    expect(report.tasks[0]).toMatchObject({ outcome: 'aborted_before_start', statusBefore: 'QUEUED', statusAfter: 'CANCELLED' });
    expect(report.tasks[0].detail).toBe('quantum-task was QUEUED; CancelQuantumTask; CANCELLING; CANCELLED');
    expect((await taskOf(id))!.status).toBe('CANCELLED');
  });

  it('while RUNNING: killed; a second cancel call is idempotent (same client token)', async () => {
    aws().braket.knobs.taskTimings.RUNNING = Infinity;
    const e = ct.electron(bell, { executor: executor() });
    const id = await ct.dispatch(ct.lattice(() => e()))();
    await waitFor('RUNNING', async () => (await node0(id)).status === 'RUNNING' && (await taskOf(id))?.status === 'RUNNING');
    const report = await ct.cancel(id);
    expect(report.tasks[0]).toMatchObject({ outcome: 'killed', statusAfter: 'CANCELLED' });
    const t = (await taskOf(id))!;
    expect(t.cancelTokens.size).toBe(1);
  });

  it('racing the create: the new task is cancelled as soon as its ARN exists', async () => {
    aws().http.knobs.delayMs.CreateQuantumTask = 400;
    aws().http.resetCalls();
    const e = ct.electron(bell, { executor: executor() });
    const id = await ct.dispatch(ct.lattice(() => e()))();
    await waitFor('CreateQuantumTask to arrive', () => aws().http.count('CreateQuantumTask') === 1);
    const report = await ct.cancel(id);
    expect(report.tasks[0]).toMatchObject({ statusAfter: 'CANCELLED' });
    expect(['aborted_before_start', 'killed']).toContain(report.tasks[0].outcome);
    expect((await taskOf(id))!.status).toBe('CANCELLED');
  });

  it('a task that completed before the cancel landed is reported already_finished, with its counts', async () => {
    const e = ct.electron(bell, { executor: executor({ pollIntervalMs: 3000, maxPollIntervalMs: 3000 }) });
    const id = await ct.dispatch(ct.lattice(() => e()))();
    await waitFor('the task to complete on Braket', async () => (await taskOf(id))?.status === 'COMPLETED');
    const report = await ct.cancel(id);
    expect(report.tasks[0]).toMatchObject({ outcome: 'already_finished', statusAfter: 'COMPLETED' });
    const r = await ct.getResult(id, { wait: true });
    expect(r.nodes[0]).toMatchObject({ status: 'COMPLETED', cancelOutcome: 'already_finished' });
    expectBellCounts(r.nodes[0].output as ct.QuantumTaskResult, 100);
  });

  it('a task cancelled outside covalent-ts ends CANCELLED', async () => {
    aws().braket.knobs.taskTimings.QUEUED = Infinity;
    const e = ct.electron(bell, { executor: executor() });
    const id = await ct.dispatch(ct.lattice(() => e()))();
    const t = await waitFor('QUEUED', async () => ((await taskOf(id))?.status === 'QUEUED' ? taskOf(id) : undefined));
    const client = new BraketClient({ region: TEST_REGION, endpoint: aws().endpoint });
    await client.send(new CancelQuantumTaskCommand({ quantumTaskArn: t!.arn, clientToken: 'console' }));
    client.destroy();
    const r = await ct.getResult(id, { wait: true });
    expect(r.nodes[0].status).toBe('CANCELLED');
    expect(r.nodes[0].cancelDetail).toMatch(/cancelled outside covalent-ts/);
  });

  it('retries throttled calls (HTTP 429 ThrottlingException)', async () => {
    aws().http.knobs.throttle.CreateQuantumTask = 2;
    aws().http.knobs.throttle.GetQuantumTask = 2;
    const e = ct.electron(bell, { executor: executor() });
    const r = await ct.dispatchSync(ct.lattice(() => e()))();
    expect(r.error).toBeNull();
    expect(aws().http.calls.filter((c) => c.op === 'CreateQuantumTask' && c.throttled).length).toBe(2);
  });

  it('a cancel of a QUEUED task retries throttled GetQuantumTask and CancelQuantumTask (429) and still ends aborted before start', async () => {
    aws().braket.knobs.taskTimings.QUEUED = Infinity;
    const e = ct.electron(bell, { executor: executor() });
    const id = await ct.dispatch(ct.lattice(() => e()))();
    await waitFor('QUEUED', async () => (await node0(id)).status === 'QUEUED' && (await taskOf(id))?.status === 'QUEUED');
    aws().http.resetCalls();
    aws().http.knobs.throttle.GetQuantumTask = 3;
    aws().http.knobs.throttle.CancelQuantumTask = 3;
    const report = await ct.cancel(id);
    expect(report.confirmed).toBe(true);
    expect(report.tasks[0]).toMatchObject({ outcome: 'aborted_before_start', statusAfter: 'CANCELLED' });
    const cancels = aws().http.calls.filter((c) => c.op === 'CancelQuantumTask');
    expect(cancels.filter((c) => c.throttled).length).toBe(3);
    expect(cancels.filter((c) => !c.throttled).length).toBeGreaterThanOrEqual(1);
    expect(aws().http.calls.filter((c) => c.op === 'GetQuantumTask' && c.throttled).length).toBe(3);
    expect((await taskOf(id))!.status).toBe('CANCELLED');
    expect((await ct.getResult(id, { wait: true })).nodes[0].status).toBe('CANCELLED');
  });

  it('a cancel of a RUNNING task under throttling (429 on every call for a while) backs off and ends killed', async () => {
    aws().braket.knobs.taskTimings.RUNNING = Infinity;
    const e = ct.electron(bell, { executor: executor() });
    const id = await ct.dispatch(ct.lattice(() => e()))();
    await waitFor('RUNNING', async () => (await node0(id)).status === 'RUNNING' && (await taskOf(id))?.status === 'RUNNING');
    aws().http.resetCalls();
    aws().http.knobs.throttle['*'] = 5;
    const report = await ct.cancel(id);
    expect(report.tasks[0]).toMatchObject({ outcome: 'killed', statusAfter: 'CANCELLED' });
    const throttled = aws().http.calls.filter((c) => c.throttled);
    expect(throttled.length).toBe(5);
    // Backoff, not a tight loop: the throttled attempts are spread out in time.
    expect(throttled[throttled.length - 1].at - throttled[0].at).toBeGreaterThan(0);
    expect((await taskOf(id))!.status).toBe('CANCELLED');
    expect((await ct.getResult(id, { wait: true })).nodes[0].status).toBe('CANCELLED');
  });

  it('a cancel during an outage leaves the node CANCELLING (kill_unconfirmed); a retry cancels it', async () => {
    aws().braket.knobs.taskTimings.RUNNING = Infinity;
    const e = ct.electron(bell, { executor: executor() });
    const id = await ct.dispatch(ct.lattice(() => e()))();
    await waitFor('RUNNING', async () => (await taskOf(id))?.status === 'RUNNING' && (await node0(id)).status === 'RUNNING');
    aws().http.knobs.outage = true;
    const first = await ct.cancel(id);
    expect(first.tasks[0]).toMatchObject({ outcome: 'kill_unconfirmed', statusAfter: 'CANCELLING' });
    expect((await node0(id)).status).toBe('CANCELLING');
    expect((await taskOf(id))!.status).toBe('RUNNING');
    aws().http.knobs.outage = false;
    const retry = await ct.cancel(id);
    expect(retry.tasks[0]).toMatchObject({ outcome: 'killed', statusAfter: 'CANCELLED' });
    expect((await taskOf(id))!.status).toBe('CANCELLED');
  });
});

describe('BraketExecutor hybrid jobs', () => {
  it('after upload, before CreateJob: no job is created and the payload is removed', async () => {
    aws().s3Proxy.delayMs.PUT = 400;
    aws().http.resetCalls();
    const e = ct.electron(() => 1, { executor: executor(HYBRID) });
    let id = '';
    const cancelled = new Promise<ct.CancelReport>((resolve) =>
      aws().s3Proxy.on('request', (r) => {
        if (r.method === 'PUT' && r.path.includes('payload.bin')) resolve(ct.cancel(id));
      }),
    );
    id = await ct.dispatch(ct.lattice(() => e()))();
    const report = await cancelled;
    expect(report.tasks[0]).toMatchObject({ outcome: 'aborted_before_start', statusAfter: 'CANCELLED' });
    expect(aws().http.count('CreateJob')).toBe(0);
    await waitFor('the payload to be removed', () => aws().s3Keys().filter((k) => k.includes(id)).length === 0);
  });

  it('runs the electron inside the job container through covalent-ts run-task', async () => {
    const classical = ct.electron(function classical(n: number) {
      console.log('in the hybrid job');
      return { n, squared: n * n };
    }, { executor: executor(HYBRID) });
    const r = await ct.dispatchSync(ct.lattice((n: number) => classical(n)))(7);
    expect(r.error).toBeNull();
    expect(r.result).toEqual({ n: 7, squared: 49 });
    const j = (await hybridOf(r.dispatchId))!;
    expect(j.body.algorithmSpecification.containerImage.uri).toBe(HYBRID.jobImage);
    expect(j.body.hyperParameters.ct_payload).toMatch(/^s3:\/\/ct-test-bucket\/braket\/.*\/payload\.bin$/);
  });

  it('cancel uses the jobs API (CancelJob), never the quantum-task API; the container is stopped', async () => {
    const hang = ct.electron(async function hang() {
      await new Promise((r) => setTimeout(r, 600_000));
    }, { executor: executor(HYBRID) });
    const id = await ct.dispatch(ct.lattice(() => hang()))();
    const j = await waitFor('the job container', async () => {
      const job = await hybridOf(id);
      return job?.process && (await node0(id)).status === 'RUNNING' ? job : undefined;
    });
    aws().http.resetCalls();
    const report = await ct.cancel(id);
    expect(report.tasks[0]).toMatchObject({ outcome: 'killed', statusAfter: 'CANCELLED' });
    expect(report.tasks[0].detail).toBe('hybrid-job was RUNNING; CancelJob; CANCELLING; CANCELLED');
    expect(aws().http.count('CancelJobBraket')).toBe(1);
    expect(aws().http.count('CancelQuantumTask')).toBe(0);
    expect(j.status).toBe('CANCELLED');
    expect(processRunning(j.process!.pid!)).toBe(false);
  });

  it('a queued hybrid job cancelled is aborted before start', async () => {
    aws().braket.knobs.jobTimings.QUEUED = Infinity;
    const e = ct.electron(() => 1, { executor: executor(HYBRID) });
    const id = await ct.dispatch(ct.lattice(() => e()))();
    await waitFor('QUEUED', async () => (await node0(id)).status === 'QUEUED');
    const report = await ct.cancel(id);
    expect(report.tasks[0]).toMatchObject({ outcome: 'aborted_before_start', statusAfter: 'CANCELLED' });
    expect((await hybridOf(id))!.status).toBe('CANCELLED');
  });
});

describe('BraketExecutor credentials', () => {
  const FAKE = {
    AWS_ACCESS_KEY_ID: 'S3RVER',
    AWS_SECRET_ACCESS_KEY: 'ct-braket-secret-Hq7Lm2Vx9Rk4Pz8W',
    AWS_SESSION_TOKEN: 'ct-braket-session-Fj3Nd8Ys5Tb1Qc6X',
  };
  const saved: Record<string, string | undefined> = {};
  beforeAll(() => {
    for (const [k, v] of Object.entries(FAKE)) {
      saved[k] = process.env[k];
      process.env[k] = v;
    }
  });
  afterAll(() => {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  });
  const files = (dir: string): string[] =>
    fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
      const p = path.join(dir, e.name);
      return e.isDirectory() ? files(p) : e.isFile() ? [p] : [];
    });

  it('run and cancel quantum tasks and a hybrid job: the secret and session token are nowhere in CT_HOME or the results/reports', async () => {
    aws().http.resetCalls();
    const outputs: unknown[] = [];
    const e = ct.electron(bell, { executor: executor() });
    const done = await ct.dispatchSync(ct.lattice(() => e()))();
    expect(done.error).toBeNull();
    outputs.push(done);

    aws().braket.knobs.taskTimings.RUNNING = Infinity;
    const running = await ct.dispatch(ct.lattice(() => e()))();
    await waitFor('RUNNING', async () => (await node0(running)).status === 'RUNNING' && (await taskOf(running))?.status === 'RUNNING');
    outputs.push(await ct.cancel(running), await ct.getResult(running, { wait: true }));

    const hybrid = ct.electron(function env() {
      return Object.keys(process.env).filter((k) => k.startsWith('AWS_')).sort();
    }, { executor: executor(HYBRID) });
    const hr = await ct.dispatchSync(ct.lattice(() => hybrid()))();
    expect(hr.error).toBeNull();
    outputs.push(hr);

    aws().braket.knobs.jobTimings.QUEUED = Infinity;
    const queued = await ct.dispatch(ct.lattice(() => hybrid()))();
    await waitFor('QUEUED', async () => (await node0(queued)).status === 'QUEUED');
    const report = await ct.cancel(queued);
    expect(report.tasks[0]).toMatchObject({ outcome: 'aborted_before_start', statusAfter: 'CANCELLED' });
    outputs.push(report, await ct.getResult(queued, { wait: true }));

    // The calls were signed with the dispatching process's keys (so they were in use).
    expect(aws().http.calls.length).toBeGreaterThan(0);
    expect(aws().http.calls.every((c) => c.accessKeyId === FAKE.AWS_ACCESS_KEY_ID)).toBe(true);

    const needles = [FAKE.AWS_SECRET_ACCESS_KEY, FAKE.AWS_SESSION_TOKEN].flatMap((v) => [
      v, Buffer.from(v).toString('base64'), Buffer.from(v).toString('base64url'), Buffer.from(v).toString('hex'),
    ]);
    const stored = files(home);
    expect(stored.length).toBeGreaterThan(0);
    const haystacks: [string, string][] = [
      ...stored.map((f): [string, string] => [f, fs.readFileSync(f, 'latin1')]),
      ['results/reports', JSON.stringify(outputs)],
      ['jobs on Braket', JSON.stringify([...aws().braket.jobs.values()].map((j) => j.body))],
      ['quantum tasks on Braket', JSON.stringify([...aws().braket.tasks.values()].map((t) => ({ action: t.action, deviceArn: t.deviceArn })))],
    ];
    for (const [where, text] of haystacks) for (const n of needles) expect([where, text.includes(n)]).toEqual([where, false]);
  });
});
