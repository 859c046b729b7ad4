/**
 * Benchmarks of the `ct` command (issue 13). Figures, not assertions:
 * `npm run bench -- cli`. Every figure is measured with real processes on a
 * store of its own (CT_HOME), as a user would run them.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawn, spawnSync } from 'node:child_process';
import { Store, type RowSource } from '../src/store/store';
import type { DispatchRow, NodeRow } from '../src/store/schema';
import { type BenchRow, stats } from './bench-util';

const root = path.resolve(__dirname, '../..');
const cli = path.join(root, 'dist/src/cli/main.js');
const lib = path.join(root, 'dist/src/index.js');
const newHome = () => fs.mkdtempSync(path.join(os.tmpdir(), 'ct-bench-cli-'));

/** Rows of a finished dispatch with `n` tasks, as the dispatcher would write them. */
function finishedDispatch(i: number, n: number): { id: string; source: RowSource } {
  const id = `${i.toString(16).padStart(8, '0')}-bench-0000-0000-${'0'.repeat(12)}`;
  const t = new Date(Date.UTC(2026, 0, 1) + i * 1000).toISOString();
  const dispatch: DispatchRow = {
    dispatchId: id, name: `run ${i}`, status: 'COMPLETED', startedAt: t, completedAt: t, parentDispatchId: null, parentNodeId: null,
    ownerPid: 1, ownerHost: os.hostname(), ownerStartTime: null, error: null, result: null, nodeCount: n,
  };
  const node = (k: number): NodeRow => ({
    nodeId: k, name: `task${k}`, kind: 'electron', status: 'COMPLETED', executorConfig: '{"type":"local","options":{}}', executorLabel: 'local',
    startedAt: t, completedAt: t, output: null, error: null, cancelRequested: false, cancelReason: null, cancelSource: null,
    cancelOutcome: null, cancelDetail: null, jobHandle: JSON.stringify({ kind: 'local-worker', pid: 100 + k }), subDispatchId: null,
    dependsOn: k ? [k - 1] : [],
  });
  return { id, source: { dispatchRow: () => dispatch, nodeRow: node, nodeCount: () => n } };
}

async function populate(home: string, dispatches: number, nodesEach: number): Promise<string[]> {
  const store = await Store.open(home);
  const ids: string[] = [];
  for (let i = 0; i < dispatches; i++) {
    const d = finishedDispatch(i, nodesEach);
    store.touchAll(d.id, d.source);
    ids.push(d.id);
  }
  await store.close();
  return ids;
}

/** Wall time of one `covalent-ts ...` run (process start included, as a user sees it). */
function timeCli(home: string, args: string[], runs: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    const r = spawnSync(process.execPath, [cli, ...args], { env: { ...process.env, CT_HOME: home }, encoding: 'utf8', maxBuffer: 1 << 30 });
    if (r.status !== 0) throw new Error(`covalent-ts ${args.join(' ')} failed: ${r.stderr}`);
    out.push(performance.now() - t0);
  }
  return out;
}

async function listAndStatus(): Promise<BenchRow[]> {
  const many = newHome();
  await populate(many, 10_000, 3);
  const list = stats(timeCli(many, ['list'], 5));
  const listAll = stats(timeCli(many, ['list', '--all', '--json'], 3));
  const big = newHome();
  const [id] = await populate(big, 1, 10_000);
  const status = stats(timeCli(big, ['status', id.slice(0, 8)], 5));
  const statusJson = stats(timeCli(big, ['status', id.slice(0, 8), '--json'], 5));
  const noop = stats(timeCli(big, ['--help'], 5));
  return [
    { name: '`ct list` with 10,000 dispatches in the store (20 rows), median of 5', value: list.median, unit: 'ms' },
    { name: '`ct list --all --json` with 10,000 dispatches, median of 3', value: listAll.median, unit: 'ms' },
    { name: '`ct status` of a 10,000-node dispatch (table), median of 5', value: status.median, unit: 'ms' },
    { name: '`ct status --json` of a 10,000-node dispatch, median of 5', value: statusJson.median, unit: 'ms' },
    { name: '`ct --help` (process start alone), median of 5', value: noop.median, unit: 'ms' },
  ];
}

/** A separate Node process running `body` with `ct` and `emit`; resolves with its first emitted line. */
function node(home: string, body: string): { proc: ReturnType<typeof spawn>; first: Promise<any>; lines: any[] } {
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'ct-bench-proc-')), 'p.js');
  fs.writeFileSync(file, `const ct = require(${JSON.stringify(lib)});\nconst emit = (v) => process.stdout.write(JSON.stringify(v) + '\\n');\n(async () => {\n${body}\n})().catch((e) => { console.error(e); process.exit(1); });`);
  const proc = spawn(process.execPath, [file], { env: { ...process.env, CT_HOME: home }, stdio: ['ignore', 'pipe', 'inherit'] });
  const lines: any[] = [];
  let buf = '';
  const first = new Promise<any>((resolve, reject) => {
    proc.on('exit', (code) => (lines.length ? undefined : reject(new Error(`process exited with ${code}`))));
    proc.stdout!.on('data', (d) => {
      buf += d;
      let i;
      while ((i = buf.indexOf('\n')) >= 0) {
        lines.push(JSON.parse(buf.slice(0, i)));
        buf = buf.slice(i + 1);
        if (lines.length === 1) resolve(lines[0]);
      }
    });
  });
  return { proc, first, lines };
}

