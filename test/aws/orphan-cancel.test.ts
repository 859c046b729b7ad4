/**
 * Cancels from a terminal (`covalent-ts cancel`) of AWS dispatches whose
 * owner was SIGKILLed, and the rule that no credential reaches the store or
 * the outputs.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { promisify } from 'node:util';
import { processRunning, tempDir, waitFor } from '../support/wait';
import { batchOptions, braketOptions, useLocalAws } from './support/fixture';
import { TEST_SECRET } from './support/local-aws';

const run = promisify(execFile);
const root = path.resolve(__dirname, '../..');
const lib = path.join(root, 'dist/src/index.js');
const cli = path.join(root, 'dist/src/cli/main.js');
const aws = useLocalAws();

const HANG = 'async function hang() { await new Promise((r) => setTimeout(r, 600000)); }';

/** Owners still running when a test ends (it failed before killing its owner): one left alive keeps jest from exiting. */
const owners = new Set<ChildProcess>();
afterEach(() => {
  for (const o of owners) if (o.exitCode === null && o.signalCode === null) o.kill('SIGKILL');
  owners.clear();
});

/** A notebook-like owner process: dispatches one long task, prints the id, then waits to be killed. */
function startOwner(home: string, options: object, executorClass = 'AWSBatchExecutor', task = HANG) {
  const file = path.join(tempDir('ct-owner-'), 'owner.js');
  fs.writeFileSync(file, `
    const ct = require(${JSON.stringify(lib)});
    (async () => {
      const ex = new ct.${executorClass}(${JSON.stringify(options)});
      const hang = ct.electron(${task}, { executor: ex });
      const id = await ct.dispatch(ct.lattice(() => hang()))();
      console.log(id);
      setInterval(() => ct.getDispatcher().flush(), 50);
    })();
  `);
  const owner = spawn(process.execPath, [file], { env: { ...process.env, CT_HOME: home }, stdio: ['ignore', 'pipe', 'inherit'] });
  owners.add(owner);
  let out = '';
  owner.stdout!.on('data', (d) => (out += d));
  const id = waitFor('the dispatch id', () => /^[0-9a-f-]{36}$/.test(out.split('\n')[0]) && out.split('\n')[0]);
  return { owner, id };
}

/** Everything the store and its journals hold, as text (to see what reached the disk). */
const storeText = (home: string): string => {
  // A file listed a moment ago may be gone now (store.lock comes and goes while the CLI runs): read what is there.
  const read = (file: string, encoding: BufferEncoding): string => {
    try {
      return fs.statSync(file).isFile() ? fs.readFileSync(file, encoding) : '';
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return '';
      throw e;
    }
  };
  const store = fs.readdirSync(home).map((f) => read(path.join(home, f), 'latin1')).join('');
  const journals = fs.existsSync(path.join(home, 'journal'))
    ? fs.readdirSync(path.join(home, 'journal')).map((f) => read(path.join(home, 'journal', f), 'utf8')).join('')
    : '';
  return store + journals;
};

const jobIdIn = (home: string, dispatchId: string) => () => {
  const onDisk = storeText(home);
  for (const j of aws().batch.jobs.values()) if (j.environment.CT_PAYLOAD?.includes(dispatchId) && onDisk.includes(j.jobId)) return j;
  return undefined;
};

/** An owner that dispatched one Batch task, SIGKILLed once the job's container runs. */
async function orphanWithRunningJob() {
  const home = tempDir('ct-home-');
  const { owner, id: idP } = startOwner(home, batchOptions(aws()));
  const id = await idP;
  const job = await waitFor('the job to run, its handle on disk', async () => {
    const j = jobIdIn(home, id)();
    return j?.process ? j : undefined;
  }, 60_000);
  owner.kill('SIGKILL');
  await new Promise((r) => owner.on('exit', r));
  return { home, id: id as string, job };
}

async function cancelFromTerminal(home: string, id: string) {
  const r = await run(process.execPath, [cli, 'cancel', id, '--json'], { env: { ...process.env, CT_HOME: home } }).catch((e) => e);
  return { code: r.code ?? 0, report: JSON.parse(r.stdout) };
}

