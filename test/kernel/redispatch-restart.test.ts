import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { startKernel, type RunningKernel } from '../../kernel/testing/kernel-process';

/**
 * `ct.redispatch(id)()` after a kernel restart, through the real kernel: the
 * first kernel defines and runs a workflow, a task is cancelled, the kernel
 * restarts (shutdown_request with restart, then a new kernel process on the
 * same store, as Jupyter does); the new kernel never defines the workflow and
 * redispatches it from the store. Tick files count executions.
 */
jest.setTimeout(180000);

const home = fs.mkdtempSync(path.join(os.tmpdir(), 'ct-home-restart-'));
const d = fs.mkdtempSync(path.join(os.tmpdir(), 'ct-ticks-restart-'));
const ticks = (): Record<string, number> => {
  const out: Record<string, number> = {};
  for (const f of fs.readdirSync(d)) if (f.endsWith('.tick')) out[f.split('.')[0]] = (out[f.split('.')[0]] ?? 0) + 1;
  return out;
};
const kernels: RunningKernel[] = [];
afterAll(async () => {
  for (const k of kernels) await k.stop();
});

async function run(k: RunningKernel, code: string): Promise<void> {
  const r = await k.client.execute(code);
  const error = r.iopub.find((m) => m.header.msg_type === 'error');
  if (r.reply.content.status !== 'ok') throw new Error(`cell failed: ${JSON.stringify(error?.content ?? r.reply.content)}\n${k.log()}`);
}

test('after a kernel restart, ct.redispatch(id)() without the workflow defined reruns only what did not complete', async () => {
  const k1 = await startKernel({ env: { CT_HOME: home } });
  kernels.push(k1);
  const out1 = path.join(d, 'first.json');
  await run(k1, `import * as ct from 'covalent-ts';
const step = (name: string) => ct.electron(function step(dir: string, x: number) {
  require('fs').writeFileSync(dir + '/' + ct.taskContext().name + '.' + Math.random() + '.tick', '');
  return x + 1;
}, { name });
const gate = ct.electron(async function gate(dir: string, x: number) {
  const fsm = require('fs');
  fsm.writeFileSync(dir + '/gate.' + Math.random() + '.tick', '');
  while (!fsm.existsSync(dir + '/open')) await new Promise((r) => setTimeout(r, 20));
  return x * 10;
}, { name: 'gate' });
const [a, b, c] = [step('a'), step('b'), step('c')];
const wf = ct.lattice((dir: string, x: number) => [c(dir, gate(dir, a(dir, x))), b(dir, x)], { name: 'restarted' });
const id = await ct.dispatch(wf)(${JSON.stringify(d)}, 1);
while (!require('fs').readdirSync(${JSON.stringify(d)}).some((f: string) => f.startsWith('gate.'))) await new Promise((r) => setTimeout(r, 20));
await ct.cancel(id, { taskIds: [1] });
const first = await ct.getResult(id, { wait: true });
require('fs').writeFileSync(${JSON.stringify(out1)}, JSON.stringify({ id, statuses: first.nodes.map((n) => n.status) }));`);
  const first = JSON.parse(fs.readFileSync(out1, 'utf8'));
  expect(first.statuses).toEqual(['COMPLETED', 'CANCELLED', 'CANCELLED', 'COMPLETED']);
  expect(ticks()).toEqual({ a: 1, gate: 1, b: 1 });

  // Restart: the kernel is asked to shut down for a restart, and a new kernel process starts on the same store.
  const reply = await k1.client.request('shutdown_request', { restart: true }, { channel: 'control' });
  expect(reply.content).toMatchObject({ status: 'ok', restart: true });
  await k1.exited;
  const k2 = await startKernel({ env: { CT_HOME: home } });
  kernels.push(k2);
  fs.writeFileSync(path.join(d, 'open'), '');
  const out2 = path.join(d, 'second.json');
  await run(k2, `import * as ct from 'covalent-ts';
const again = await ct.redispatch(${JSON.stringify(first.id)})();
const r = await ct.getResult(again, { wait: true });
require('fs').writeFileSync(${JSON.stringify(out2)}, JSON.stringify({ status: r.status, result: r.result, redispatchOf: r.redispatchOf, reused: r.nodes.map((n) => n.reusedFrom || null) }));`);
  expect(JSON.parse(fs.readFileSync(out2, 'utf8'))).toEqual({
    status: 'COMPLETED', result: [21, 2], redispatchOf: first.id, reused: [first.id, null, null, first.id],
  });
  // Only the cancelled gate and its downstream ran again.
  expect(ticks()).toEqual({ a: 1, gate: 2, c: 1, b: 1 });
});
