import * as fs from 'node:fs';
import * as path from 'node:path';
import { tempDir } from '../support/wait';
import { ct, inTerminal, owner } from './support/cli';

/**
 * One store with dispatches in every state, made by real processes: one
 * owner that stays alive (a RUNNING dispatch) and one killed mid-dispatch
 * (an orphan).
 */
const home = tempDir('ct-home-');
const ids: Record<string, string> = {};
let live: Awaited<ReturnType<typeof owner>>;

beforeAll(async () => {
  live = await owner(
    home,
    `const quick = ct.electron(function quick(x) { return x; });
     const sleepy = ct.electron(async function sleepy(ms) { await new Promise((r) => setTimeout(r, ms)); return ms; });
     const fail = ct.electron(function fail() { throw new Error('numerical blow-up'); });
     // 16 more: some two ids then share a first character (for the ambiguous-prefix case).
     for (let i = 0; i < 16; i++) await ct.dispatchSync(ct.lattice(() => quick(i), { name: 'filler' }))();
     const done = await ct.dispatch(ct.lattice(() => [quick(1), quick(2)], { name: 'done' }))();
     await ct.getResult(done, { wait: true });
     const failed = await ct.dispatch(ct.lattice(() => [fail(), quick(2)], { name: 'failing' }))();
     await ct.getResult(failed, { wait: true });
     const cancelled = await ct.dispatch(ct.lattice(() => [sleepy(60000), quick(3)], { name: 'cancelled' }))();
     // Cancel once quick(3) has completed (a fixed sleep lost that race on a busy machine).
     while ((await ct.getResult(cancelled)).nodes[1].status !== 'COMPLETED') await new Promise((r) => setTimeout(r, 20));
     await ct.cancel(cancelled, { reason: 'too slow' });
     const running = await ct.dispatch(ct.lattice(() => [sleepy(600000), quick(4)], { name: 'running' }))();
     await ct.getResult(running, { wait: 3000 });
     await ct.getDispatcher().flush();
     emit({ done, failed, cancelled, running });
     await new Promise(() => {});`,
  );
  Object.assign(ids, live.out[0]);
  const doomed = await owner(
    home,
    `const sleepy = ct.electron(async function sleepy(ms) { await new Promise((r) => setTimeout(r, ms)); return ms; });
     const id = await ct.dispatch(ct.lattice(() => sleepy(600000), { name: 'orphan' }))();
     await ct.getResult(id, { wait: 2000 });
     await ct.getDispatcher().flush();
     emit(id);
     await new Promise(() => {});`,
  );
  ids.orphan = doomed.out[0] as string;
  doomed.proc.kill('SIGKILL');
  await doomed.exited;
});
afterAll(async () => {
  live.proc.kill('SIGTERM');
  await live.exited;
});

type ListJson = { dispatches: Array<{ id: string; name: string; status: string; owner: { pid: number; host: string; orphaned: boolean }; counts: Record<string, number>; durationMs: number }> };

