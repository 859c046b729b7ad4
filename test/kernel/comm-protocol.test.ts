import { startKernel, type RunningKernel } from '../../kernel/testing/kernel-process';
import { CommClient } from '../../kernel/testing/comm-client';

/**
 * The `covalent-ts` comm protocol, driven over ZMQ against the real kernel
 * process as a table of requests and expected replies (the shape of
 * ijavascript's messages_v5 tests). A cell dispatches slow workflows so that
 * subscribe and cancel have something live to act on.
 */
jest.setTimeout(120000);

let k: RunningKernel;
let comm: CommClient;
let running: string; // a dispatch the table cancels parts of
const DISPATCH_CELL = `import * as ct from 'covalent-ts';
const sleep = ct.electron(async (ms: number) => { await new Promise((r) => setTimeout(r, ms)); return ms; });
const slowWf = ct.lattice((ms: number) => { const a = sleep(ms); const b = sleep(ms); return [a, b]; });
`;

async function dispatchSlow(): Promise<string> {
  const r = await k.client.execute(`await ct.dispatch(slowWf)(60000)`);
  expect(r.reply.content.status).toBe('ok');
  return JSON.parse(r.iopub.find((m) => m.header.msg_type === 'execute_result')!.content.data['text/plain'].replace(/'/g, '"'));
}

beforeAll(async () => {
  k = await startKernel();
  const r = await k.client.execute(DISPATCH_CELL);
  expect(r.reply.content.status).toBe('ok');
  running = await dispatchSlow();
  comm = new CommClient(k.client);
  await comm.open();
});

afterAll(async () => {
  await k?.stop();
});

type Row = [string, () => unknown, (reply: any) => void];
const V = 1;
const err = (code: string, re?: RegExp) => (r: any) => {
  expect(r).toMatchObject({ v: V, type: 'reply', ok: false, error: { code } });
  if (re) expect(r.error.message).toMatch(re);
};

const table: Row[] = [
  ['hello with a supported version', () => ({ v: V, type: 'hello', protocols: [1] }), (r) => expect(r).toMatchObject({ ok: true, result: { protocol: 1, kernel: 'covalent-ts' } })],
  ['hello without a common version', () => ({ v: V, type: 'hello', protocols: [7, 8] }), err('CT_PROTOCOL', /No common protocol version/)],
  ['hello with a missing protocols list', () => ({ v: V, type: 'hello' }), err('CT_PROTOCOL', /protocols/)],
  ['list', () => ({ v: V, type: 'list' }), (r) => expect(r.result.dispatches.map((d: any) => d.dispatchId)).toContain(running)],
  [
    'subscribe to a running dispatch',
    () => ({ v: V, type: 'subscribe', dispatchId: running }),
    (r) => {
      expect(r.ok).toBe(true);
      expect(r.result.seq).toBe(0);
      expect(r.result.snapshot).toMatchObject({ dispatchId: running, status: 'RUNNING' });
      expect(r.result.snapshot.nodes.length).toBeGreaterThanOrEqual(2);
    },
  ],
  ['subscribe to an unknown dispatch', () => ({ v: V, type: 'subscribe', dispatchId: 'no-such-dispatch' }), err('CT_UNKNOWN_DISPATCH')],
  ['unsubscribe', () => ({ v: V, type: 'unsubscribe', dispatchId: 'no-such-dispatch' }), (r) => expect(r).toMatchObject({ ok: true, result: { unsubscribed: false } })],
  ['cancel an unknown dispatch', () => ({ v: V, type: 'cancel_dispatch', dispatchId: 'no-such-dispatch' }), err('CT_UNKNOWN_DISPATCH')],
  ['cancel an unknown task', () => ({ v: V, type: 'cancel_tasks', dispatchId: running, taskIds: [9999] }), err('CT_UNKNOWN_TASK')],
  ['cancel tasks with a negative id', () => ({ v: V, type: 'cancel_tasks', dispatchId: running, taskIds: [-1] }), err('CT_PROTOCOL', /taskIds/)],
  ['cancel tasks with an empty list', () => ({ v: V, type: 'cancel_tasks', dispatchId: running, taskIds: [] }), err('CT_PROTOCOL')],
  ['an unknown request type', () => ({ v: V, type: 'explode' }), err('CT_PROTOCOL', /Unknown request type "explode"/)],
  ['an unexpected property', () => ({ v: V, type: 'list', sneaky: true }), err('CT_PROTOCOL', /sneaky/)],
  ['a wrong protocol version', () => ({ v: 99, type: 'list' }), err('CT_PROTOCOL', /version 99/)],
  ['a dispatch id of the wrong type', () => ({ v: V, type: 'subscribe', dispatchId: 42 }), err('CT_PROTOCOL', /dispatchId/)],
  ['a reason of the wrong type', () => ({ v: V, type: 'cancel_dispatch', dispatchId: running, reason: { no: 1 } }), err('CT_PROTOCOL', /reason/)],
];

describe('comm requests and replies', () => {
  test.each(table)('%s', async (_name, make, check) => {
    const reply = await comm.request(make() as Record<string, unknown>);
    check(reply);
  });
});

describe('malformed comm payloads get an error reply with a null id', () => {
  test.each<[string, unknown]>([
    ['a string', 'hello'],
    ['an array', [1, 2]],
    ['null', null],
    ['no id', { v: V, type: 'list' }],
    ['a non-string id', { v: V, id: 7, type: 'list' }],
  ])('%s', async (_name, data) => {
    const reply = await comm.requestRaw(data);
    expect(reply).toMatchObject({ type: 'reply', id: null, ok: false, error: { code: 'CT_PROTOCOL' } });
  });
});

describe('cancel over the comm', () => {
  test('cancel_tasks stops one task, replies with the report, and pushes deltas in sequence', async () => {
    const snap = (await comm.request({ v: V, type: 'subscribe', dispatchId: running })).result.snapshot;
    const target = snap.nodes.find((n: any) => ['RUNNING', 'QUEUED', 'NEW_OBJECT'].includes(n.status)); // QUEUED: waiting for a free local worker
    const reply = await comm.request({ v: V, type: 'cancel_tasks', dispatchId: running, taskIds: [target.id], reason: 'from the test' });
    expect(reply.ok).toBe(true);
    expect(reply.result).toMatchObject({ dispatchId: running, source: 'comm', reason: 'from the test', requestedTaskIds: [target.id] });
    expect(reply.result.tasks.map((t: any) => t.nodeId)).toContain(target.id);
    const nodeCancelled = () =>
      comm
        .deltas(running)
        .flatMap((d) => d.nodes)
        .find((n: any) => n.id === target.id && n.status === 'CANCELLED');
    await k.client.waitFor(nodeCancelled, 20000, 'a delta with the cancelled task');
    expect(nodeCancelled()).toMatchObject({ cancelRequested: true, cancelSource: 'comm' });
    const seqs = comm.deltas(running).map((d) => d.seq);
    expect(seqs).toEqual(seqs.map((_s, i) => seqs[0] + i));
  });

  test('cancel_dispatch cancels the whole dispatch; the dispatch list is pushed', async () => {
    const reply = await comm.request({ v: V, type: 'cancel_dispatch', dispatchId: running, reason: 'stop' });
    expect(reply.ok).toBe(true);
    expect(reply.result).toMatchObject({ dispatchId: running, source: 'comm', requestedTaskIds: null });
    await k.client.waitFor(() => comm.deltas(running).find((d) => d.dispatch?.status === 'CANCELLED'), 20000, 'dispatch CANCELLED delta');
    await k.client.waitFor(
      () => comm.received().find((d) => d?.type === 'dispatches' && d.dispatches.some((x: any) => x.dispatchId === running && x.status === 'CANCELLED')),
      20000,
      'a dispatches push',
    );
    const r = await k.client.execute(`(await ct.getResult(${JSON.stringify(running)})).status`);
    expect(r.iopub.find((m) => m.header.msg_type === 'execute_result')!.content.data['text/plain']).toBe("'CANCELLED'");
  });

  test('a comm cancel is handled while a cell is still awaiting that dispatch', async () => {
    const id = await dispatchSlow();
    const waiting = k.client.send('execute_request', { code: `(await ct.getResult(${JSON.stringify(id)}, { wait: true })).status`, silent: false, store_history: true, user_expressions: {}, allow_stdin: false, stop_on_error: true });
    await k.client.waitFor(() => k.client.children(waiting).find((m) => m.header.msg_type === 'execute_input'), 20000, 'the cell to start');
    expect(k.client.hasReply(waiting)).toBe(false);
    const reply = await comm.request({ v: V, type: 'cancel_dispatch', dispatchId: id });
    expect(reply.ok).toBe(true);
    const done = await k.client.reply(waiting, 30000);
    expect(done.content.status).toBe('ok');
    const result = (await k.client.idle(waiting)).find((m) => m.header.msg_type === 'execute_result');
    expect(result!.content.data['text/plain']).toBe("'CANCELLED'");
  });
});

describe('comm bookkeeping', () => {
  test('comm_info_request lists the open comm under its target', async () => {
    const reply = await k.client.request('comm_info_request', { target_name: 'covalent-ts' });
    expect(reply.header.msg_type).toBe('comm_info_reply');
    expect(reply.content.status).toBe('ok');
    expect(reply.content.comms[comm.commId]).toEqual({ target_name: 'covalent-ts' });
    const other = await k.client.request('comm_info_request', { target_name: 'jupyter.widget' });
    expect(other.content.comms).toEqual({});
  });

  test('opening a comm on an unknown target is answered with comm_close', async () => {
    const stray = new CommClient(k.client, 'no-such-target');
    await stray.open();
    expect(k.client.iopubMessages.some((m) => m.header.msg_type === 'comm_close' && m.content.comm_id === stray.commId)).toBe(true);
  });

  test('after comm_close the comm is gone and the kernel still runs cells', async () => {
    const extra = new CommClient(k.client);
    await extra.open();
    expect((await k.client.request('comm_info_request', {})).content.comms[extra.commId]).toBeDefined();
    await k.client.idle(k.client.send('comm_close', { comm_id: extra.commId, data: {} }));
    expect((await k.client.request('comm_info_request', {})).content.comms[extra.commId]).toBeUndefined();
    const r = await k.client.execute('1 + 1');
    expect(r.iopub.find((m) => m.header.msg_type === 'execute_result')!.content.data['text/plain']).toBe('2');
  });
});

describe('one channel while a comm is subscribed', () => {
  test('the display gets no live updates, only the final state; the comm carries the deltas', async () => {
    const defined = await k.client.execute('const staggered = ct.lattice((ms: number) => [sleep(ms), sleep(3 * ms)]); "ok"');
    expect(defined.reply.content.status).toBe('ok');
    const r = await k.client.execute('await ct.dispatch(staggered)(1000)');
    expect(r.reply.content.status).toBe('ok');
    const id = JSON.parse(r.iopub.find((m) => m.header.msg_type === 'execute_result')!.content.data['text/plain'].replace(/'/g, '"'));
    const sub = await comm.request({ v: V, type: 'subscribe', dispatchId: id });
    expect(sub.ok).toBe(true);
    const from = k.client.iopubMessages.length;
    await k.client.waitFor(() => comm.deltas(id).find((d) => d.dispatch?.status === 'COMPLETED'), 30000, 'COMPLETED delta');
    const displayUpdates = () =>
      k.client.iopubMessages
        .slice(from)
        .filter((m) => m.header.msg_type === 'update_display_data' && m.content.transient?.display_id === `covalent-ts-dispatch-${id}`)
        .map((m) => m.content.data['application/vnd.covalent-ts.dispatch+json'].snapshot.status);
    await k.client.waitFor(() => displayUpdates().length > 0 || null, 30000, 'final display update');
    // The first task ended a second before the dispatch: the comm said so, the display did not.
    expect(comm.deltas(id).some((d) => d.nodes?.some((n: any) => n.status === 'COMPLETED') && d.dispatch?.status !== 'COMPLETED')).toBe(true);
    expect(new Set(displayUpdates())).toEqual(new Set(['COMPLETED']));
    await comm.request({ v: V, type: 'unsubscribe', dispatchId: id });
  });
});

describe('limit warnings over the comm', () => {
  test("a task's and the dispatch's own warning reach the subscribed client as deltas, before the limits cancel", async () => {
    // A task limited to 5 s (warns at 4 s) and the dispatch limited to 10 s (warns at 8 s): both while subscribed.
    const defined = await k.client.execute(`const hangs = ct.electron(async (x: number) => { await new Promise(() => undefined); return x; }, { name: 'hangs' });
const limitedTask = ct.electron(async (x: number) => { await new Promise(() => undefined); return x; }, { name: 'limitedTask', timeLimit: '5s' });
const limitedWf = ct.lattice((x: number) => [limitedTask(x), hangs(x)], { name: 'limited-wf' }); "ok"`);
    expect(defined.reply.content.status).toBe('ok');
    const r = await k.client.execute(`await ct.dispatch(limitedWf, { timeLimit: '10s' })(1)`);
    expect(r.reply.content.status).toBe('ok');
    const id = JSON.parse(r.iopub.find((m) => m.header.msg_type === 'execute_result')!.content.data['text/plain'].replace(/'/g, '"'));
    const sub = await comm.request({ v: V, type: 'subscribe', dispatchId: id });
    expect(sub.ok).toBe(true);
    expect(sub.result.snapshot.limitWarning ?? null).toBeNull();
    const nodeWarning = () => comm.deltas(id).flatMap((d) => d.nodes).find((n: any) => n.id === 0 && n.limitWarning);
    await k.client.waitFor(nodeWarning, 30000, "the task's warning delta");
    expect(nodeWarning().limitWarning).toMatch(/^time limit 8\d% \(/);
    const dispatchWarning = () => comm.deltas(id).find((d) => d.dispatch?.limitWarning);
    await k.client.waitFor(dispatchWarning, 30000, "the dispatch's warning delta");
    expect(dispatchWarning()!.dispatch).toMatchObject({ status: 'RUNNING', limitWarning: expect.stringMatching(/^time limit 8\d% \(.* of 10s\)$/) });
    // The warning came before the dispatch's limit fired, and the limit then cancelled it with its reason.
    const ended = () => comm.deltas(id).find((d) => d.dispatch?.status === 'CANCELLED');
    await k.client.waitFor(ended, 30000, 'the dispatch cancelled by its limit');
    expect(comm.deltas(id).indexOf(dispatchWarning()!)).toBeLessThan(comm.deltas(id).indexOf(ended()!));
    const reasons = comm.deltas(id).flatMap((d) => d.nodes).filter((n: any) => n.cancelReason).map((n: any) => [n.id, n.cancelReason, n.cancelSource]);
    expect(reasons).toEqual(expect.arrayContaining([[0, 'time limit', 'limit'], [1, 'time limit', 'limit']]));
    await comm.request({ v: V, type: 'unsubscribe', dispatchId: id });
  });
});

describe('after a cell replaces the dispatcher (ct.shutdown())', () => {
  test('the comm and the live display follow the new dispatcher', async () => {
    const down = await k.client.execute('await ct.shutdown(); "down"');
    expect(down.reply.content.status).toBe('ok');
    const r = await k.client.execute('await ct.dispatch(slowWf)(200)');
    expect(r.reply.content.status).toBe('ok');
    const id = JSON.parse(r.iopub.find((m) => m.header.msg_type === 'execute_result')!.content.data['text/plain'].replace(/'/g, '"'));
    expect(r.iopub.some((m) => m.header.msg_type === 'display_data')).toBe(true);
    const list = await comm.request({ v: V, type: 'list' });
    expect(list.result.dispatches.map((d: any) => d.dispatchId)).toEqual([id]);
    const sub = await comm.request({ v: V, type: 'subscribe', dispatchId: id });
    expect(sub.ok).toBe(true);
    await k.client.waitFor(() => comm.deltas(id).find((d) => d.dispatch?.status === 'COMPLETED'), 30000, 'COMPLETED delta from the new dispatcher');
    await k.client.waitFor(
      () =>
        k.client.iopubMessages.find(
          (m) => m.header.msg_type === 'update_display_data' && m.content.transient?.display_id === `covalent-ts-dispatch-${id}` && m.content.data['application/vnd.covalent-ts.dispatch+json'].snapshot.status === 'COMPLETED',
        ),
      30000,
      'final display update',
    );
  });
});
