import * as ct from '../../src';
import { usePrivateHome } from '../support/wait';

usePrivateHome();
afterAll(() => ct.shutdown());

const add = ct.electron(function add(a: number, b: number) {
  return a + b;
});
const double = ct.electron(function double(x: number) {
  return x * 2;
});
const boom = ct.electron(function boom(msg: string): number {
  throw new Error(msg);
});

describe('dispatching a workflow', () => {
  it('runs tasks on local workers and returns the lattice result', async () => {
    const wf = ct.lattice((x: number) => add(double(x), 1), { name: 'demo' });
    const res = await ct.dispatchSync(wf)(20);
    expect(res.status).toBe('COMPLETED');
    expect(res.result).toBe(41);
    expect(res.nodes.map((n) => [n.id, n.name, n.status, n.output])).toEqual([
      [0, 'double', 'COMPLETED', 40],
      [1, 'add', 'COMPLETED', 41],
    ]);
    expect(res.nodes[0].executor).toBe('local');
    expect(res.startedAt).toBeInstanceOf(Date);
    expect(res.completedAt!.getTime()).toBeGreaterThanOrEqual(res.startedAt!.getTime());
  });

  it('returns the graph at once with wait: false, and the final state with wait: true', async () => {
    const slow = ct.electron(async function slow(ms: number) {
      await new Promise((r) => setTimeout(r, ms));
      return ms;
    });
    const wf = ct.lattice((ms: number) => add(slow(ms), 1));
    const id = await ct.dispatch(wf)(300);
    expect(typeof id).toBe('string');
    const now = await ct.getResult(id);
    expect(now.status).toBe('RUNNING');
    expect(now.nodes.map((n) => n.id)).toEqual([0, 1]);
    const early = await ct.getResult(id, { wait: 1 });
    expect(early.status).toBe('RUNNING');
    const done = await ct.getResult(id, { wait: true });
    expect(done.status).toBe('COMPLETED');
    expect(done.result).toBe(301);
  });

  it('returns arrays and objects holding outputs, and Dates and Maps survive the trip', async () => {
    const when = ct.electron(function when(d: Date) {
      return new Map([['year', d.getUTCFullYear()]]);
    });
    const wf = ct.lattice((d: Date) => ({ list: [double(1), double(2)], m: when(d) }));
    const res = await ct.dispatchSync(wf)(new Date(Date.UTC(2026, 0, 1)));
    const result = res.result as { list: number[]; m: Map<string, number> };
    expect(result.list).toEqual([2, 4]);
    // The Map comes from another realm than jest's sandbox: compare by its own iterator.
    expect(Object.prototype.toString.call(result.m)).toBe('[object Map]');
    expect([...result.m]).toEqual([['year', 2026]]);
  });

  it('expands a sublattice into its own dispatch', async () => {
    const inner = ct.lattice((x: number) => double(double(x)), { name: 'inner' });
    const sub = ct.electron(inner);
    const wf = ct.lattice((x: number) => add(sub(x), 1));
    const res = await ct.dispatchSync(wf)(3);
    expect(res.result).toBe(13);
    const subNode = res.nodes[0];
    expect(subNode.kind).toBe('sublattice');
    expect(subNode.subDispatchId).toEqual(expect.any(String));
    const child = await ct.getResult(subNode.subDispatchId!);
    expect(child.parentDispatchId).toBe(res.dispatchId);
    expect(child.nodes.map((n) => n.output)).toEqual([6, 12]);
  });

  it('runs inline tasks in this process with objects that cannot be serialized', async () => {
    const useFn = ct.electron((f: (x: number) => number) => f(2), { executor: 'inline' });
    const wf = ct.lattice((f: (x: number) => number) => useFn(f));
    const res = await ct.dispatchSync(wf)((x: number) => x + 40);
    expect(res.result).toBe(42);
    expect(res.nodes[0].executor).toBe('inline');
  });

  it('gives a task its context (ids and an AbortSignal) through ct.taskContext()', async () => {
    const who = ct.electron(function who() {
      const c = ct.taskContext();
      return { id: c.nodeId, name: c.name, aborted: c.signal.aborted, dispatchId: c.dispatchId };
    });
    const wf = ct.lattice(() => who());
    const res = await ct.dispatchSync(wf)();
    expect(res.result).toEqual({ id: 0, name: 'who', aborted: false, dispatchId: res.dispatchId });
  });

  it('fails the dispatch when a task fails, cancels its dependents, and completes independent tasks', async () => {
    const wf = ct.lattice(() => [add(boom('bad input'), 1), double(21)]);
    const res = await ct.dispatchSync(wf)();
    expect(res.status).toBe('FAILED');
    expect(res.nodes.map((n) => n.status)).toEqual(['FAILED', 'CANCELLED', 'COMPLETED']);
    expect(res.nodes[0].error).toMatch(/bad input/);
    expect(res.nodes[1].cancelReason).toMatch(/upstream task 0 \(boom\) failed/);
    expect(res.nodes[2].output).toBe(42);
    expect(res.error).toMatch(/Task 0 \(boom\) failed/);
  });
});

describe('bad input gets a clear error and changes nothing', () => {
  it('refuses to dispatch something that is not a lattice', async () => {
    await expect(ct.dispatch((() => 1) as any)()).rejects.toMatchObject({ code: 'CT_NOT_A_LATTICE' });
    await expect(ct.dispatch(add as any)(1, 2)).rejects.toThrow(/Wrap the workflow function with ct.lattice/);
  });

  it('names a variable an electron takes from outside itself, at dispatch time', async () => {
    const factor = 3;
    const scaled = ct.electron(function scaled(x: number) {
      return x * factor;
    });
    const wf = ct.lattice((x: number) => scaled(x));
    const before = ct.getDispatcher().listDispatches().length;
    const err = await ct.dispatch(wf)(1).catch((e) => e);
    expect(err).toBeInstanceOf(ct.InvalidInputError);
    expect(err.code).toBe('CT_FREE_VARIABLE');
    expect(err.message).toMatch(/"factor"/);
    expect(err.message).toMatch(/Pass the value as an argument/);
    expect(ct.getDispatcher().listDispatches().length).toBe(before);
  });

  it('refuses arguments that cannot be serialized, saying where they are', async () => {
    class Point {
      constructor(public x: number) {}
    }
    const wf = ct.lattice((p: unknown) => double(p as number));
    await expect(ct.dispatch(wf)({ nested: [() => 1] })).rejects.toMatchObject({ code: 'CT_NOT_SERIALIZABLE' });
    await expect(ct.dispatch(wf)({ nested: [() => 1] })).rejects.toThrow(/\.nested\[0\] is a function/);
    await expect(ct.dispatch(wf)(new Point(1))).rejects.toThrow(/instance of Point/);
  });

  it('refuses an unknown executor name, listing the known ones', async () => {
    const t = ct.electron(function t() {
      return 1;
    }, { executor: 'nope' });
    await expect(ct.dispatch(ct.lattice(() => t()))()).rejects.toThrow(/executor "nope".*Known executors: .*inline.*local/s);
  });

  it('reports unknown dispatch ids', async () => {
    await expect(ct.getResult('no-such-id')).rejects.toMatchObject({ code: 'CT_UNKNOWN_DISPATCH' });
    await expect(ct.cancel('no-such-id')).rejects.toMatchObject({ code: 'CT_UNKNOWN_DISPATCH' });
    await expect(ct.getResult(42 as any)).rejects.toMatchObject({ code: 'CT_INVALID_ARGUMENT' });
  });
});