describe('an orphaned AWS Batch dispatch (owner SIGKILLed)', () => {
  it('is cancelled by `covalent-ts cancel`: a running job is terminated and reported killed', async () => {
    const { home, id, job } = await orphanWithRunningJob();
    expect(processRunning(job.process!.pid!)).toBe(true);

    const { code, report } = await cancelFromTerminal(home, id);
    expect(code).toBe(0);
    expect(report.tasks[0]).toMatchObject({ outcome: 'killed', statusAfter: 'CANCELLED' });
    expect(report.tasks[0].detail).toMatch(/TerminateJob; FAILED/);
    expect(job.status).toBe('FAILED');
    expect(processRunning(job.process!.pid!)).toBe(false);
  });

  it('with AWS unreachable: exit 3, the node stays CANCELLING (kill_unconfirmed); a retry kills it', async () => {
    const { home, id, job } = await orphanWithRunningJob();

    aws().http.knobs.outage = true;
    const first = await cancelFromTerminal(home, id).finally(() => (aws().http.knobs.outage = false));
    expect(first.code).toBe(3);
    expect(first.report.tasks[0]).toMatchObject({ outcome: 'kill_unconfirmed', statusAfter: 'CANCELLING' });
    const { stdout } = await run(process.execPath, ['-e', `
      const ct = require(${JSON.stringify(lib)});
      ct.getResult(${JSON.stringify(id)}).then((r) => { console.log(JSON.stringify(r.nodes[0])); return ct.shutdown(); });
    `], { env: { ...process.env, CT_HOME: home } });
    expect(JSON.parse(stdout)).toMatchObject({ status: 'CANCELLING', cancelOutcome: 'kill_unconfirmed' });
    expect(processRunning(job.process!.pid!)).toBe(true);

    const retry = await cancelFromTerminal(home, id);
    expect(retry.code).toBe(0);
    expect(retry.report.tasks[0]).toMatchObject({ outcome: 'killed', statusBefore: 'CANCELLING', statusAfter: 'CANCELLED' });
    expect(processRunning(job.process!.pid!)).toBe(false);
  });

  it('a job still queued is stopped before it started (aborted_before_start, with the executor\'s detail)', async () => {
    aws().batch.knobs.timings.RUNNABLE = Infinity;
    try {
      const home = tempDir('ct-home-');
      const { owner, id: idP } = startOwner(home, batchOptions(aws()));
      const id = await idP;
      const job = await waitFor('the job to queue, its handle on disk', async () => {
        const j = jobIdIn(home, id)();
        return j?.status === 'RUNNABLE' ? j : undefined;
      }, 60_000);
      // Let the owner write the QUEUED status, then kill it.
      await new Promise((r) => setTimeout(r, 300));
      owner.kill('SIGKILL');
      await new Promise((r) => owner.on('exit', r));
      const { code, report } = await cancelFromTerminal(home, id);
      expect(code).toBe(0);
      expect(report.tasks[0]).toMatchObject({ outcome: 'aborted_before_start', statusBefore: 'QUEUED', statusAfter: 'CANCELLED' });
      expect(report.tasks[0].detail).toBe('job was RUNNABLE; CancelJob; FAILED');
      expect(job.status).toBe('FAILED');
    } finally {
      aws().batch.knobs.timings.RUNNABLE = 40;
      aws().batch.release();
    }
  });
});

describe('an orphaned Braket dispatch (owner SIGKILLed)', () => {
  it('is cancelled by `covalent-ts cancel` through CancelQuantumTask', async () => {
    aws().braket.knobs.taskTimings.RUNNING = Infinity;
    try {
      const home = tempDir('ct-home-');
      const bell = "function bell() { return 'OPENQASM 3.0; qubit[2] q; h q[0]; cnot q[0], q[1];'; }";
      const { owner, id: idP } = startOwner(home, braketOptions(aws()), 'BraketExecutor', bell);
      const id = (await idP) as string;
      const task = await waitFor('the quantum task to run, its handle on disk', () => {
        const onDisk = storeText(home);
        return [...aws().braket.tasks.values()].find((t) => t.outputS3Directory.includes(id) && t.status === 'RUNNING' && onDisk.includes(t.arn));
      }, 60_000);
      owner.kill('SIGKILL');
      await new Promise((r) => owner.on('exit', r));
      const { code, report } = await cancelFromTerminal(home, id);
      expect(code).toBe(0);
      expect(report.tasks[0]).toMatchObject({ outcome: 'killed', statusAfter: 'CANCELLED' });
      expect(report.tasks[0].detail).toBe('quantum-task was RUNNING; CancelQuantumTask; CANCELLING; CANCELLED');
      expect(task.status).toBe('CANCELLED');
    } finally {
      aws().braket.knobs.taskTimings.RUNNING = 40;
      aws().braket.release();
    }
  });
});

describe('credentials', () => {
  it('never reach the store, the job definition overrides, or the outputs', async () => {
    const home = tempDir('ct-home-');
    const { stdout, stderr } = await run(process.execPath, ['-e', `
      const ct = require(${JSON.stringify(lib)});
      (async () => {
        const ex = new ct.AWSBatchExecutor(${JSON.stringify(batchOptions(aws()))});
        const env = ct.electron(function env() { console.log('in the job'); return Object.keys(process.env).filter((k) => k.startsWith('AWS_')).sort(); }, { executor: ex });
        const r = await ct.dispatchSync(ct.lattice(() => env()))();
        console.log(JSON.stringify(r));
        await ct.shutdown();
      })();
    `], { env: { ...process.env, CT_HOME: home } });
    const r = JSON.parse(stdout);
    expect(r.status).toBe('COMPLETED');
    // The job got its credentials the way a container does (its role), not from us.
    expect(r.nodes[0].output).toEqual(expect.arrayContaining(['AWS_ACCESS_KEY_ID', 'AWS_REGION', 'AWS_SECRET_ACCESS_KEY']));
    const everything = (dir: string): string =>
      fs.readdirSync(dir, { withFileTypes: true }).map((e) => {
        const p = path.join(dir, e.name);
        return e.isDirectory() ? everything(p) : fs.readFileSync(p, 'latin1');
      }).join('\n');
    expect(everything(home)).not.toContain(TEST_SECRET);
    expect(stdout + stderr).not.toContain(TEST_SECRET);
    for (const j of aws().batch.jobs.values()) {
      expect(JSON.stringify(j.environment)).not.toContain(TEST_SECRET);
      expect(JSON.stringify(j.command)).not.toContain(TEST_SECRET);
    }
    expect(aws().http.calls.every((c) => c.accessKeyId === 'S3RVER')).toBe(true);
  });
});
