import * as fs from 'node:fs';
import * as path from 'node:path';
import { execFile, spawn } from 'node:child_process';
import { promisify } from 'node:util';
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