describe('covalent-ts list', () => {
  it('lists every state, newest first, marking the orphan, as stable JSON', () => {
    const r = ct(home, ['list', '--all', '--json']);
    expect(r.status).toBe(0);
    const { dispatches } = JSON.parse(r.stdout) as ListJson;
    const byId = new Map(dispatches.map((d) => [d.id, d]));
    expect(byId.get(ids.done)).toMatchObject({ name: 'done', status: 'COMPLETED', counts: { COMPLETED: 2 }, owner: { orphaned: false, pid: live.proc.pid } });
    expect(byId.get(ids.failed)).toMatchObject({ status: 'FAILED', counts: { FAILED: 1, COMPLETED: 1 } });
    expect(byId.get(ids.cancelled)).toMatchObject({ status: 'CANCELLED', counts: { CANCELLED: 1, COMPLETED: 1 } });
    expect(byId.get(ids.running)).toMatchObject({ status: 'RUNNING', owner: { orphaned: false }, counts: { RUNNING: 1, COMPLETED: 1 } });
    expect(byId.get(ids.orphan)).toMatchObject({ name: 'orphan', status: 'RUNNING', owner: { orphaned: true } });
    expect(dispatches[0].id).toBe(ids.orphan);
    expect(dispatches).toHaveLength(21);
  });

  it('defaults to 20 rows; --limit, --status (also "orphaned") filter', () => {
    expect((JSON.parse(ct(home, ['list', '--json']).stdout) as ListJson).dispatches).toHaveLength(20);
    expect((JSON.parse(ct(home, ['list', '--json', '--limit', '3']).stdout) as ListJson).dispatches.map((d) => d.id)).toEqual([ids.orphan, ids.running, ids.cancelled]);
    const running = (JSON.parse(ct(home, ['list', '--json', '--status', 'running']).stdout) as ListJson).dispatches.map((d) => d.id);
    expect(running.sort()).toEqual([ids.orphan, ids.running].sort());
    expect((JSON.parse(ct(home, ['list', '--json', '--status', 'orphaned']).stdout) as ListJson).dispatches.map((d) => d.id)).toEqual([ids.orphan]);
  });

  it('prints tab-separated lines when piped, with a header and full ids', () => {
    const r = ct(home, ['list', '--limit', '2']);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines[0].split('\t')).toEqual(['ID', 'NAME', 'STATUS', 'OWNER', 'STARTED', 'DURATION', 'TASKS', 'REDISPATCH OF']);
    expect(lines[1].split('\t').slice(0, 3)).toEqual([ids.orphan, 'orphan', 'RUNNING']);
    expect(lines[1].split('\t')[3]).toMatch(/^orphaned \(pid \d+ on .+\)$/);
    expect(r.stdout).not.toMatch(/\x1b\[/);
  });

  it('prints an aligned table on a terminal, coloured unless NO_COLOR is set', () => {
    const coloured = inTerminal(home, ['list', '--limit', '3']);
    expect(coloured.status).toBe(0);
    expect(coloured.stdout).toMatch(/\x1b\[3\dm(RUNNING|CANCELLED)/);
    const plain = inTerminal(home, ['list', '--limit', '3'], { NO_COLOR: '1' });
    expect(plain.stdout).not.toMatch(/\x1b\[/);
    const rows = plain.stdout.trimEnd().split(/\r?\n/);
    expect(rows[0]).toMatch(/^ID +NAME +STATUS +OWNER +STARTED +DURATION +TASKS +REDISPATCH OF$/);
    // Aligned: every row's status starts in the header's STATUS column.
    const col = rows[0].indexOf('STATUS');
    for (const row of rows.slice(1)) expect(row.slice(col)).toMatch(/^(RUNNING|CANCELLED|COMPLETED|FAILED) /);
    expect(rows[1].startsWith(ids.orphan.slice(0, 8) + ' ')).toBe(true);
  });
});

describe('covalent-ts status', () => {
  it('shows the node table with executor, job handle and cancel outcome, by unique prefix', () => {
    const r = ct(home, ['status', ids.cancelled.slice(0, 8), '--json']);
    expect(r.status).toBe(0);
    const view = JSON.parse(r.stdout);
    expect(view.dispatch).toMatchObject({ id: ids.cancelled, status: 'CANCELLED', owner: { orphaned: false } });
    expect(view.nodes).toEqual([
      expect.objectContaining({ id: 0, name: 'sleepy', executor: 'local', status: 'CANCELLED', cancelOutcome: 'killed', cancelReason: 'too slow', jobHandle: expect.objectContaining({ kind: 'local-worker' }) }),
      expect.objectContaining({ id: 1, name: 'quick', status: 'COMPLETED', cancelOutcome: null }),
    ]);
    const text = ct(home, ['status', ids.cancelled]).stdout;
    expect(text).toMatch(/^ID\tNAME\tEXECUTOR\tSTATUS\tSTARTED\tDURATION\tJOB\tCANCEL\tDETAIL$/m);
    expect(text).toMatch(/^0\tsleepy\tlocal\tCANCELLED\t.*\tkilled\treason: too slow(; .+)?$/m);
  });

  it('says an orphan is orphaned and never shows it finished', () => {
    const view = JSON.parse(ct(home, ['status', ids.orphan, '--json']).stdout);
    expect(view.dispatch).toMatchObject({ status: 'RUNNING', owner: { orphaned: true } });
    expect(view.nodes[0].status).toBe('RUNNING');
    expect(ct(home, ['status', ids.orphan]).stdout).toMatch(/orphaned/);
  });

  it('refuses unknown ids and ambiguous prefixes with exit 2', () => {
    const unknown = ct(home, ['status', 'zzzz']);
    expect(unknown.status).toBe(2);
    expect(unknown.stderr).toMatch(/No dispatch with id "zzzz".*\[CT_UNKNOWN_DISPATCH\]/);
    const all = (JSON.parse(ct(home, ['list', '--all', '--json']).stdout) as ListJson).dispatches.map((d) => d.id);
    const shared = [...'0123456789abcdef'].find((c) => all.filter((id) => id.startsWith(c)).length > 1)!;
    const ambiguous = ct(home, ['status', shared]);
    expect(ambiguous.status).toBe(2);
    expect(ambiguous.stderr).toMatch(/is the start of \d+ dispatch ids.*give more characters.*\[CT_AMBIGUOUS_ID\]/);
  });

  it('--watch redraws in place in a terminal until the dispatch ends', async () => {
    const w = await owner(
      home,
      `const sleepy = ct.electron(async function sleepy(ms) { await new Promise((r) => setTimeout(r, ms)); return ms; });
       const id = await ct.dispatch(ct.lattice(() => [sleepy(1500), sleepy(3000)], { name: 'watched' }))();
       await ct.getDispatcher().flush();
       emit(id);
       await ct.getResult(id, { wait: true });
       await ct.shutdown();`,
    );
    const r = inTerminal(home, ['status', w.out[0] as string, '--watch'], { NO_COLOR: '1' });
    await w.exited;
    expect(r.status).toBe(0);
    // Redrawn: the cursor goes up over the previous frame, several times.
    expect((r.stdout.match(/\x1b\[\d+A/g) ?? []).length).toBeGreaterThan(2);
    const lastFrame = r.stdout.slice(r.stdout.lastIndexOf('Dispatch '));
    expect(lastFrame).toMatch(/status: +COMPLETED/);
    expect(r.stdout).toMatch(/RUNNING/);
  });
});

it('the store file still loads after all of this', () => {
  expect(fs.existsSync(path.join(home, 'store.sqlite'))).toBe(true);
  expect(ct(home, ['list', '--all']).status).toBe(0);
});
