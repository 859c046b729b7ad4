/**
 * A workflow that is dispatched, partly cancelled, and reported:
 * `npm run example`.
 *
 *   prepare -> simulate(a) -> analyse(a) \
 *           -> simulate(b) -> analyse(b) -> summarise
 *
 * Branch b turns out to be too slow; we cancel its simulation. Its analysis
 * and the summary can no longer run and are cancelled too; branch a finishes
 * and its output stays available.
 */
import * as ct from '../src';

const prepare = ct.electron(function prepare(n: number) {
  return Array.from({ length: n }, (_, i) => i + 1);
});
const simulate = ct.electron(async function simulate(data: number[], seconds: number) {
  // A stand-in for an expensive job: a child process that runs for `seconds`.
  const { execFile } = require('node:child_process');
  await new Promise((resolve, reject) => execFile('sleep', [String(seconds)], (e: Error | null) => (e ? reject(e) : resolve(null))));
  return data.map((x) => x * x);
});
const analyse = ct.electron(function analyse(values: number[]) {
  return values.reduce((a, b) => a + b, 0);
});
const summarise = ct.electron(function summarise(a: number, b: number) {
  return { a, b, total: a + b };
});

const workflow = ct.lattice(
  (n: number) => {
    const data = prepare(n);
    const a = analyse(simulate(data, 1));
    const b = analyse(simulate(data, 600));
    return summarise(a, b);
  },
  { name: 'cancel-demo' },
);

async function main(): Promise<void> {
  const id = await ct.dispatch(workflow)(10);
  console.log(`dispatched ${id}`);
  const graph = await ct.getResult(id);
  for (const n of graph.nodes) console.log(`  task ${n.id}: ${n.name}${n.dependsOn.length ? ` <- ${n.dependsOn.join(', ')}` : ''}`);

  // Wait until the slow simulation (task 3) is running, then cancel it.
  for (;;) {
    const r = await ct.getResult(id);
    if (r.nodes[3].status === 'RUNNING' && r.nodes[3].jobHandle) break;
    await new Promise((res) => setTimeout(res, 20));
  }
  const report = await ct.cancel(id, { taskIds: [3], reason: 'branch b is too slow' });
  console.log(`\n${report}`);

  const result = await ct.getResult(id, { wait: true });
  console.log(`\ndispatch ${result.status}`);
  for (const n of result.nodes) {
    const out = n.status === 'COMPLETED' ? ` = ${JSON.stringify(n.output)}` : n.cancelReason ? ` (${n.cancelReason})` : '';
    console.log(`  task ${n.id} ${n.name}: ${n.status}${out}`);
  }
  await ct.shutdown();
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
