/**
 * A reused pid is never trusted (issue 8): a pid the store recorded (the
 * owning process, a local worker, a job) is believed alive, or signalled,
 * only while it is still the very process that was recorded.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { promisify } from 'node:util';
import initSqlJs from 'sql.js';
import * as ct from '../../src';
import { processRunning, tempDir, waitFor } from '../support/wait';

const run = promisify(execFile);
const root = path.resolve(__dirname, '../..');
const lib = path.join(root, 'dist/src/index.js');
const cli = path.join(root, 'dist/src/cli/main.js');
const plugin = path.join(__dirname, 'support/detached-executor.js');

function script(body: string): string {
  const file = path.join(tempDir('ct-script-'), 'run.js');
  fs.writeFileSync(
    file,
    `const ct = require(${JSON.stringify(lib)});\nrequire(${JSON.stringify(plugin)})(ct);\n(async () => {\n${body}\n})().catch((e) => { console.error(e); process.exit(1); });\n`,
  );
  return file;
}

/** An unrelated long-running process, leader of its own process group (the most dangerous pid to reuse). */
function unrelatedProcess(): ChildProcess {
  const p = spawn('sleep', ['600'], { detached: true, stdio: 'ignore' });
  p.unref();
  return p;
}

/** Edit the store file directly, as if the kernel had handed the recorded pids to other processes. */
async function editStore(home: string, statements: Array<[string, unknown[]]>): Promise<void> {
  const SQL = await initSqlJs({ locateFile: (f: string) => path.join(path.dirname(require.resolve('sql.js')), f) });
  const file = path.join(home, 'store.sqlite');
  const db = new SQL.Database(fs.readFileSync(file));
  for (const [sql, params] of statements) db.run(sql, params as any[]);
  fs.writeFileSync(file, db.export());
  db.close();
}

