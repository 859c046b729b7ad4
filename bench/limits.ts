/**
 * Limits and redispatch (issue 15): how far past its time limit a task runs
 * before it is dead (local worker, Slurm job), and how long ct.redispatch
 * takes to plan a 10,000-node graph of which half is reusable.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import * as ct from '../src';
import { SlurmExecutor } from '../src/executors/slurm';
import { identityOfPid } from '../src/process/process-identity';
import { stats, type BenchRow } from './bench-util';
import { withExecutorServices } from './executors';

const LIMIT_MS = 500;

/** One limited task: ms from (RUNNING + its limit) until its process is gone. */
async function overshoot(executor: ct.ExecutorSpec, dir: string, limitMs: number, i: number): Promise<number> {
  const file = path.join(dir, `task-${i}.json`);
  const task = ct.electron(async function limited(f: string) {
    require('fs').writeFileSync(f, JSON.stringify({ pid: process.pid, at: Date.now() }));
    await new Promise(() => setInterval(() => undefined, 1000));
  }, { executor, timeLimit: limitMs });
  // The limit's clock starts when the node turns RUNNING (the last time, after any QUEUED).
  let runningAt = 0;
  let id = '';
  const onNode = (e: ct.DispatcherEventMap['node-changed']) => {
    if (e.dispatchId === id && e.node.status === 'RUNNING') runningAt = Date.now();
  };
  ct.getDispatcher().on('node-changed', onNode);
  id = await ct.dispatch(ct.lattice((f: string) => task(f), { name: 'overshoot' }))(file);
  let started: { pid: number; at: number } | undefined;
  while (!started) {
    try {
      started = JSON.parse(fs.readFileSync(file, 'utf8'));
    } catch {
      await new Promise((r) => setTimeout(r, 2));
    }
  }
  while (identityOfPid(started.pid)) await new Promise((r) => setImmediate(r));
  const dead = Date.now();
  ct.getDispatcher().off('node-changed', onNode);
  await ct.getResult(id, { wait: 60_000 });
  return dead - (runningAt + limitMs);
}

async function overshootRows(label: string, executor: ct.ExecutorSpec, limitMs: number, n: number): Promise<BenchRow[]> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ct-bench-limit-'));
  const samples: number[] = [];
  for (let i = 0; i < n; i++) samples.push(await overshoot(executor, dir, limitMs, i));
  const s = stats(samples);
  return [
    { name: `${label}: task alive past its ${limitMs} ms time limit, median of ${n}`, value: s.median, unit: 'ms' },
    { name: `${label}: task alive past its ${limitMs} ms time limit, p99 of ${n}`, value: s.p99, unit: 'ms' },
  ];
}

/**
 * ct.redispatch of a finished 10,000-task dispatch of which half must run
 * again: until the new id. In this process (new inputs for half of the
 * tasks), and from the store alone: in a fresh process that never defined
 * the workflow (the half whose electron is replaced runs again).
 */
