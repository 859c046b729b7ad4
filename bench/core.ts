/**
 * Core benchmarks (issue: core). Figures, not assertions: `npm run bench`.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fork, spawn } from 'node:child_process';
import * as ct from '../src';
import { liveGroupMembers } from '../src/executors/local/process-group';
import { type BenchRow, peakSampler, stats, treeRssMb } from './bench-util';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitRunning(id: string): Promise<number> {
  for (;;) {
    const n = (await ct.getResult(id)).nodes[0];
    const pid = (n.jobHandle as { pid?: number } | null)?.pid;
    if (n.status === 'RUNNING' && pid) return pid;
    await sleep(2);
  }
}

/** ct.cancel on a running local task until its process group is gone and CANCELLED is on disk. */
async function cancelLatency(trials: number): Promise<BenchRow[]> {
  const hang = ct.electron(async function hang() {
    await new Promise(() => undefined);
  });
  const wf = ct.lattice(() => hang());
  const samples: number[] = [];
  let unconfirmed = 0;
  for (let i = 0; i < trials; i++) {
    const id = await ct.dispatch(wf)();
    const pid = await waitRunning(id);
    const t0 = performance.now();
    const report = await ct.cancel(id); // resolves after the kill is confirmed and the final state is journalled (fsync)
    const elapsed = performance.now() - t0;
    if (!report.confirmed || liveGroupMembers(pid).length) unconfirmed++;
    samples.push(elapsed);
  }
  const s = stats(samples);
  return [
    { name: `cancel running local task: median (${trials} trials)`, value: s.median, unit: 'ms', target: '<= 20' },
    { name: `cancel running local task: p99 (${trials} trials)`, value: s.p99, unit: 'ms', target: '<= 100' },
    { name: 'cancel running local task: kills not confirmed', value: unconfirmed, unit: 'count', target: '0' },
  ];
}

async function fanOut(n: number, executor: string): Promise<{ rate: number; peakMb: number; fsyncsPerSec: number; tasksPerFsync: number }> {
  const triv = ct.electron(function triv(i: number) {
    return i * 2;
  }, { executor });
  const wf = ct.lattice((count: number) => {
    const outs = [];
    for (let i = 0; i < count; i++) outs.push(triv(i));
    return outs;
  });
  await ct.dispatchSync(wf)(200); // warm the workers (and let the pool learn these tasks are quick)
  const journal = (await ct.getDispatcher().getStore()).journal;
  const sampler = peakSampler(() => treeRssMb(), 25);
  const fsyncs0 = journal.fsyncs;
  const t0 = performance.now();
  const res = await ct.dispatchSync(wf)(n);
  const elapsed = (performance.now() - t0) / 1000;
  const fsyncs = journal.fsyncs - fsyncs0;
  const peakMb = sampler.stop();
  if (res.status !== 'COMPLETED') throw new Error(`fan-out ended ${res.status}`);
  return { rate: n / elapsed, peakMb, fsyncsPerSec: fsyncs / elapsed, tasksPerFsync: n / Math.max(1, fsyncs) };
}

async function chain(n: number): Promise<number> {
  const inc = ct.electron(function inc(x: number) {
    return x + 1;
  });
  const wf = ct.lattice((len: number) => {
    let v: number = 0;
    for (let i = 0; i < len; i++) v = inc(v);
    return v;
  });
  await ct.dispatchSync(wf)(50);
  const t0 = performance.now();
  const res = await ct.dispatchSync(wf)(n);
  if (res.result !== n) throw new Error(`chain result ${res.result}`);
  return n / ((performance.now() - t0) / 1000);
}

/** A 100,000-node dispatch (inline tasks): peak memory; then the cost of a durable cancel flag with it in the store. */
async function bigDispatch(n: number, trials: number): Promise<BenchRow[]> {
  const triv = ct.electron(function triv(i: number) {
    return i;
  }, { executor: 'inline' });
  const wf = ct.lattice((count: number) => {
    const outs = [];
    for (let i = 0; i < count; i++) outs.push(triv(i));
    return outs;
  });
  global.gc?.();
  const sampler = peakSampler(() => treeRssMb(), 25);
  const t0 = performance.now();
  const res = await ct.dispatchSync(wf)(n);
  const elapsed = performance.now() - t0;
  await ct.getDispatcher().flush();
  const peakMb = sampler.stop();
  const store = await ct.getDispatcher().getStore();
  const dbMb = fs.statSync(store.paths.database).size / 1e6;
  const samples: number[] = [];
  for (let i = 0; i < trials; i++) {
    const t = performance.now();
    await store.commit({ t: 'cancel', dispatchId: res.dispatchId, nodeIds: [i], reason: 'bench', source: 'api', at: new Date().toISOString() });
    samples.push(performance.now() - t);
  }
  // A real ct.cancel of a running task, with that dispatch in the store: its durable path does not grow with the store.
  const cancels = await cancelLatency(50);
  const tf = performance.now();
  store.touchAll(res.dispatchId, { dispatchRow: () => ({ ...store.readDispatch(res.dispatchId)!.dispatch }), nodeRow: () => { throw new Error('unused'); }, nodeCount: () => 0 });
  await store.flush();
  const fullSnapshot = performance.now() - tf;
  const s = stats(samples);
  return [
    { name: `${n.toLocaleString('en')}-node dispatch (inline): time to complete`, value: elapsed / 1000, unit: 's' },
    { name: `${n.toLocaleString('en')}-node dispatch: peak memory, all processes`, value: peakMb, unit: 'MB', target: '<= 500' },
    { name: 'store file with that dispatch', value: dbMb, unit: 'MB' },
    { name: `durable cancel flag with it in the store: p99 (${trials} trials)`, value: s.p99, unit: 'ms', target: '<= 50' },
    { name: 'durable cancel flag: median', value: s.median, unit: 'ms' },
    { name: `ct.cancel of a running local task with it in the store: p99 (50 trials)`, value: cancels[1].value, unit: 'ms', target: '<= 100' },
    { name: 'full store snapshot with it (background, batched)', value: fullSnapshot, unit: 'ms' },
  ];
}

