/**
 * Parameter sweeps on Slurm: a fan-out goes out as one job array, cancels
 * name array elements in one scancel, polling costs one scontrol per round
 * whatever the number of jobs, and an orphaned dispatch is cancelled with
 * one scancel. Every sbatch, scontrol and scancel the executor runs is
 * counted by wrapper scripts in `slurmBinDir`; the cluster is the real one.
 */
import { execFile, execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { promisify } from 'node:util';
import * as ct from '../../src';
import { SlurmExecutor, type SlurmExecutorOptions } from '../../src/executors/slurm';
import { slurmClusters } from '../../src/executors/slurm/slurm-cluster';
import { parseScontrolJobs } from '../../src/executors/slurm/scontrol';
import { closeSSHConnections } from '../../src/executors/ssh';
import { tempDir, usePrivateHome } from '../support/wait';
import { countingSlurmBin, describeWithDaemons, killMatching, processesMatching, scontrolJob, services, waitFor } from './support/services';

usePrivateHome();
// A failed test must not leave its jobs queued in front of the next test's.
afterEach(async () => {
  for (const d of ct.getDispatcher().listDispatches()) if (!['COMPLETED', 'FAILED', 'CANCELLED'].includes(d.status)) await ct.cancel(d.dispatchId).catch(() => undefined);
});
afterAll(async () => {
  await ct.shutdown();
  await closeSSHConnections();
});

const run = promisify(execFile);
const root = path.resolve(__dirname, '../..');

const markers = new Set<string>();
function marker(): string {
  const m = `${5000 + Math.floor(Math.random() * 900)}.${Math.floor(Math.random() * 1e5)}`;
  markers.add(m);
  return m;
}
afterAll(() => {
  for (const m of markers) killMatching(`sleep ${m}`);
});

/** A sweep task: starts `sleep MARKER` and runs until killed. */
async function sweepTask(i: number, m: string) {
  require('child_process').spawn('sleep', [m], { stdio: 'ignore' });
  await new Promise(() => setInterval(() => undefined, 1000));
  return i;
}

function slurmOptions(bin: string, extra: Partial<SlurmExecutorOptions> = {}): SlurmExecutorOptions {
  return {
    slurmConf: services().slurm.conf,
    slurmBinDir: bin,
    remoteWorkDir: `${services().ssh.root.workDir}/sweep`,
    nodePath: process.execPath,
    pollIntervalMs: 200,
    maxPollIntervalMs: 1000,
    cancelGraceMs: 1000,
    ...extra,
  };
}

/** States of every job and array element of the cluster, from one `scontrol show job -o`. */
function states(conf = services().slurm.conf): Map<string, string> {
  const out = execFileSync('scontrol', ['show', 'job', '-o'], { env: { ...process.env, SLURM_CONF: conf }, encoding: 'utf8' });
  return new Map([...parseScontrolJobs(out)].map(([id, info]) => [id, info.state]));
}

function handles(res: ct.Result): string[] {
  return res.nodes.map((n) => String((n.jobHandle as any)?.jobId ?? ''));
}

describeWithDaemons('Slurm sweeps', () => {
  it('submits a 500-task fan-out as one job array; cancelling 3 elements sends one scancel for just those, cancelling all stops the rest', async () => {
    const bin = countingSlurmBin(services().dir);
    const ex = new SlurmExecutor(slurmOptions(bin.dir, { arrayParallelism: 2 }));
    const m = marker();
    const task = ct.electron(sweepTask, { executor: ex });
    const id = await ct.dispatch(ct.lattice((n: number, mm: string) => Array.from({ length: n }, (_, i) => task(i, mm))))(500, m);

    const ids = await waitFor('every task to have its array element', async () => {
      const h = handles(await ct.getResult(id));
      return h.every(Boolean) ? h : undefined;
    }, 120000, 200);
    expect(bin.calls('sbatch')).toHaveLength(1);
    expect(bin.calls('sbatch')[0]).toMatch(/--array=0-499%2 /);
    // Each task is one element of the one array (elements in the order the tasks were submitted).
    const arrayId = ids[0].split('_')[0];
    expect(ids.every((j) => j.startsWith(`${arrayId}_`))).toBe(true);
    expect(ids.map((j) => Number(j.split('_')[1])).sort((a, b) => a - b)).toEqual(ids.map((_, i) => i));
    await waitFor('two elements to run', () => processesMatching(`sleep ${m}`).length === 2, 60000);

    // Three queued tasks (elements 0 and 1 run: arrayParallelism 2).
    const some = [7, 100, 499, 8, 9, 10].filter((n) => Number(ids[n].split('_')[1]) >= 2).slice(0, 3).sort((a, b) => a - b);
    const first = await ct.cancel(id, { taskIds: some });
    expect(first.confirmed).toBe(true);
    expect(first.tasks.map((t) => [t.nodeId, t.statusAfter])).toEqual(some.map((n) => [n, 'CANCELLED']));
    const elements = (call: string) => /^\d+_\[([\d,-]+)\]$/.exec(call)![1].split(',').flatMap((r) => {
      const [a, b = a] = r.split('-').map(Number);
      return Array.from({ length: b - a + 1 }, (_, k) => a + k);
    });
    expect(bin.calls('scancel')).toHaveLength(1);
    expect(bin.calls('scancel')[0].startsWith(`${arrayId}_[`)).toBe(true);
    expect(elements(bin.calls('scancel')[0])).toEqual(some.map((n) => Number(ids[n].split('_')[1])).sort((a, b) => a - b));
    // Slurm drops a cancelled element that never ran from its listing; one that ran stays CANCELLED.
    const now = states();
    for (const n of some) expect(['CANCELLED', undefined]).toContain(now.get(ids[n]));
    expect(ids.filter((j) => now.get(j) === 'PENDING' || now.get(j) === 'RUNNING')).toHaveLength(497);
    expect(processesMatching(`sleep ${m}`)).toHaveLength(2);
    const mid = await ct.getResult(id);
    expect(mid.nodes.filter((n) => n.status === 'CANCELLED').map((n) => n.id)).toEqual(some);

    const all = await ct.cancel(id);
    expect(all.confirmed).toBe(true);
    expect(bin.calls('scancel')).toHaveLength(2);
    expect(bin.calls('scancel')[1]).toBe(arrayId); // every element: the array itself
    const res = await ct.getResult(id, { wait: 60000 });
    expect(res.status).toBe('CANCELLED');
    expect(res.nodes.every((n) => n.status === 'CANCELLED')).toBe(true);
    expect(processesMatching(`sleep ${m}`)).toEqual([]);
    const after = states();
    expect(ids.filter((j) => after.get(j) !== 'CANCELLED' && after.get(j) !== undefined)).toEqual([]);
  });

  it('a failing element fails only its own task', async () => {
    const bin = countingSlurmBin(services().dir);
    const ex = new SlurmExecutor(slurmOptions(bin.dir));
    const maybe = ct.electron(function maybe(i: number) {
      if (i === 2) throw new RangeError(`task ${i} is bad`);
      if (i === 3) process.exit(7);
      return i * 10;
    }, { executor: ex });
    const res = await ct.dispatchSync(ct.lattice(() => [0, 1, 2, 3, 4].map((i) => maybe(i))))();
    expect(bin.calls('sbatch')).toHaveLength(1);
    expect(res.nodes.map((n) => n.status)).toEqual(['COMPLETED', 'COMPLETED', 'FAILED', 'FAILED', 'COMPLETED']);
    expect(res.nodes.map((n) => n.output)).toEqual([0, 10, undefined, undefined, 40]);
    expect(res.nodes[2].error).toContain('task 2 is bad');
    expect(res.nodes[3].error).toContain('exit code 7');
  });

  it('with array: false submits one job per task', async () => {
    const bin = countingSlurmBin(services().dir);
    const ex = new SlurmExecutor(slurmOptions(bin.dir, { array: false }));
    const twice = ct.electron((x: number) => 2 * x, { executor: ex });
    const res = await ct.dispatchSync(ct.lattice(() => [1, 2, 3].map((i) => twice(i))))();
    expect(res.result).toEqual([2, 4, 6]);
    expect(bin.calls('sbatch')).toHaveLength(3);
    expect(bin.calls('sbatch').some((c) => c.includes('--array'))).toBe(false);
  });

  it('splits a sweep larger than the cluster MaxArraySize (read from scontrol show config) into several arrays', async () => {
    const small = services().slurmClusters.find((c) => c.maxArraySize === 8)!;
    const bin = countingSlurmBin(services().dir);
    const ex = new SlurmExecutor(slurmOptions(bin.dir, { slurmConf: small.conf, pollIntervalMs: 150 }));
    const twice = ct.electron((x: number) => 2 * x, { executor: ex });
    const res = await ct.dispatchSync(ct.lattice(() => Array.from({ length: 20 }, (_, i) => twice(i))))();
    expect(res.result).toEqual(Array.from({ length: 20 }, (_, i) => 2 * i));
    expect(bin.calls('scontrol').filter((c) => c === 'show config')).toHaveLength(1);
    expect(bin.calls('sbatch').map((l) => /--array=(\S+)/.exec(l)?.[1] ?? 'single')).toEqual(['0-7', '0-7', '0-3']);
  });

  it('polls with one scontrol call per round with 50 jobs in flight', async () => {
    const bin = countingSlurmBin(services().dir);
    const ex = new SlurmExecutor(slurmOptions(bin.dir, { array: false, pollIntervalMs: 100, maxPollIntervalMs: 300 }));
    const m = marker();
    const task = ct.electron(sweepTask, { executor: ex });
    const id = await ct.dispatch(ct.lattice((mm: string) => Array.from({ length: 50 }, (_, i) => task(i, mm))))(m);
    await waitFor('50 jobs', async () => handles(await ct.getResult(id)).every(Boolean), 120000, 200);
    const cluster = slurmClusters().find((c) => c.key.includes(bin.dir))!;
    const polls0 = cluster.stats.scontrolCalls;
    const calls0 = bin.calls('scontrol').length;
    await new Promise((r) => setTimeout(r, 3000));
    const polls = cluster.stats.scontrolCalls - polls0;
    const calls = bin.calls('scontrol').slice(calls0);
    expect(polls).toBeGreaterThanOrEqual(3);
    expect(Math.abs(calls.length - polls)).toBeLessThanOrEqual(1); // a poll may straddle the window's edges
    expect(new Set(calls)).toEqual(new Set(['show job -o']));
    expect(bin.calls('sbatch')).toHaveLength(50);
    await ct.cancel(id);
    expect(bin.calls('scancel')).toHaveLength(1);
    expect(bin.calls('scancel')[0].split(' ')).toHaveLength(50);
  });

  it('cancels an orphaned 50-job dispatch with covalent-ts cancel and one scancel', async () => {
    const bin = countingSlurmBin(services().dir);
    const home = tempDir('ct-home-');
    const m = marker();
    const script = path.join(tempDir('ct-owner-'), 'owner.js');
    fs.writeFileSync(
      script,
      `const ct = require(${JSON.stringify(path.join(root, 'dist/src/index.js'))});
(async () => {
  const ex = new ct.SlurmExecutor(${JSON.stringify(slurmOptions(bin.dir, { array: false }))});
  const task = ct.electron(${sweepTask.toString()}, { executor: ex });
  const id = await ct.dispatch(ct.lattice((mm) => Array.from({ length: 50 }, (_, i) => task(i, mm))))(${JSON.stringify(m)});
  for (;;) {
    const r = await ct.getResult(id);
    if (r.nodes.every((n) => n.jobHandle)) { console.log(JSON.stringify({ id, jobs: r.nodes.map((n) => n.jobHandle.jobId) })); break; }
    await new Promise((r) => setTimeout(r, 50));
  }
  await new Promise(() => {});
})().catch((e) => { console.error(e); process.exit(1); });
`,
    );
    const owner = spawn(process.execPath, [script], { env: { ...process.env, CT_HOME: home }, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    owner.stdout!.on('data', (d) => (out += d));
    const { id, jobs } = await waitFor('50 submitted jobs', () => (out.includes('\n') ? JSON.parse(out.split('\n')[0]) : undefined), 120000, 50);
    owner.kill('SIGKILL');
    await new Promise((r) => owner.on('exit', r));
    const before = bin.calls('scancel').length;

    const { stdout } = await run(process.execPath, [path.join(root, 'dist/src/cli/main.js'), 'cancel', id, '--json'], { env: { ...process.env, CT_HOME: home }, timeout: 180000 });

    const report = JSON.parse(stdout);
    expect(report.confirmed).toBe(true);
    expect(report.tasks).toHaveLength(50);
    expect(report.tasks.every((t: any) => t.statusAfter === 'CANCELLED')).toBe(true);
    // 2 CPUs: at most two elements ran; every other one never left the queue and is not reported killed.
    const outcomes = report.tasks.map((t: any) => t.outcome);
    expect(outcomes.filter((o: string) => o === 'killed').length).toBeLessThanOrEqual(2);
    expect(outcomes.filter((o: string) => o === 'aborted_before_start').length).toBeGreaterThanOrEqual(48);
    const calls = bin.calls('scancel').slice(before);
    expect(calls).toHaveLength(1);
    expect(calls[0].split(' ').sort()).toEqual([...jobs].sort());
    for (const j of jobs) expect(scontrolJob(j)!.JobState).toBe('CANCELLED');
    expect(processesMatching(`sleep ${m}`)).toEqual([]);
  });
});
