/**
 * Limits and redispatch (issue 15): how far past its time limit a task runs
 * before it is dead (local worker, Slurm job), and how long ct.redispatch
 * takes to plan a 10,000-node graph of which half is reusable.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as ct from '../src';
import { SlurmExecutor } from '../src/executors/slurm';
import { stats, type BenchRow } from './bench-util';
import { withExecutorServices } from './executors';

const LIMIT_MS = 500;

function alive(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2)[0];
    return state !== 'Z' && state !== 'X';
  } catch {
    return false;
  }
}

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
  while (alive(started.pid)) await new Promise((r) => setImmediate(r));
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

/** ct.redispatch of a finished 10,000-task dispatch whose inputs changed for half of its tasks: until the new id. */
async function redispatchPlanning(): Promise<BenchRow[]> {
  const N = 10_000;
  const f = ct.electron(function f(salt: number, i: number) {
    return salt + i;
  }, { executor: 'inline' });
  const wf = ct.lattice((n: number, salt: number) => Array.from({ length: n }, (_, i) => f(i < n / 2 ? 0 : salt, i)), { name: 'plan-10k' });
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
  rows.push({ name: `redispatch planning, ${N}-node graph, half reusable (dispatch in this process), median of 5`, value: stats(samples).median, unit: 'ms' });
  // From the store alone, as after a kernel restart: a second dispatcher on the same store.
  const fresh = new ct.Dispatcher({ home: ct.getDispatcher().home });
  const t0 = performance.now();
  await fresh.redispatch(first.dispatchId, undefined, [N, 99]);
  rows.push({ name: `redispatch planning, ${N}-node graph, half reusable (read from the store)`, value: performance.now() - t0, unit: 'ms' });
  return rows;
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