/** Start an owner process that dispatches `body`'s lattice, waits until its jobs run and are stored, prints the id. */
async function startOwner(home: string, body: string): Promise<{ owner: ChildProcess; id: string }> {
  const owner = spawn(process.execPath, [script(body)], { env: { ...process.env, CT_HOME: home }, stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  owner.stdout!.on('data', (d) => (out += d));
  const id = await waitFor('the owner to print its dispatch id', () => /^[0-9a-f-]{36}\n/.test(out) && out.slice(0, 36), 60_000);
  return { owner, id };
}

async function sigkill(p: ChildProcess): Promise<void> {
  const exited = new Promise((r) => p.once('exit', r));
  p.kill('SIGKILL');
  await exited;
}

const children: ChildProcess[] = [];
afterAll(() => {
  for (const c of children) {
    try {
      process.kill(-c.pid!, 'SIGKILL');
    } catch {
      /* gone */
    }
  }
});

describe('process identity', () => {
  it('tells a recorded process from a later one with the same pid, and never vouches for another host', async () => {
    const me = ct.currentProcessIdentity();
    expect(me).toMatchObject({ pid: process.pid, host: os.hostname() });
    expect(me.startTime).toMatch(/^[0-9a-f-]+:\d+$/);
    expect(ct.processLiveness(me)).toBe('alive');
    // Same pid, another start time: that is a different process (the pid was reused).
    const [boot, ticks] = me.startTime!.split(':');
    expect(ct.processLiveness({ ...me, startTime: `${boot}:${Number(ticks) - 1}` })).toBe('gone');
    // Same pid and ticks, another boot: also different.
    expect(ct.processLiveness({ ...me, startTime: `00000000-0000-0000-0000-000000000000:${ticks}` })).toBe('gone');
    // Another host: this machine cannot tell, and says so.
    expect(ct.processLiveness({ ...me, host: `${os.hostname()}-elsewhere` })).toBe('unknown');

    const child = spawn('sleep', ['30'], { stdio: 'ignore' });
    const recorded = ct.identityOfPid(child.pid!)!;
    expect(ct.processLiveness(recorded)).toBe('alive');
    await sigkill(child);
    expect(ct.processLiveness(recorded)).toBe('gone');
  });
});

describe('an orphan whose owner pid was reused', () => {
  it('is shown orphaned and is cancelled from its handles by `covalent-ts cancel`; the process with the pid survives', async () => {
    const home = tempDir('ct-home-');
    const { owner, id } = await startOwner(home, `
      const hang = ct.electron(async function hang() { await new Promise(() => {}); }, { executor: 'detached-sleep' });
      const id = await ct.dispatch(ct.lattice(() => hang()))();
      for (;;) {
        const r = await ct.getResult(id);
        if (r.nodes[0].jobHandle) break;
        await new Promise((res) => setTimeout(res, 10));
      }
      await ct.getDispatcher().flush();
      console.log(id);
      await new Promise(() => {});
    `);
    children.push(owner);
    const ownerPid = owner.pid!;
    const before = await readStored(home, id);
    const job = before.nodes[0].jobHandle as { pid: number };
    expect(processRunning(job.pid)).toBe(true);
    expect(before.dispatch).toMatchObject({ ownerPid, ownerHost: os.hostname() });
    expect(before.dispatch.ownerStartTime).toMatch(/:\d+$/);

    await sigkill(owner);
    // The owner's pid now belongs to an unrelated process (its start time differs from the recorded one).
    const stranger = unrelatedProcess();
    children.push(stranger);
    await editStore(home, [['UPDATE dispatches SET owner_pid = ? WHERE dispatch_id = ?', [stranger.pid, id]]]);

    // Every view sees the orphan at once.
    const d = new ct.Dispatcher({ home });
    try {
      const r = await d.getResult(id);
      expect(r.orphaned).toBe(true);
      expect(r.error).toMatch(new RegExp(`pid ${stranger.pid} on ${os.hostname()}.*exited before it finished`));
      expect((await d.snapshot(id)).orphaned).toBe(true);
    } finally {
      await d.close();
    }

    const t0 = Date.now();
    const { stdout } = await run(process.execPath, ['-r', plugin.replace(/\.js$/, '-register.js'), cli, 'cancel', id, '--json'], {
      env: { ...process.env, CT_HOME: home, CT_LIB: lib },
      timeout: 60_000,
    });
    // Not the 90 s wait for an "owner" that is somebody else.
    expect(Date.now() - t0).toBeLessThan(30_000);
    const report = JSON.parse(stdout);
    expect(report.tasks).toEqual([expect.objectContaining({ nodeId: 0, outcome: 'killed', statusBefore: 'RUNNING', statusAfter: 'CANCELLED' })]);
    expect(report.confirmed).toBe(true);
    // The job was stopped from its stored handle; the process holding the owner's old pid was not touched.
    await waitFor('the orphaned job to be gone', () => !processRunning(job.pid), 10_000);
    expect(processRunning(stranger.pid!)).toBe(true);

    const after = await readStored(home, id);
    expect(after.dispatch.status).toBe('CANCELLED');
    expect(after.nodes[0]).toMatchObject({ status: 'CANCELLED', cancelOutcome: 'killed', cancelSource: 'external' });
  });

  it('never signals a process that took over a recorded local worker pid', async () => {
    const home = tempDir('ct-home-');
    const { owner, id } = await startOwner(home, `
      const hang = ct.electron(async function hang() { await new Promise(() => {}); });
      const id = await ct.dispatch(ct.lattice(() => hang()))();
      for (;;) {
        const r = await ct.getResult(id);
        if (r.nodes[0].status === 'RUNNING' && r.nodes[0].jobHandle) break;
        await new Promise((res) => setTimeout(res, 10));
      }
      await ct.getDispatcher().flush();
      console.log(id);
      await new Promise(() => {});
    `);
    children.push(owner);
    const stored = await readStored(home, id);
    const handle = stored.nodes[0].jobHandle as { kind: string; pid: number; startTime: string; host: string };
    expect(handle).toMatchObject({ kind: 'local-worker', host: os.hostname() });
    expect(handle.startTime).toMatch(/:\d+$/);
    await sigkill(owner);
    // The worker took its group down when the owner died.
    await waitFor('the worker to exit with its owner', () => !processRunning(handle.pid), 10_000);

    // Both recorded pids (the owner's and the worker's, a group leader) now belong to unrelated processes.
    const ownerStranger = unrelatedProcess();
    const workerStranger = unrelatedProcess();
    children.push(ownerStranger, workerStranger);
    const reused = { ...handle, pid: workerStranger.pid, pgid: workerStranger.pid };
    await editStore(home, [
      ['UPDATE dispatches SET owner_pid = ? WHERE dispatch_id = ?', [ownerStranger.pid, id]],
      ['UPDATE nodes SET job_handle = ? WHERE dispatch_id = ? AND node_id = 0', [JSON.stringify(reused), id]],
    ]);

    const t0 = Date.now();
    const { stdout } = await run(process.execPath, [cli, 'cancel', id, '--json'], { env: { ...process.env, CT_HOME: home }, timeout: 60_000 });
    expect(Date.now() - t0).toBeLessThan(30_000);
    const report = JSON.parse(stdout);
    expect(report.tasks[0]).toMatchObject({ nodeId: 0, statusBefore: 'RUNNING', statusAfter: 'CANCELLED' });
    // Give a wrongly sent SIGTERM/SIGKILL time to land before checking.
    await new Promise((r) => setTimeout(r, 300));
    expect(processRunning(ownerStranger.pid!)).toBe(true);
    expect(processRunning(workerStranger.pid!)).toBe(true);
    expect((await readStored(home, id)).dispatch.status).toBe('CANCELLED');
  });

  it('is not mistaken for an orphan while its owner runs on another host sharing the store', async () => {
    const home = tempDir('ct-home-');
    const { owner, id } = await startOwner(home, `
      const hang = ct.electron(async function hang() { await new Promise(() => {}); });
      const id = await ct.dispatch(ct.lattice(() => hang()))();
      await ct.getDispatcher().flush();
      console.log(id);
      await new Promise(() => {});
    `);
    children.push(owner);
    await sigkill(owner);
    await editStore(home, [['UPDATE dispatches SET owner_host = ? WHERE dispatch_id = ?', ['some-other-machine', id]]]);
    const d = new ct.Dispatcher({ home });
    try {
      const r = await d.getResult(id);
      expect(r.orphaned).toBe(false);
      expect(r.status).toBe('RUNNING');
      const stored = (await d.getStore()).readDispatch(id)!;
      expect(ct.ownerLiveness(stored.dispatch)).toBe('unknown');
      expect(ct.isOrphaned(stored.dispatch)).toBe(false);
    } finally {
      await d.close();
    }
  });
});

async function readStored(home: string, id: string) {
  const store = await ct.Store.open(home);
  const stored = store.readDispatch(id);
  if (!stored) throw new Error(`dispatch ${id} is not in the store`);
  return { dispatch: stored.dispatch, nodes: stored.nodes.map((n) => ({ ...n, jobHandle: n.jobHandle ? JSON.parse(n.jobHandle) : null })) };
}
