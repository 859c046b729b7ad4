import * as fs from 'node:fs';
import * as path from 'node:path';
import { execFile, spawn } from 'node:child_process';
import { promisify } from 'node:util';
import initSqlJs from 'sql.js';
import * as ct from '../../src';
import { tempDir, waitFor } from '../support/wait';

const run = promisify(execFile);
const root = path.resolve(__dirname, '../..');
const lib = path.join(root, 'dist/src/index.js');
const cli = path.join(root, 'dist/src/cli/main.js');

/** A script for a separate Node process using the built library. */
function script(body: string): string {
  const file = path.join(tempDir('ct-script-'), 'run.js');
  fs.writeFileSync(file, `const ct = require(${JSON.stringify(lib)});\n(async () => {\n${body}\n})().catch((e) => { console.error(e); process.exit(1); });\n`);
  return file;
}

describe('the store on disk', () => {
  it('lets a restarted process see every earlier dispatch with its final state and outputs', async () => {
    const home = tempDir('ct-home-');
    const { stdout } = await run(process.execPath, [
      script(`
        const sq = ct.electron(function sq(x) { return x * x; });
        const hang = ct.electron(async function hang() { await new Promise(() => {}); });
        const a = await ct.dispatchSync(ct.lattice((n) => sq(n)))(7);
        const b = await ct.dispatch(ct.lattice(() => [hang(), sq(2)]))();
        await ct.getResult(b, { wait: 300 });
        await ct.cancel(b, { taskIds: [0], reason: 'stop' });
        await ct.getResult(b, { wait: true });
        await ct.shutdown();
        console.log(JSON.stringify([a.dispatchId, b]));
      `),
    ], { env: { ...process.env, CT_HOME: home } });
    const [a, b] = JSON.parse(stdout.trim().split('\n').pop()!);

    const d = new ct.Dispatcher({ home });
    try {
      const ra = await d.getResult(a);
      expect(ra).toMatchObject({ status: 'COMPLETED', result: 49 });
      expect(ra.nodes[0]).toMatchObject({ name: 'sq', status: 'COMPLETED', output: 49, executor: 'local' });
      const rb = await d.getResult(b);
      expect(rb.status).toBe('CANCELLED');
      expect(rb.nodes.map((n) => [n.status, n.cancelRequested, n.cancelReason, n.cancelOutcome])).toEqual([
        ['CANCELLED', true, 'stop', 'killed'],
        ['COMPLETED', false, null, null],
      ]);
      // Cancelling a finished dispatch from the store reports the truth and changes nothing.
      const report = await d.cancel(b);
      expect(report.tasks.map((t) => t.outcome)).toEqual(['already_finished', 'already_finished']);
    } finally {
      await d.close();
    }
  });

  it('keeps a corrupt store file aside, never overwrites it, and starts from what the journals hold', async () => {
    const home = tempDir('ct-home-');
    fs.writeFileSync(path.join(home, 'store.sqlite'), 'this is not a database, but somebody may need it');
    const warn = jest.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
    const store = await ct.Store.open(home);
    const warnings = warn.mock.calls.map((c) => String(c[0]));
    warn.mockRestore();
    expect(store.recovery).toMatchObject({ rebuiltFrom: 'journals' });
    expect(store.recovery!.keptAs).toMatch(/store\.sqlite\.corrupt-/);
    expect(warnings.join('\n')).toMatch(/unreadable.*kept as .*store\.sqlite\.corrupt-/);
    const aside = fs.readdirSync(home).find((f) => f.startsWith('store.sqlite.corrupt-'))!;
    expect(fs.readFileSync(path.join(home, aside), 'utf8')).toBe('this is not a database, but somebody may need it');
    expect(store.listDispatchRows()).toEqual([]);
    await store.close();
  });

  it('lets two processes share one home without losing each other\'s dispatches', async () => {
    const home = tempDir('ct-home-');
    const body = `
      const sq = ct.electron(function sq(x) { return x * x; });
      const ids = [];
      for (let i = 0; i < 5; i++) ids.push((await ct.dispatchSync(ct.lattice((n) => sq(n)))(i)).dispatchId);
      await ct.shutdown();
      console.log(JSON.stringify(ids));
    `;
    const env = { ...process.env, CT_HOME: home };
    const [one, two] = await Promise.all([run(process.execPath, [script(body)], { env }), run(process.execPath, [script(body)], { env })]);
    const ids = [...JSON.parse(one.stdout), ...JSON.parse(two.stdout)];
    const store = await ct.Store.open(home);
    const stored = store.listDispatchRows().map((r) => r.dispatchId);
    expect(stored.sort()).toEqual(ids.sort());
  });
});

