import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { startKernel, type RunningKernel } from '../../kernel/testing/kernel-process';
import { CommClient } from '../../kernel/testing/comm-client';

/**
 * A kernel that dies mid-dispatch leaves an orphan; the next kernel on the
 * same CT_HOME says so once, in its first cell's output, and its comm lists
 * the dispatch as orphaned (real kernel processes, SIGKILL in between).
 */
jest.setTimeout(180000);

const kernels: RunningKernel[] = [];
afterAll(async () => {
  for (const k of kernels) await k.stop().catch(() => undefined);
});

const text = (r: { iopub: any[] }, name: string) =>
  r.iopub.filter((m) => m.header.msg_type === 'stream' && m.content.name === name).map((m) => m.content.text).join('');
const result = (r: { iopub: any[] }) => r.iopub.find((m) => m.header.msg_type === 'execute_result')?.content.data['text/plain'];

test('a restarted kernel reports the dead kernel’s unfinished dispatch once, and its comm marks it orphaned', async () => {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'ct-orphan-home-'));
  const first = await startKernel({ env: { CT_HOME: home } });
  kernels.push(first);
  // No store yet: the first cell says nothing about orphans.
  const quiet = await first.client.execute(`import * as ct from 'covalent-ts';
const nap = ct.electron(async function nap(ms: number) { await new Promise((r) => setTimeout(r, ms)); return ms; });
const wf = ct.lattice(function longWf(ms: number) { return nap(ms); });`);
  expect(quiet.reply.content.status).toBe('ok');
  expect(text(quiet, 'stderr')).not.toMatch(/orphaned/);
  const d = await first.client.execute(`const id = await ct.dispatch(wf)(600000); id`);
  const id = JSON.parse(result(d).replace(/'/g, '"'));
  const define = await first.client.execute(`async function untilRunning(): Promise<string> {
  for (;;) {
    const s = ct.getDispatcher().liveSnapshot(id);
    if (s && s.nodes.some((n) => n.status === 'RUNNING')) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  await (await ct.getDispatcher().getStore()).flush();
  return 'running';
}`);
  expect(define.reply.content.status).toBe('ok');
  const wait = await first.client.execute(`await untilRunning()`);
  expect([wait.reply.content.status, wait.reply.content.evalue]).toEqual(["ok", undefined]);
  expect(result(wait)).toBe("'running'");
  first.proc.kill('SIGKILL');
  await first.exited;

  const second = await startKernel({ env: { CT_HOME: home } });
  kernels.push(second);
  const r1 = await second.client.execute(`1 + 1`);
  expect(r1.reply.content.status).toBe('ok');
  expect(result(r1)).toBe('2');
  const notice = text(r1, 'stderr');
  expect(notice).toMatch(/1 orphaned dispatch /);
  expect(notice).toContain(id);
  expect(notice).toMatch(/nap RUNNING/);
  expect(notice).toContain(`pid ${first.proc.pid}`);
  expect(notice).toMatch(/ct cancel <id>/);
  // Once per process.
  const r2 = await second.client.execute(`2 + 2`);
  expect(text(r2, 'stderr')).not.toMatch(/orphaned/);

  const comm = new CommClient(second.client);
  await comm.open();
  const list = await comm.request({ v: 1, type: 'list' });
  expect(list.result.dispatches).toEqual([expect.objectContaining({ dispatchId: id, name: 'longWf', status: 'RUNNING', orphaned: true, nodeCount: 1 })]);
  const snap = await comm.request({ v: 1, type: 'subscribe', dispatchId: id });
  expect(snap.result.snapshot).toMatchObject({ dispatchId: id, orphaned: true });
});