/** Each scenario runs in a fresh process with a fresh store, so memory figures are its own. */
const SCENARIOS: Record<string, () => Promise<BenchRow[]>> = {
  'cancel-latency': () => cancelLatency(200),
  'fanout-local': async () => {
    const local = await fanOut(10_000, 'local');
    return [
      { name: '10,000 independent trivial tasks, local', value: local.rate, unit: 'tasks/s', target: '>= 5000' },
      { name: '10,000-task run: peak memory, all processes', value: local.peakMb, unit: 'MB', target: '<= 250' },
      { name: '10,000-task run: journal fsyncs per second (each completion durable before reported)', value: local.fsyncsPerSec, unit: 'fsync/s' },
      { name: '10,000-task run: completions per fsync (group commit)', value: local.tasksPerFsync, unit: 'tasks' },
    ];
  },
  chain: async () => [{ name: '1,000-long chain, local', value: await chain(1000), unit: 'tasks/s', target: '>= 1000' }],
  'fanout-inline': async () => {
    const inline = await fanOut(50_000, 'inline');
    return [{ name: '50,000 independent trivial tasks, inline', value: inline.rate, unit: 'tasks/s', target: '>= 50000' }];
  },
  'big-dispatch': () => bigDispatch(100_000, 200),
  visibility: () => visibility(200),
};

/** Helper processes the scenarios start; not figures of their own (`npm run bench` must not run them). */
const HELPERS: Record<string, () => Promise<BenchRow[]>> = { 'visibility-reader': visibilityReader };

/**
 * Cross-process visibility: this process completes a one-task dispatch; a
 * reader process (a long-lived Dispatcher, reading every 2 ms as a view
 * would poll) notes when it first reads COMPLETED. Same machine, same clock.
 */
async function visibility(trials: number): Promise<BenchRow[]> {
  const reader = fork(__filename, ['visibility-reader'], { env: process.env, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const seen = new Map<string, (at: number) => void>();
  reader.on('message', (m: { id: string; at: number }) => seen.get(m.id)?.(m.at));
  const one = ct.electron(function one() {
    return 1;
  }, { executor: 'inline' });
  const wf = ct.lattice(() => one());
  const samples: number[] = [];
  for (let i = 0; i < trials; i++) {
    const gate = ct.electron(async function gate() {
      await new Promise((r) => setTimeout(r, 20));
      return 1;
    }, { executor: 'inline' });
    const id = await ct.dispatch(i % 2 ? wf : ct.lattice(() => gate()))();
    const seenAt = new Promise<number>((r) => seen.set(id, r));
    reader.send({ id });
    await ct.getResult(id, { wait: true });
    const reportedAt = performance.timeOrigin + performance.now();
    // Negative when the reader saw it before the writer's own caller was told.
    samples.push((await seenAt) - reportedAt);
  }
  reader.kill();
  const s = stats(samples);
  return [
    { name: `cross-process visibility: another process reads a completion, ms after its owner's caller was told (reader polls every 2 ms): median (${trials})`, value: s.median, unit: 'ms' },
    { name: 'cross-process visibility: p99', value: s.p99, unit: 'ms', target: '<= 500' },
  ];
}

async function visibilityReader(): Promise<BenchRow[]> {
  const d = new ct.Dispatcher();
  await d.getStore();
  process.on('message', async (m: { id: string }) => {
    for (;;) {
      const r = await d.getResult(m.id).catch(() => undefined);
      if (r?.status === 'COMPLETED') break;
      await sleep(2);
    }
    process.send!({ id: m.id, at: performance.timeOrigin + performance.now() });
  });
  await new Promise(() => undefined);
  return [];
}

function runScenario(name: string): Promise<BenchRow[]> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--expose-gc', __filename, name], {
      env: { ...process.env, CT_HOME: fs.mkdtempSync(path.join(os.tmpdir(), 'ct-bench-')) },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.on('exit', (code) => {
      try {
        if (code !== 0) throw new Error(`scenario ${name} exited with ${code}`);
        resolve(JSON.parse(out.trim().split('\n').pop()!));
      } catch (e) {
        reject(e);
      }
    });
  });
}

export async function runCoreBenchmarks(): Promise<BenchRow[]> {
  const rows: BenchRow[] = [];
  for (const name of Object.keys(SCENARIOS)) rows.push(...(await runScenario(name)));
  return rows;
}

if (require.main === module) {
  const scenario = SCENARIOS[process.argv[2]] ?? HELPERS[process.argv[2]];
  if (!scenario) {
    console.error(`unknown scenario; one of: ${Object.keys(SCENARIOS).join(', ')}`);
    process.exit(2);
  }
  scenario()
    .then(async (rows) => {
      await ct.shutdown();
      console.log(JSON.stringify(rows));
      process.exit(0);
    })
    .catch((e) => {
      console.error(e);
      process.exit(1);
    });
}