/** From a cancel request written by one process to the owner's report back (tasks waiting for a worker). */
async function crossProcessCancel(trials: number): Promise<BenchRow[]> {
  const home = newHome();
  const owner = node(
    home,
    `const sleepy = ct.electron(async function sleepy(ms) { await new Promise((r) => setTimeout(r, ms)); return ms; });
     const id = await ct.dispatch(ct.lattice(() => { const o = []; for (let i = 0; i < ${trials + 2}; i++) o.push(sleepy(600000)); return o; }))();
     await ct.getResult(id, { wait: 1000 });
     await ct.getDispatcher().flush();
     emit(id);
     await new Promise(() => {});`,
  );
  const id = await owner.first;
  const requester = node(
    home,
    `const samples = [];
     // Tasks 2.. wait for one of the 2 workers: the owner's part is the request's pickup and the bookkeeping, not a kill.
     for (let i = 2; i < ${trials + 2}; i++) {
       const t0 = performance.now();
       const r = await ct.cancel(${JSON.stringify(id)}, { taskIds: [i] });
       if (r.source !== 'external') throw new Error('not answered by the owner');
       samples.push(performance.now() - t0);
     }
     emit(samples);
     await ct.shutdown();`,
  );
  const samples: number[] = await requester.first;
  owner.proc.kill('SIGKILL');
  const s = stats(samples);
  return [
    { name: `cross-process cancel (request file -> owner acts -> report back), median of ${trials}`, value: s.median, unit: 'ms' },
    { name: `cross-process cancel, p99 of ${trials}`, value: s.p99, unit: 'ms' },
  ];
}

/** Status updates an owner writes while 5 other processes read the dispatch as `ct status` does. */
async function updatesWithReaders(tasks: number, readers: number): Promise<BenchRow[]> {
  const home = newHome();
  const owner = node(
    home,
    `const triv = ct.electron(function triv(i) { return i; });
     const wf = ct.lattice((n) => { const o = []; for (let i = 0; i < n; i++) o.push(triv(i)); return o; });
     await ct.dispatchSync(wf)(200); // warm: workers up, tasks known to be quick
     const id = await ct.dispatch(wf)(${tasks});
     await ct.getDispatcher().flush();
     emit(id);
     await new Promise((r) => setTimeout(r, 500)); // the readers start
     const t0 = performance.now();
     const id2 = await ct.dispatch(wf)(${tasks});
     await ct.getResult(id2, { wait: true });
     const s = (performance.now() - t0) / 1000;
     await ct.getDispatcher().flush();
     emit({ updatesPerSecond: (${tasks} * 2) / s, seconds: s });
     await ct.shutdown();`,
  );
  const id = await owner.first;
  const readerProcs = Array.from({ length: readers }, () =>
    node(
      home,
      `const { Store } = require(${JSON.stringify(path.join(root, 'dist/src/store/store.js'))});
       const store = await Store.open(process.env.CT_HOME);
       let reads = 0; const t0 = performance.now();
       process.on('SIGTERM', () => { emit({ readsPerSecond: reads / ((performance.now() - t0) / 1000) }); process.exit(0); });
       // A reader ten times as eager as \`ct status --watch\` (every 500 ms).
       for (;;) { store.readDispatch(${JSON.stringify(id)}); reads++; await new Promise((r) => setTimeout(r, 50)); }`,
    ),
  );
  await new Promise<void>((resolve) => owner.proc.on('exit', () => resolve()));
  const result = owner.lines[1] as { updatesPerSecond: number };
  if (!readers) return [{ name: `status updates written with no reader (${tasks.toLocaleString('en')}-task dispatch, 2 per task)`, value: result.updatesPerSecond, unit: 'updates/s' }];
  const rates = await Promise.all(
    readerProcs.map((r) => {
      const done = new Promise<number>((resolve) => r.proc.on('exit', () => resolve(r.lines[0]?.readsPerSecond ?? NaN)));
      r.proc.kill('SIGTERM');
      return done;
    }),
  );
  return [
    { name: `status updates written with ${readers} concurrent readers (${tasks.toLocaleString('en')}-task dispatch, 2 per task)`, value: result.updatesPerSecond, unit: 'updates/s' },
    { name: `reads of that dispatch per reader meanwhile (each polls every 50 ms; mean of ${readers})`, value: rates.reduce((a, b) => a + b, 0) / rates.length, unit: 'reads/s' },
  ];
}

export async function runCliBenchmarks(): Promise<BenchRow[]> {
  return [...(await listAndStatus()), ...(await crossProcessCancel(100)), ...(await updatesWithReaders(10_000, 0)), ...(await updatesWithReaders(10_000, 5))];
}