async function redispatchPlanning(): Promise<BenchRow[]> {
  const N = 10_000;
  const f = ct.electron(function f(salt: number, i: number) {
    return salt + i;
  }, { executor: 'inline' });
  const g = ct.electron(function g(salt: number, i: number) {
    return salt + i;
  }, { executor: 'inline' });
  const wf = ct.lattice((n: number, salt: number) => Array.from({ length: n }, (_, i) => (i < n / 2 ? f(0, i) : g(salt, i))), { name: 'plan-10k' });
  const first = await ct.dispatchSync(wf)(N, 1);
  await ct.getDispatcher().flush();
  const rows: BenchRow[] = [];
  const samples: number[] = [];
  for (let k = 0; k < 5; k++) {
    const t0 = performance.now();
    const id = await ct.redispatch(first.dispatchId)(N, 2 + k);
    samples.push(performance.now() - t0);
    const r = await ct.getResult(id, { wait: true });
    if (r.nodes.filter((n) => n.reusedFrom).length !== N / 2) throw new Error('expected half of the tasks reused');
  }
  rows.push({ name: `redispatch planning, ${N}-node graph, half reusable (dispatch ran in this process), median of 5`, value: stats(samples).median, unit: 'ms' });
  // From the store, as after a kernel restart: a second dispatcher on the same store (the lattice defined here).
  const fresh = new ct.Dispatcher({ home: ct.getDispatcher().home });
  const o0 = performance.now();
  await fresh.getStore();
  const openMs = performance.now() - o0;
  const t0 = performance.now();
  await fresh.redispatch(first.dispatchId, undefined, [N, 99]);
  rows.push({ name: `redispatch planning, ${N}-node graph, half reusable (read from the store, lattice defined), store already open`, value: performance.now() - t0, unit: 'ms' });
  rows.push({ name: 'a second dispatcher in this process: opening the store first (store of this bench)', value: openMs, unit: 'ms' });
  await fresh.close();
  const alone: Array<{ openMs: number; ms: number }> = [];
  for (let k = 0; k < 3; k++) alone.push(await redispatchInFreshProcess(first.dispatchId, ct.getDispatcher().home, N));
  const what = `${N}-node graph, half reusable (store alone: fresh process, lattice never defined)`;
  rows.push({ name: `redispatch planning, ${what}, store already open, median of 3`, value: stats(alone.map((a) => a.ms)).median, unit: 'ms' });
  rows.push({ name: `redispatch from a fresh process: opening the store first (${alone.length} runs, store of this bench), median`, value: stats(alone.map((a) => a.openMs)).median, unit: 'ms' });
  return rows;
}

/** In a new node process: ms to open the store, then from `ct.redispatch(id, { replaceElectrons: { g } })()` to the new id (checked to reuse half). */
async function redispatchInFreshProcess(dispatchId: string, home: string, n: number): Promise<{ openMs: number; ms: number }> {
  const lib = path.join(__dirname, '../src/index.js');
  const script = `const ct = require(${JSON.stringify(lib)});
(async () => {
  const g = ct.electron(function g(salt, i) { return -i; }, { name: 'g', executor: 'inline' });
  const o0 = performance.now();
  await ct.getDispatcher().getStore();
  const openMs = performance.now() - o0;
  const t0 = performance.now();
  const id = await ct.redispatch(${JSON.stringify(dispatchId)}, { replaceElectrons: { g } })();
  const ms = performance.now() - t0;
  const r = await ct.getResult(id, { wait: true });
  const reused = r.nodes.filter((x) => x.reusedFrom).length;
  await ct.shutdown();
  process.stdout.write(JSON.stringify({ openMs, ms, reused, status: r.status }));
})().catch((e) => { console.error(e); process.exit(1); });`;
  const { stdout } = await promisify(execFile)(process.execPath, ['-e', script], { env: { ...process.env, CT_HOME: home }, maxBuffer: 1 << 20 });
  const out = JSON.parse(stdout) as { openMs: number; ms: number; reused: number; status: string };
  if (out.reused !== n / 2 || out.status !== 'COMPLETED') throw new Error(`expected half of the tasks reused from the store alone, got ${stdout}`);
  return { openMs: out.openMs, ms: out.ms };
}

export async function runLimitBenchmarks(): Promise<BenchRow[]> {
  process.env.CT_HOME ??= fs.mkdtempSync(path.join(os.tmpdir(), 'ct-bench-home-'));
  const rows: BenchRow[] = [];
  rows.push(...(await overshootRows('local', 'local', LIMIT_MS, 30)));
  rows.push(...(await redispatchPlanning()));
  if (process.env.CT_BENCH_LIMITS_SLURM !== '0') {
    await withExecutorServices(async (env) => {
      const slurm = new SlurmExecutor({
        slurmConf: env.slurm.conf, remoteWorkDir: path.join(env.ssh.root.workDir, 'slurm-limits-bench'), nodePath: process.execPath,
        pollIntervalMs: 100, maxPollIntervalMs: 500,
      });
      rows.push(...(await overshootRows('slurm', slurm, 2000, 10)));
    });
  }
  await ct.shutdown();
  return rows;
}

if (require.main === module) {
  runLimitBenchmarks().then(
    (rows) => {
      for (const r of rows) console.log(`${r.name}: ${r.value.toFixed(1)} ${r.unit}`);
      process.exit(0);
    },
    (e) => {
      console.error(e);
      process.exit(1);
    },
  );
}
