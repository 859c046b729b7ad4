import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as ct from '../../src';
import { Store } from '../../src/store/store';
import { processRunning, tempDir, usePrivateHome, waitFor } from '../support/wait';

usePrivateHome();
afterAll(() => ct.shutdown());
const dir = tempDir('ct-limits-');
let seq = 0;
const newDir = () => {
  const d = path.join(dir, `run-${++seq}`);
  fs.mkdirSync(d);
  return d;
};
/** Worker processes of the shared local pool: more tasks than this wait QUEUED. */
const POOL = Math.max(1, os.availableParallelism?.() ?? os.cpus().length);
const pidsIn = (d: string) => fs.readdirSync(d).filter((f) => f.startsWith('pid-')).map((f) => Number(fs.readFileSync(path.join(d, f), 'utf8')));
const ticksIn = (d: string) => fs.readdirSync(d).filter((f) => f.startsWith('tick-')).length;

/** Writes its worker's pid (a tick) when it starts, then runs until killed. */
const hangWith = (options: ct.ElectronOptions = {}) =>
  ct.electron(async function hang(d: string, i: number) {
    const fsm = require('fs');
    fsm.writeFileSync(`${d}/tick-${i}`, '');
    fsm.writeFileSync(`${d}/pid-${i}`, String(process.pid));
    await new Promise(() => undefined);
  }, options);
const hang = hangWith();
const sleepyWith = (options: ct.ElectronOptions = {}) =>
  ct.electron(async function sleepy(ms: number) {
    await new Promise((r) => setTimeout(r, ms));
    return ms;
  }, options);
const after = ct.electron(function after(x: unknown) {
  return x;
});

