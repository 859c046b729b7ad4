import * as fs from 'node:fs';
import * as path from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import * as ct from '../../src';
import { tempDir, usePrivateHome, waitFor } from '../support/wait';

const home = usePrivateHome();
afterAll(() => ct.shutdown());
const root = path.resolve(__dirname, '../..');
const lib = path.join(root, 'dist/src/index.js');
const dir = tempDir('ct-redispatch-');
let seq = 0;
const newDir = () => {
  const d = path.join(dir, `run-${++seq}`);
  fs.mkdirSync(d);
  return d;
};
/** How many times each task ran: one tick file per execution, named after the task. */
const ticks = (d: string): Record<string, number> => {
  const out: Record<string, number> = {};
  for (const f of fs.readdirSync(d)) {
    const name = f.split('.')[0];
    if (f.endsWith('.tick')) out[name] = (out[name] ?? 0) + 1;
  }
  return out;
};

/** Run `body` in a fresh node process on this test's store (with `ct` loaded, nothing else defined), then shut down. */
const runScript = (body: string) =>
  promisify(execFile)(
    process.execPath,
    ['-e', `const ct = require(${JSON.stringify(lib)});\n(async () => { ${body}\n await ct.shutdown(); })().catch((e) => { console.error(e); process.exit(1); });`],
    { env: { ...process.env, CT_HOME: home }, timeout: 90_000 },
  );

/** For scripts of other processes: `step(name)` and `gate`, the same as this file's (tick files in d). */
const STEP_AND_GATE_JS = `
  const step = (name) => ct.electron(function step(d, x) {
    require('fs').writeFileSync(d + '/' + ct.taskContext().name + '.' + process.pid + '-' + Math.random() + '.tick', '');
    return x + 1;
  }, { name });
  const gate = ct.electron(async function gate(d, x) {
    const fsm = require('fs');
    fsm.writeFileSync(d + '/gate.' + process.pid + '-' + Math.random() + '.tick', '');
    while (!fsm.existsSync(d + '/open')) await new Promise((r) => setTimeout(r, 20));
    return x * 10;
  }, { name: 'gate' });`;

/** A task named `name` that records each execution, then returns x + 1. */
const step = (name: string, options: ct.ElectronOptions = {}) =>
  ct.electron(function step(d: string, x: number) {
    const fsm = require('fs');
    fsm.writeFileSync(`${d}/${ct.taskContext().name}.${process.pid}-${Date.now()}-${Math.random()}.tick`, '');
    return x + 1;
  }, { name, ...options });
/** Records its execution, then waits until the file `open` exists in d. */
const gate = ct.electron(async function gate(d: string, x: number) {
  const fsm = require('fs');
  fsm.writeFileSync(`${d}/gate.${Date.now()}-${Math.random()}.tick`, '');
  while (!fsm.existsSync(`${d}/open`)) await new Promise((r) => setTimeout(r, 20));
  return x * 10;
}, { name: 'gate' });

