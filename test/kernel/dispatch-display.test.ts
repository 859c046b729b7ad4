import { startKernel, type RunningKernel } from '../../kernel/testing/kernel-process';
import type { Msg } from '../../kernel/testing/kernel-client';

/** Dispatches shown live in the cell that dispatched them, and task output routed there. */
jest.setTimeout(120000);

const MIME = 'application/vnd.covalent-ts.dispatch+json';
let k: RunningKernel;
beforeAll(async () => {
  k = await startKernel();
  const r = await k.client.execute(`import * as ct from 'covalent-ts';
const inc = ct.electron((x: number) => x + 1);
const chatty = ct.electron(async (x: number) => { console.log("task says hi"); await new Promise((r) => setTimeout(r, 2500)); console.log("task says bye"); return x * 10; });
const flow = ct.lattice((x: number) => chatty(inc(x)));
const step = ct.electron(async (x: number) => { await new Promise((r) => setTimeout(r, 400)); return x + 1; });
const steps = ct.lattice((x: number) => step(step(step(step(x)))));`);
  expect(r.reply.content.status).toBe('ok');
});
afterAll(async () => {
  await k?.stop();
});

const result = (msgs: Msg[]) => msgs.find((m) => m.header.msg_type === 'execute_result')!.content.data['text/plain'];
const idOf = (msgs: Msg[]) => JSON.parse(result(msgs).replace(/'/g, '"'));
const streamText = (msgs: Msg[]) =>
  msgs
    .filter((m) => m.header.msg_type === 'stream')
    .map((m) => m.content.text)
    .join('');

test('ct.dispatch shows a live display in its cell, updated to the final state, and task output goes to that cell', async () => {
  const a = await k.client.execute('await ct.dispatch(flow)(4)');
  const id = idOf(a.iopub);
  const shown = a.iopub.filter((m) => m.header.msg_type === 'display_data');
  expect(shown).toHaveLength(1);
  const content = shown[0].content;
  expect(content.transient.display_id).toBe(`covalent-ts-dispatch-${id}`);
  expect(content.data[MIME]).toMatchObject({ dispatchId: id, snapshot: { dispatchId: id } });
  expect(content.data[MIME].snapshot.nodes).toHaveLength(2);
  expect(content.data['text/plain']).toContain(`Dispatch ${id}`);
  expect(content.data['text/html']).toContain('<svg');
  expect(content.data['text/html']).toContain(`data-dispatch-id="${id}"`);

  // Cell B waits for the result; the task's output must still go to cell A.
  const b = await k.client.execute(`(await ct.getResult(${JSON.stringify(id)}, { wait: true })).result`);
  expect(result(b.iopub)).toBe('50');
  expect(streamText(b.iopub)).toBe('');
  await k.client.waitFor(() => streamText(k.client.children(a.req)).includes('task says bye'), 20000, 'task output in cell A');
  expect(streamText(k.client.children(a.req))).toBe('task says hi\ntask says bye\n');

  const updates = k.client.iopubMessages.filter((m) => m.header.msg_type === 'update_display_data' && m.content.transient.display_id === content.transient.display_id);
  expect(updates.length).toBeGreaterThanOrEqual(1);
  const final = updates[updates.length - 1].content.data[MIME].snapshot;
  expect(final.status).toBe('COMPLETED');
  expect(final.nodes.every((n: any) => n.status === 'COMPLETED')).toBe(true);
  // The final state is also sent to the cell that was running then, for clients that only read the running cell.
  expect(updates.some((m) => m.parent_header.msg_id === b.req.header.msg_id && m.content.data[MIME].snapshot.status === 'COMPLETED')).toBe(true);
});

test('ct.show(id) shows a dispatch in any cell', async () => {
  const a = await k.client.execute('await ct.dispatch(flow)(1)');
  const id = idOf(a.iopub);
  await k.client.execute(`await ct.getResult(${JSON.stringify(id)}, { wait: true }); 0`);
  const s = await k.client.execute(`ct.show(${JSON.stringify(id)})`);
  const shown = s.iopub.filter((m) => m.header.msg_type === 'display_data');
  expect(shown).toHaveLength(1);
  expect(shown[0].content.data[MIME].snapshot.status).toBe('COMPLETED');
  expect(shown[0].content.transient.display_id).toBe(`covalent-ts-dispatch-${id}`);
});

test('ct.show of an unknown dispatch reports the error in the cell', async () => {
  const s = await k.client.execute('ct.show("no-such-dispatch")');
  await k.client.waitFor(() => streamText(k.client.children(s.req)).includes('no-such-dispatch'), 20000, 'error text');
  expect(streamText(k.client.children(s.req))).toMatch(/ct\.show: No dispatch with id "no-such-dispatch"/);
});

// The other half, a comm subscribed (the final state only), is 'one channel while a comm is subscribed' in comm-protocol.test.ts.
test('without a subscribed comm, the display follows the running dispatch, then shows its final state', async () => {
  const updates = (id: string) =>
    k.client.iopubMessages
      .filter((m) => m.header.msg_type === 'update_display_data' && m.content.transient.display_id === `covalent-ts-dispatch-${id}`)
      .map((m) => m.content.data[MIME].snapshot.status as string);
  const id = idOf((await k.client.execute('await ct.dispatch(steps)(0)')).iopub);
  await k.client.execute(`await ct.getResult(${JSON.stringify(id)}, { wait: true }); 0`);
  await k.client.waitFor(() => updates(id).find((st) => st === 'COMPLETED'), 20000, 'the final display update');
  expect(updates(id).filter((st) => st === 'RUNNING').length).toBeGreaterThanOrEqual(1);
  expect(updates(id)[updates(id).length - 1]).toBe('COMPLETED');
});