describe('time limits', () => {
  it("cancels a local task past its electron timeLimit: the worker dies, reason 'time limit', source 'limit'", async () => {
    const d = newDir();
    const limited = hangWith({ timeLimit: '1s' });
    const wf = ct.lattice((x: string) => after(limited(x, 0)), { name: 'limited' });
    const t0 = Date.now();
    const id = await ct.dispatch(wf)(d);
    const [pid] = await waitFor('the task to start', () => (pidsIn(d).length ? pidsIn(d) : undefined));
    const res = await ct.getResult(id, { wait: 30_000 });
    expect(res.status).toBe('CANCELLED');
    expect(Date.now() - t0).toBeGreaterThanOrEqual(1000);
    expect(res.nodes[0]).toMatchObject({ status: 'CANCELLED', cancelReason: 'time limit', cancelSource: 'limit', cancelOutcome: 'killed' });
    expect(res.nodes[1]).toMatchObject({ status: 'CANCELLED', cancelOutcome: 'aborted_before_start' });
    expect(processRunning(pid)).toBe(false);
    // Recorded: another reader of the store sees the same reason.
    await ct.getDispatcher().flush();
    const stored = (await ct.getDispatcher().getStore()).readDispatch(id);
    expect(stored?.nodes[0]).toMatchObject({ cancelReason: 'time limit', cancelSource: 'limit' });
  });

  it('counts a task\u2019s limit from RUNNING: time spent QUEUED behind a full pool does not count', async () => {
    // 2 x POOL tasks of 1.2 s each, limit 2 s: the second wave waits ~1.2 s QUEUED, then runs 1.2 s: all complete.
    const limited = sleepyWith({ timeLimit: 2000 });
    const wf = ct.lattice((n: number) => Array.from({ length: n }, () => limited(1200)), { name: 'waves' });
    const res = await ct.dispatchSync(wf)(2 * POOL);
    expect(res.nodes.map((n) => n.status)).toEqual(Array(2 * POOL).fill('COMPLETED'));
  });

  it('a dispatch timeLimit cancels running and queued tasks alike; queued ones never start', async () => {
    const d = newDir();
    const wf = ct.lattice((x: string, n: number) => Array.from({ length: n }, (_, i) => hang(x, i)), { name: 'dispatch-limit' });
    const id = await ct.dispatch(wf, { timeLimit: '2s' })(d, 2 * POOL);
    await waitFor('the first wave to start', () => pidsIn(d).length === POOL);
    const res = await ct.getResult(id, { wait: 30_000 });
    expect(res.status).toBe('CANCELLED');
    expect(res.nodes.every((n) => n.cancelReason === 'time limit' && n.cancelSource === 'limit')).toBe(true);
    expect(res.nodes.filter((n) => n.cancelOutcome === 'killed')).toHaveLength(POOL);
    expect(res.nodes.filter((n) => n.cancelOutcome === 'aborted_before_start')).toHaveLength(POOL);
    expect(ticksIn(d)).toBe(POOL);
    for (const pid of pidsIn(d)) expect(processRunning(pid)).toBe(false);
  });

  it("the lattice's timeLimit applies to every dispatch of it", async () => {
    const d = newDir();
    const wf = ct.lattice((x: string) => hang(x, 0), { name: 'lattice-limit', timeLimit: 1000 });
    const res = await ct.getResult(await ct.dispatch(wf)(d), { wait: 30_000 });
    expect(res.nodes[0]).toMatchObject({ status: 'CANCELLED', cancelReason: 'time limit', cancelSource: 'limit' });
  });

  it("emits 'limitWarning' at 80 % of a task's limit, before the cancel; the node shows it", async () => {
    const d = newDir();
    const limited = hangWith({ timeLimit: '2s' });
    const wf = ct.lattice((x: string) => limited(x, 0), { name: 'warned' });
    const warnings: Array<ct.LimitWarningEvent & { at: number }> = [];
    const onWarn = (e: ct.LimitWarningEvent) => warnings.push({ ...e, at: Date.now() });
    ct.getDispatcher().on('limitWarning', onWarn);
    try {
      const id = await ct.dispatch(wf)(d);
      await waitFor('the task to start', () => pidsIn(d).length === 1);
      const started = Date.now();
      const warning = await waitFor('the warning', () => warnings.find((w) => w.dispatchId === id));
      expect(warning).toMatchObject({ nodeId: 0, name: 'hang', limit: 'time limit', max: 2000 });
      expect(warning.at - started).toBeGreaterThanOrEqual(1400);
      expect(warning.message).toMatch(/^time limit 8\d% /);
      expect(ct.getDispatcher().liveSnapshot(id)!.nodes[0].limitWarning).toBe(warning.message);
      expect(ct.getDispatcher().liveSnapshot(id)!.nodes[0].status).toBe('RUNNING');
      const res = await ct.getResult(id, { wait: 30_000 });
      expect(res.nodes[0].cancelReason).toBe('time limit');
    } finally {
      ct.getDispatcher().off('limitWarning', onWarn);
    }
  });

  it("the dispatch's own warning is on its stored row while it runs (what ct status and other processes read)", async () => {
    const d = newDir();
    const wf = ct.lattice((x: string) => hang(x, 0), { name: 'dispatch-warned' });
    const warnings: ct.LimitWarningEvent[] = [];
    const onWarn = (e: ct.LimitWarningEvent) => warnings.push(e);
    ct.getDispatcher().on('limitWarning', onWarn);
    try {
      const id = await ct.dispatch(wf, { timeLimit: '5s' })(d);
      const warning = await waitFor('the dispatch warning', () => warnings.find((w) => w.dispatchId === id && w.nodeId === null), 30_000);
      expect(warning.message).toMatch(/^time limit 8\d% \(.* of 5s\)$/);
      // Written with the next snapshot although no task changed meanwhile.
      await ct.getDispatcher().flush();
      const other = await Store.open(ct.getDispatcher().home);
      const row = other.readDispatch(id)!.dispatch;
      expect(row.status).toBe('RUNNING');
      expect(row.limitWarning).toBe(warning.message);
      await ct.cancel(id);
    } finally {
      ct.getDispatcher().off('limitWarning', onWarn);
    }
  });
});