describe('the store file format', () => {
  it('opens a store written with schema 1 (before later columns), adds the new columns, and reads its rows back', async () => {
    const home = tempDir('ct-home-');
    const SQL = await initSqlJs({ locateFile: (f: string) => path.join(path.dirname(require.resolve('sql.js')), f) });
    const db = new SQL.Database();
    // The tables exactly as the first covalent-ts wrote them (a fixture: not derived from the code under test).
    db.exec(`
      CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
      INSERT INTO meta VALUES ('schema_version', '1');
      CREATE TABLE dispatches (dispatch_id TEXT PRIMARY KEY, name TEXT NOT NULL, status TEXT NOT NULL, started_at TEXT, completed_at TEXT,
        parent_dispatch_id TEXT, parent_node_id INTEGER, owner_pid INTEGER, owner_host TEXT, error TEXT, result BLOB, result_ref TEXT,
        node_count INTEGER NOT NULL DEFAULT 0, updated_at TEXT NOT NULL);
      CREATE TABLE nodes (dispatch_id TEXT NOT NULL, node_id INTEGER NOT NULL, name TEXT NOT NULL, kind TEXT NOT NULL, status TEXT NOT NULL,
        executor_config TEXT, executor_label TEXT, started_at TEXT, completed_at TEXT, output BLOB, output_ref TEXT, error TEXT,
        cancel_requested INTEGER NOT NULL DEFAULT 0, cancel_reason TEXT, cancel_source TEXT, cancel_outcome TEXT, cancel_detail TEXT,
        job_handle TEXT, sub_dispatch_id TEXT, depends_on TEXT NOT NULL DEFAULT '[]', PRIMARY KEY (dispatch_id, node_id));
      INSERT INTO dispatches VALUES ('old-1', 'wf', 'COMPLETED', '2026-01-01T00:00:00.000Z', '2026-01-01T00:00:01.000Z', NULL, NULL, 1, 'h', NULL,
        NULL, NULL, 2, '2026-01-01T00:00:01.000Z');
      INSERT INTO nodes VALUES ('old-1', 0, 'a', 'electron', 'COMPLETED', '{"type":"local","options":{}}', 'local', NULL, NULL, x'0102', NULL, NULL,
        0, NULL, NULL, NULL, NULL, NULL, NULL, '[]');
      INSERT INTO nodes VALUES ('old-1', 1, 'b', 'electron', 'CANCELLED', NULL, 'local', NULL, NULL, NULL, NULL, NULL,
        1, 'stop', 'api', 'killed', NULL, '{"pid":1}', NULL, '[0]');
    `);
    fs.writeFileSync(path.join(home, 'store.sqlite'), db.export());
    db.close();

    const store = await ct.Store.open(home);
    const read = store.readDispatch('old-1')!;
    expect(read.dispatch).toMatchObject({ name: 'wf', status: 'COMPLETED', nodeCount: 2, ownerStartTime: null, redispatchOf: null, cost: null });
    expect(read.nodes.map((n) => [n.status, n.cancelRequested, n.cancelReason, n.cancelOutcome, n.jobHandle, n.dependsOn, n.reuseKey])).toEqual([
      ['COMPLETED', false, null, null, null, [], null],
      ['CANCELLED', true, 'stop', 'killed', '{"pid":1}', [0], null],
    ]);
    expect([...read.nodes[0].output!]).toEqual([1, 2]);
    // A snapshot writes it back with the added columns, still a plain SQLite file.
    store.touchAll('old-1', { dispatchRow: () => read.dispatch, nodeRow: (i) => read.nodes[i], nodeCount: () => 2 });
    await store.close();
    const again = new SQL.Database(fs.readFileSync(path.join(home, 'store.sqlite')));
    const cols = again.exec('PRAGMA table_info(nodes)')[0].values.map((r) => r[1]);
    expect(cols).toEqual(expect.arrayContaining(['reuse_key', 'reused_from', 'cost', 'limit_warning']));
    const dispatchCols = again.exec('PRAGMA table_info(dispatches)')[0].values.map((r) => r[1]);
    expect(dispatchCols).toEqual(expect.arrayContaining(['workflow', 'workflow_ref']));
    expect(again.exec("SELECT value FROM meta WHERE key = 'schema_version'")[0].values[0][0]).toBe('4');
    expect(again.exec("SELECT status, cancel_reason FROM nodes WHERE dispatch_id = 'old-1' ORDER BY node_id")[0].values).toEqual([
      ['COMPLETED', null],
      ['CANCELLED', 'stop'],
    ]);
    again.close();
  });
});

describe('cancel from another process', () => {
  it('cancels a dispatch running in a notebook-like process from the command line', async () => {
    const home = tempDir('ct-home-');
    const owner = spawn(process.execPath, [
      script(`
        const hang = ct.electron(async function hang() { await new Promise(() => {}); });
        const id = await ct.dispatch(ct.lattice(() => hang()))();
        await ct.getDispatcher().flush();
        console.log(id);
        const r = await ct.getResult(id, { wait: true });
        console.log(JSON.stringify(r.nodes.map((n) => [n.status, n.cancelSource, n.cancelReason])));
        await ct.shutdown();
      `),
    ], { env: { ...process.env, CT_HOME: home }, stdio: ['ignore', 'pipe', 'inherit'] });
    const exited = new Promise((r) => owner.on('exit', r));
    let out = '';
    owner.stdout.on('data', (d) => (out += d));
    const id = await waitFor('dispatch id', () => out.split('\n')[0].trim().length === 36 && out.split('\n')[0].trim());
    const { stdout } = await run(process.execPath, [cli, 'cancel', id, '--reason', 'from a terminal', '--json'], { env: { ...process.env, CT_HOME: home } });
    const report = JSON.parse(stdout);
    expect(report).toMatchObject({ dispatchId: id, source: 'external', confirmed: true });
    expect(report.tasks[0]).toMatchObject({ nodeId: 0, outcome: 'killed', statusAfter: 'CANCELLED' });
    await exited;
    expect(JSON.parse(out.split('\n')[1])).toEqual([['CANCELLED', 'external', 'from a terminal']]);
  });

  it('exits 2 (bad input) with a clear message for an unknown dispatch', async () => {
    const home = tempDir('ct-home-');
    const err = await run(process.execPath, [cli, 'cancel', 'nope'], { env: { ...process.env, CT_HOME: home } }).catch((e) => e);
    expect(err.code).toBe(2);
    expect(err.stderr).toMatch(/No dispatch with id "nope".*\[CT_UNKNOWN_DISPATCH\]/s);
  });
});