describe('ct.redispatch', () => {
  it('after a partial cancel, reuses exactly the completed tasks and runs the rest', async () => {
    const d = newDir();
    const [a, b, c] = [step('a'), step('b'), step('c')];
    const wf2 = ct.lattice((dd: string) => {
      const ra = a(dd, 1);
      const rb = b(dd, 2);
      return [c(dd, gate(dd, ra)), rb];
    }, { name: 'partial' });
    const first = await ct.dispatch(wf2)(d);
    await waitFor('a and b to complete and the gate to run', async () => {
      const r = await ct.getResult(first);
      return r.nodes[0].status === 'COMPLETED' && r.nodes[1].status === 'COMPLETED' && ticks(d).gate === 1;
    });
    await ct.cancel(first, { taskIds: [2] });
    const cancelled = await ct.getResult(first, { wait: 30_000 });
    expect(cancelled.nodes.map((n) => n.status)).toEqual(['COMPLETED', 'COMPLETED', 'CANCELLED', 'CANCELLED']);

    fs.writeFileSync(path.join(d, 'open'), '');
    const second = await ct.redispatch(first)();
    const res = await ct.getResult(second, { wait: 30_000 });
    expect(res.status).toBe('COMPLETED');
    expect(res.result).toEqual([21, 3]);
    expect(res.redispatchOf).toBe(first);
    expect(res.nodes.map((n) => n.reusedFrom ?? null)).toEqual([first, first, null, null]);
    expect(ticks(d)).toEqual({ a: 1, b: 1, gate: 2, c: 1 });
    // A reused task never started in the new dispatch.
    expect(res.nodes[0].startedAt).toBeNull();
  });

  it('a replaced electron re-runs with its downstream only', async () => {
    const d = newDir();
    const [a, b, c, dd_, e] = [step('a'), step('b'), step('c'), step('d'), step('e')];
    const wf = ct.lattice((dd: string) => {
      const ra = a(dd, 1);
      const rb = b(dd, 100);
      return [dd_(dd, c(dd, ra)), e(dd, rb)];
    }, { name: 'replace' });
    const first = await ct.dispatchSync(wf)(d);
    expect(first.result).toEqual([4, 102]);
    const c2 = ct.electron(function c(d2: string, x: number) {
      const fsm = require('fs');
      fsm.writeFileSync(`${d2}/c2.${Date.now()}-${Math.random()}.tick`, '');
      return x * 1000;
    }, { name: 'c' });
    const second = await ct.getResult(await ct.redispatch(first.dispatchId, { replaceElectrons: { c: c2 } })(), { wait: 30_000 });
    expect(second.result).toEqual([2001, 102]);
    expect(ticks(d)).toEqual({ a: 1, b: 1, c: 1, c2: 1, d: 2, e: 1 });
    expect(second.nodes.filter((n) => n.reusedFrom === first.dispatchId).map((n) => n.name).sort()).toEqual(['a', 'b', 'e']);
  });

  it('changed inputs re-run only the affected branch; { reuse: false } always runs', async () => {
    const d = newDir();
    const [a, b, c, dd_] = [step('a'), step('b'), step('c'), step('d')];
    const noisy = step('noisy', { reuse: false });
    const wf = ct.lattice((dd: string, x: number, y: number) => [c(dd, a(dd, x)), dd_(dd, b(dd, y)), noisy(dd, 0)], { name: 'branches' });
    const first = await ct.dispatchSync(wf)(d, 1, 10);
    const second = await ct.getResult(await ct.redispatch(first.dispatchId)(d, 1, 20), { wait: 30_000 });
    expect(second.result).toEqual([3, 22, 1]);
    expect(ticks(d)).toEqual({ a: 1, c: 1, b: 2, d: 2, noisy: 2 });
    // reuseCompleted: false runs everything again.
    const third = await ct.getResult(await ct.redispatch(second.dispatchId, { reuseCompleted: false })(), { wait: 30_000 });
    expect(third.result).toEqual([3, 22, 1]);
    expect(third.nodes.every((n) => !n.reusedFrom)).toBe(true);
    expect(ticks(d)).toEqual({ a: 2, c: 2, b: 3, d: 3, noisy: 3 });
  });

  it('works from a fresh process after the original one exited, with the workflow defined again there', async () => {
    const d = newDir();
    const script = (body: string) => `
      const ct = require(${JSON.stringify(lib)});
      const step = (name) => ct.electron(function step(d, x) {
        require('fs').writeFileSync(d + '/' + ct.taskContext().name + '.' + process.pid + '-' + Math.random() + '.tick', '');
        return x + 1;
      }, { name });
      const [a, b, c] = [step('a'), step('b'), step('c')];
      const wf = ct.lattice((d, x) => [c(d, a(d, x)), b(d, x)], { name: 'fresh' });
      (async () => { ${body} await ct.shutdown(); })().catch((e) => { console.error(e); process.exit(1); });`;
    const run = (body: string) =>
      promisify(execFile)(process.execPath, ['-e', script(body)], { env: { ...process.env, CT_HOME: home }, timeout: 60_000 });
    // Process 1 runs it and exits.
    const { stdout: firstId } = await run(`const r = await ct.dispatchSync(wf)(${JSON.stringify(d)}, 1); process.stdout.write(r.dispatchId);`);
    expect(ticks(d)).toEqual({ a: 1, b: 1, c: 1 });
    // Process 2 redispatches with a changed c from the store (no arguments: the original inputs).
    const { stdout } = await run(`
      const c2 = ct.electron(function c(d, x) { return x * 100; }, { name: 'c' });
      const id = await ct.redispatch(${JSON.stringify(firstId)}, { replaceElectrons: { c: c2 } })();
      const r = await ct.getResult(id, { wait: true });
      process.stdout.write(JSON.stringify({ result: r.result, redispatchOf: r.redispatchOf, reused: r.nodes.map((n) => n.reusedFrom || null) }));`);
    const out = JSON.parse(stdout);
    expect(out).toEqual({ result: [200, 2], redispatchOf: firstId, reused: [firstId, null, firstId] });
    expect(ticks(d)).toEqual({ a: 1, b: 1, c: 1 });
    // This process reads the lineage from the store too.
    const child = (await ct.getDispatcher().getStore()).listDispatchRows().find((r) => r.redispatchOf === firstId);
    expect(child).toBeDefined();
    expect((await ct.getResult(child!.dispatchId)).nodes.map((n) => n.reusedFrom ?? null)).toEqual([firstId, null, firstId]);
  });

  it('from the store alone: a fresh process that never defined the lattice reruns only what did not complete', async () => {
    const d = newDir();
    // Process 1 defines the workflow, runs it, cancels the gate while it runs, and exits.
    const defineAndRun = `
      ${STEP_AND_GATE_JS}
      const [a, b, c] = [step('a'), step('b'), step('c')];
      const inl = ct.electron(function double(x) { return 2 * x; }, { name: 'double', executor: 'inline' });
      const wf = ct.lattice((d, x) => ({ gated: c(d, gate(d, a(d, x))), plain: inl(b(d, x)) }), { name: 'store-alone', timeLimit: '10m' });
      const id = await ct.dispatch(wf)(${JSON.stringify(d)}, 1);
      const fsm = require('fs');
      while (!fsm.readdirSync(${JSON.stringify(d)}).some((f) => f.startsWith('gate.'))) await new Promise((r) => setTimeout(r, 20));
      await ct.cancel(id, { taskIds: [1] });
      const r = await ct.getResult(id, { wait: true });
      process.stdout.write(JSON.stringify({ id, statuses: r.nodes.map((n) => n.status) }));`;
    const first = JSON.parse((await runScript(defineAndRun)).stdout);
    expect(first.statuses).toEqual(['COMPLETED', 'CANCELLED', 'CANCELLED', 'COMPLETED', 'COMPLETED']);
    expect(ticks(d)).toEqual({ a: 1, gate: 1, b: 1 });

    // Process 2 has no workflow defined at all: ct.redispatch(id)() rebuilds it from the store.
    fs.writeFileSync(path.join(d, 'open'), '');
    const rerun = `
      const id = await ct.redispatch(${JSON.stringify(first.id)})();
      const r = await ct.getResult(id, { wait: true });
      process.stdout.write(JSON.stringify({ id, status: r.status, result: r.result, name: r.name, redispatchOf: r.redispatchOf,
        reused: r.nodes.map((n) => n.reusedFrom || null), names: r.nodes.map((n) => n.name), executors: r.nodes.map((n) => n.executor) }));`;
    const second = JSON.parse((await runScript(rerun)).stdout);
    expect(second).toMatchObject({
      status: 'COMPLETED', result: { gated: 21, plain: 4 }, name: 'store-alone', redispatchOf: first.id,
      reused: [first.id, null, null, first.id, first.id], names: ['a', 'gate', 'c', 'b', 'double'],
    });
    expect(second.executors[4]).toBe('inline');
    // Only the tasks that had not completed ran again.
    expect(ticks(d)).toEqual({ a: 1, gate: 2, c: 1, b: 1 });

    // Process 3 replaces an electron, still without the workflow: the replaced task and its downstream run.
    const replace = `
      const a2 = ct.electron(function a(d, x) {
        require('fs').writeFileSync(d + '/a2.' + process.pid + '-' + Math.random() + '.tick', '');
        return x + 100;
      }, { name: 'a' });
      const id = await ct.redispatch(${JSON.stringify(second.id)}, { replaceElectrons: { a: a2 } })();
      const r = await ct.getResult(id, { wait: true });
      process.stdout.write(JSON.stringify({ status: r.status, result: r.result, reused: r.nodes.map((n) => n.reusedFrom || null) }));`;
    const third = JSON.parse((await runScript(replace)).stdout);
    expect(third).toEqual({ status: 'COMPLETED', result: { gated: 1011, plain: 4 }, reused: [null, null, null, second.id, second.id] });
    expect(ticks(d)).toEqual({ a: 1, a2: 1, gate: 3, c: 2, b: 1 });

    // New arguments need the lattice: refused with a typed error that says what to do, nothing dispatched.
    const withArgs = `
      const before = (await ct.getDispatcher().getStore()).listDispatchRows().length;
      const e = await ct.redispatch(${JSON.stringify(first.id)})(${JSON.stringify(d)}, 5).then(() => null, (e) => e);
      const after = (await ct.getDispatcher().getStore()).listDispatchRows().length;
      process.stdout.write(JSON.stringify({ code: e && e.code, message: e && e.message, isCtError: e instanceof ct.CtError, added: after - before }));`;
    const refused = JSON.parse((await runScript(withArgs)).stdout);
    expect(refused).toMatchObject({ code: 'CT_UNKNOWN_LATTICE', isCtError: true, added: 0 });
    expect(refused.message).toContain("ct.lattice(fn, { name: 'store-alone' })");
    expect(refused.message).toContain('without arguments');
    expect(ticks(d)).toEqual({ a: 1, a2: 1, gate: 3, c: 2, b: 1 });
  });

  it('from the store alone, a sublattice is rebuilt from its earlier expansion and the tasks that completed inside it are reused', async () => {
    const d = newDir();
    const first = JSON.parse((await runScript(`
      ${STEP_AND_GATE_JS}
      const [s1, s2] = [step('s1'), step('s2')];
      const inner = ct.electron(ct.lattice((d, x) => s2(d, s1(d, x)), { name: 'inner' }));
      const wf = ct.lattice((d, x) => [inner(d, x), gate(d, x)], { name: 'with-sublattice' });
      const id = await ct.dispatch(wf)(${JSON.stringify(d)}, 1);
      const fsm = require('fs');
      while (!fsm.readdirSync(${JSON.stringify(d)}).some((f) => f.startsWith('gate.'))) await new Promise((r) => setTimeout(r, 20));
      while ((await ct.getResult(id)).nodes[0].status !== 'COMPLETED') await new Promise((r) => setTimeout(r, 20));
      await ct.cancel(id, { taskIds: [1] });
      const r = await ct.getResult(id, { wait: true });
      process.stdout.write(JSON.stringify({ id, sub: r.nodes[0].subDispatchId, statuses: r.nodes.map((n) => n.status) }));`)).stdout);
    expect(first.statuses).toEqual(['COMPLETED', 'CANCELLED']);
    expect(ticks(d)).toEqual({ s1: 1, s2: 1, gate: 1 });
    fs.writeFileSync(path.join(d, 'open'), '');
    const second = JSON.parse((await runScript(`
      const id = await ct.redispatch(${JSON.stringify(first.id)})();
      const r = await ct.getResult(id, { wait: true });
      const sub = await ct.getResult(r.nodes[0].subDispatchId);
      process.stdout.write(JSON.stringify({ status: r.status, result: r.result, subRedispatchOf: sub.redispatchOf, subReused: sub.nodes.map((n) => n.reusedFrom || null) }));`)).stdout);
    expect(second).toEqual({ status: 'COMPLETED', result: [3, 10], subRedispatchOf: first.sub, subReused: [first.sub, first.sub] });
    // Inside the sublattice nothing ran again: only the cancelled gate did.
    expect(ticks(d)).toEqual({ s1: 1, s2: 1, gate: 2 });
  });

  it('takes the new dispatch\'s timeLimit and budget, checked as ct.dispatch checks them', async () => {
    const d = newDir();
    const a = step('a');
    const slow = ct.electron(async function slow(dd: string) {
      require('fs').writeFileSync(`${dd}/slow.${Date.now()}-${Math.random()}.tick`, '');
      await new Promise(() => undefined);
    }, { name: 'slow' });
    const wf = ct.lattice((dd: string) => [a(dd, 1), slow(dd)], { name: 'redispatch-limits' });
    const first = await ct.dispatch(wf)(d);
    await waitFor('a to complete and slow to start', async () => (await ct.getResult(first)).nodes[0].status === 'COMPLETED' && ticks(d).slow === 1);
    await ct.cancel(first, { taskIds: [1] });
    await ct.getResult(first, { wait: 30_000 });
    const err = (p: Promise<unknown>) => p.then(() => undefined, (e) => e);
    const bad = [
      [{ timeLimit: '10 minutes' }, 'ct.redispatch timeLimit'],
      [{ timeLimit: 0 }, 'ct.redispatch timeLimit'],
      [{ budget: -1 }, 'ct.redispatch budget'],
      [{ budget: 5 }, 'no task\'s executor has a price'],
      [{ timeout: '1s' }, 'unknown option timeout'],
    ] as const;
    for (const [options, says] of bad) {
      const e = await err(ct.redispatch(first, options as any)());
      expect(e).toBeInstanceOf(ct.CtError);
      expect(e).toMatchObject({ code: 'CT_INVALID_ARGUMENT' });
      expect(e.message).toContain(says);
    }
    expect(ticks(d)).toEqual({ a: 1, slow: 1 });
    // The limit applies to the new dispatch: the task that runs again is cancelled by it, the reused one is kept.
    const second = await ct.getResult(await ct.redispatch(first, { timeLimit: '1s' })(), { wait: 30_000 });
    expect(second.status).toBe('CANCELLED');
    expect(second.nodes[0]).toMatchObject({ status: 'COMPLETED', reusedFrom: first });
    expect(second.nodes[1]).toMatchObject({ status: 'CANCELLED', cancelReason: 'time limit', cancelSource: 'limit' });
    expect(ticks(d)).toEqual({ a: 1, slow: 2 });
  });

  it('ct status shows reuse, cost and limit reasons; ct list shows the lineage', async () => {
    const d = newDir();
    const priced = new ct.LocalExecutor({ price: { perTask: 0.25 } });
    const a = step('a', { executor: priced });
    const slow = ct.electron(async function slow(_x: number) {
      await new Promise(() => undefined);
    }, { name: 'slow', timeLimit: '1s' });
    const wf = ct.lattice((dd: string) => [a(dd, 1), slow(1)], { name: 'cli-view' });
    const first = await ct.getResult(await ct.dispatch(wf)(d), { wait: 30_000 });
    expect(first.nodes[1].cancelReason).toBe('time limit');
    const second = await ct.getResult(await ct.redispatch(first.dispatchId)(), { wait: 30_000 });
    await ct.getDispatcher().flush();
    const cli = path.join(root, 'dist/src/cli/main.js');
    const ctCli = (args: string[]) => promisify(execFile)(process.execPath, [cli, ...args], { env: { ...process.env, CT_HOME: home, NO_COLOR: '1' } });
    const status = JSON.parse((await ctCli(['status', second.dispatchId, '--json'])).stdout);
    expect(status.dispatch).toMatchObject({ id: second.dispatchId, redispatchOf: first.dispatchId });
    expect(status.nodes[0]).toMatchObject({ name: 'a', reusedFrom: first.dispatchId });
    expect(status.nodes[1]).toMatchObject({ name: 'slow', reusedFrom: null, cancelReason: 'time limit', cancelSource: 'limit' });
    const firstStatus = JSON.parse((await ctCli(['status', first.dispatchId, '--json'])).stdout);
    expect(firstStatus.nodes[0].cost).toBeCloseTo(0.25);
    expect(firstStatus.dispatch.cost).toBeCloseTo(0.25);
    const text = (await ctCli(['status', second.dispatchId])).stdout;
    expect(text).toContain(`redispatch of: ${first.dispatchId} (1 of 2 tasks reused)`);
    expect(text).toContain(`reused from ${first.dispatchId}`);
    expect(text).toContain('reason: time limit');
    const list = (await ctCli(['list'])).stdout.trimEnd().split('\n').map((l) => l.split('\t'));
    const row = list.find((r) => r[0] === second.dispatchId)!;
    expect(row[list[0].indexOf('REDISPATCH OF')]).toBe(first.dispatchId);
  });

  it('refuses bad options and unknown workflows with typed errors, dispatching nothing', async () => {
    const d = newDir();
    const a = step('a');
    const wf = ct.lattice((dd: string) => a(dd, 1), { name: 'bad-options' });
    const first = await ct.dispatchSync(wf)(d);
    const err = (p: Promise<unknown>) => p.then(() => undefined, (e) => e);
    expect(await err(ct.redispatch(first.dispatchId, { replaceElectrons: { nope: step('nope') } })())).toMatchObject({ code: 'CT_UNKNOWN_TASK' });
    expect(await err(ct.redispatch(first.dispatchId, { replaceElectrons: { a: (() => 1) as any } })())).toMatchObject({ code: 'CT_INVALID_ARGUMENT' });
    expect(await err(ct.redispatch(first.dispatchId, { reuseCompleted: 'yes' as any })())).toMatchObject({ code: 'CT_INVALID_ARGUMENT' });
    expect(await err(ct.redispatch('no-such-dispatch')())).toMatchObject({ code: 'CT_UNKNOWN_DISPATCH' });
    expect(ticks(d)).toEqual({ a: 1 });
  });
});