describe('budgets', () => {
  it('stops running tasks when the priced estimate reaches the budget; pending tasks never start', async () => {
    const d = newDir();
    // 3600 per hour: each running task costs 1 per second.
    const priced = new ct.LocalExecutor({ price: { perHour: 3600 } });
    const task = hangWith({ executor: priced });
    const wf = ct.lattice((x: string, n: number) => Array.from({ length: n }, (_, i) => after(task(x, i))), { name: 'budget' });
    const warnings: ct.LimitWarningEvent[] = [];
    const onWarn = (e: ct.LimitWarningEvent) => warnings.push(e);
    ct.getDispatcher().on('limitWarning', onWarn);
    try {
      const id = await ct.dispatch(wf, { budget: 1.5 * POOL })(d, 2 * POOL);
      const res = await ct.getResult(id, { wait: 30_000 });
      expect(res.status).toBe('CANCELLED');
      const tasks = res.nodes.filter((n) => n.name === 'hang');
      expect(tasks.every((n) => n.status === 'CANCELLED' && n.cancelReason === 'budget' && n.cancelSource === 'limit')).toBe(true);
      expect(ticksIn(d)).toBe(POOL); // the queued half never started
      for (const pid of pidsIn(d)) expect(processRunning(pid)).toBe(false);
      const snap = await ct.getDispatcher().snapshot(id);
      expect(snap.cost).toBeGreaterThanOrEqual(1.5 * POOL);
      expect(snap.cost).toBeLessThan(3 * POOL);
      expect(warnings.find((w) => w.dispatchId === id && w.nodeId === null)).toMatchObject({ limit: 'budget', max: 1.5 * POOL });
    } finally {
      ct.getDispatcher().off('limitWarning', onWarn);
    }
  });

  it("refuses to start a task whose minimum cost exceeds what is left (reason 'budget'); the others complete", async () => {
    const priced = new ct.LocalExecutor({ price: { perTask: 1 } });
    const task = sleepyWith({ executor: priced });
    // Two tasks fit in 2.5; the third, started after them, would cost 3.
    const wf = ct.lattice(() => {
      const a = task(10);
      const b = task(10);
      return task(after([a, b]) as unknown as number);
    }, { name: 'min-cost' });
    const res = await ct.dispatchSync(wf, { budget: 2.5 })();
    expect(res.nodes.map((n) => [n.name, n.status])).toEqual([
      ['sleepy', 'COMPLETED'], ['sleepy', 'COMPLETED'], ['after', 'COMPLETED'], ['sleepy', 'CANCELLED'],
    ]);
    expect(res.nodes[3]).toMatchObject({ cancelReason: 'budget', cancelSource: 'limit', cancelOutcome: 'aborted_before_start' });
    expect(res.nodes[0].startedAt).not.toBeNull();
    expect(res.nodes[3].startedAt).toBeNull();
  });
});

describe('bad limit values are refused at dispatch', () => {
  const wf = (opts: ct.ElectronOptions = {}, lat: ct.LatticeOptions = {}) => ct.lattice(() => ct.electron(function t() { return 1; }, opts)(), lat);
  it.each([
    ['an electron timeLimit that is not a duration', () => ct.dispatch(wf({ timeLimit: '10 minutes please' }))(), /Task 0 \(t\) timeLimit must be a positive duration/],
    ['a negative electron timeLimit', () => ct.dispatch(wf({ timeLimit: -5 }))(), /timeLimit must be a positive duration/],
    ['a lattice timeLimit of 0', () => ct.dispatch(wf({}, { timeLimit: 0 }))(), /ct.lattice timeLimit/],
    ['a dispatch timeLimit in unknown units', () => ct.dispatch(wf(), { timeLimit: '2 weeks' })(), /ct.dispatch timeLimit/],
    ['a negative budget', () => ct.dispatch(wf({ executor: new ct.LocalExecutor({ price: { perHour: 1 } }) }), { budget: -1 })(), /budget must be a number > 0/],
    ['a budget with no priced executor', () => ct.dispatch(wf(), { budget: 10 })(), /no task's executor has a price/],
    ['a price with an unknown field', () => ct.dispatch(wf({ executor: new ct.LocalExecutor({ price: { perMinute: 1 } as any }) }))(), /unknown field perMinute/],
    ['an unknown dispatch option', () => ct.dispatch(wf(), { timelimit: '1h' } as any)(), /unknown option timelimit/],
  ])('%s', async (_what, run, message) => {
    const err = await run().then(() => undefined, (e) => e);
    expect(err).toBeInstanceOf(ct.InvalidInputError);
    expect(err.code).toBe('CT_INVALID_ARGUMENT');
    expect(err.message).toMatch(message);
  });

  it('accepts the documented duration forms', async () => {
    const { parseDuration } = await import('../../src/workflow/duration');
    expect(['90s', '10m', '2h', '1h30m', '250ms', 1500].map((v) => parseDuration(v, 'x'))).toEqual([90_000, 600_000, 7_200_000, 5_400_000, 250, 1500]);
  });
});
