import * as fs from 'fs';
import * as path from 'path';
import { startKernel, type RunningKernel } from '../../kernel/testing/kernel-process';
import { CommClient } from '../../kernel/testing/comm-client';

/**
 * Another local process can reach the kernel's ports but does not know the
 * key: whatever it sends unsigned, wrongly signed or replayed is dropped and
 * logged. It can neither run code nor cancel work.
 */
jest.setTimeout(120000);

let k: RunningKernel;
beforeAll(async () => {
  k = await startKernel();
});
afterAll(async () => {
  await k?.stop();
});

const marker = (name: string) => path.join(k.dir, name);
const touch = (file: string) => `require("fs").writeFileSync(${JSON.stringify(file)}, "x")`;
const exec = (code: string) => ({ code, silent: false, store_history: true, user_expressions: {}, allow_stdin: false, stop_on_error: true });

/** A valid request sent after the bad ones is answered, so the bad ones were processed (and dropped) by then. */
async function barrier(): Promise<void> {
  await k.client.execute('0');
}

test.each(['none', 'wrong'] as const)('an execute_request with %s signature never runs and gets no reply', async (signing) => {
  const file = marker(`exec-${signing}`);
  const req = k.client.send('execute_request', exec(touch(file)), { signing });
  await barrier();
  expect(fs.existsSync(file)).toBe(false);
  expect(k.client.hasReply(req)).toBe(false);
  expect(k.client.children(req)).toHaveLength(0);
  expect(k.log()).toMatch(signing === 'none' ? /dropped a shell message: unsigned message/ : /dropped a shell message: invalid signature/);
});

test('a replayed (captured and resent) execute_request runs only once', async () => {
  const file = marker('replay');
  const msg = k.client.message('execute_request', exec(`require("fs").appendFileSync(${JSON.stringify(file)}, "x")`));
  const frames = k.client.frames(msg);
  k.client.sendRaw(frames);
  await k.client.reply(msg);
  k.client.sendRaw(frames);
  await barrier();
  expect(fs.readFileSync(file, 'utf8')).toBe('x');
  expect(k.log()).toMatch(/duplicate signature/);
});

test('a tampered message (valid signature of other content) is dropped', async () => {
  const file = marker('tampered');
  const msg = k.client.message('execute_request', exec('1'));
  const frames = k.client.frames(msg);
  frames[frames.length - 1] = Buffer.from(JSON.stringify(exec(touch(file))));
  k.client.sendRaw(frames);
  await barrier();
  expect(fs.existsSync(file)).toBe(false);
});

test('a wrongly signed comm cancel does not cancel the dispatch', async () => {
  await k.client.execute(`import * as ct from 'covalent-ts';
const nap = ct.electron(async (ms: number) => { await new Promise((r) => setTimeout(r, ms)); return ms; });
const napWf = ct.lattice((ms: number) => nap(ms));`);
  const r = await k.client.execute('await ct.dispatch(napWf)(60000)');
  const id = JSON.parse(r.iopub.find((m) => m.header.msg_type === 'execute_result')!.content.data['text/plain'].replace(/'/g, '"'));
  const comm = new CommClient(k.client);
  await comm.open();
  comm.sendData({ v: 1, id: 'evil', type: 'cancel_dispatch', dispatchId: id }, 'wrong');
  comm.sendData({ v: 1, id: 'evil2', type: 'cancel_dispatch', dispatchId: id }, 'none');
  const list = await comm.request({ v: 1, type: 'list' });
  expect(list.result.dispatches.find((d: any) => d.dispatchId === id).status).toBe('RUNNING');
  expect(comm.received().filter((d) => d?.id === 'evil' || d?.id === 'evil2')).toHaveLength(0);
  const status = await k.client.execute(`(await ct.getResult(${JSON.stringify(id)})).status`);
  expect(status.iopub.find((m) => m.header.msg_type === 'execute_result')!.content.data['text/plain']).toBe("'RUNNING'");
  await comm.request({ v: 1, type: 'cancel_dispatch', dispatchId: id });
});

test('a wrongly signed interrupt or shutdown on control is ignored', async () => {
  const long = k.client.send('execute_request', exec('await new Promise((r) => setTimeout(r, 3000)); "finished"'));
  await k.client.waitFor(() => k.client.children(long).find((m) => m.header.msg_type === 'execute_input'), 20000, 'cell start');
  const intr = k.client.send('interrupt_request', {}, { channel: 'control', signing: 'wrong' });
  const shut = k.client.send('shutdown_request', { restart: false }, { channel: 'control', signing: 'wrong' });
  const reply = await k.client.reply(long, 30000);
  expect(reply.content.status).toBe('ok');
  expect(k.client.hasReply(intr)).toBe(false);
  expect(k.client.hasReply(shut)).toBe(false);
  expect(k.proc.exitCode).toBeNull();
  expect(k.log()).toMatch(/dropped a control message: invalid signature/);
});

test('messages the kernel sends are signed with the key (the client checks every one)', async () => {
  // KernelClient throws on any message whose signature is wrong; reaching here with
  // messages received proves they were all signed correctly.
  expect(k.client.iopubMessages.length).toBeGreaterThan(10);
});
