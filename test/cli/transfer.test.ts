import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { tempDir } from '../support/wait';
import { ct, owner, root } from './support/cli';

describe('covalent-ts export / import', () => {
  const mine = tempDir('ct-home-a-');
  const theirs = tempDir('ct-home-b-');
  const file = path.join(tempDir('ct-export-'), 'run.ct.json');
  let id = '';

  beforeAll(async () => {
    const o = await owner(
      mine,
      `const double = ct.electron(function double(x) { return 2 * x; });
       const sleepy = ct.electron(async function sleepy(ms) { await new Promise((r) => setTimeout(r, ms)); return ms; });
       const inner = ct.lattice((x) => double(x), { name: 'inner' });
       const sub = ct.electron(inner);
       const wf = ct.lattice(() => [double(double(1)), sub(5), sleepy(60000)], { name: 'shared run' });
       const id = await ct.dispatch(wf)();
       for (;;) { const r = await ct.getResult(id); if (r.nodes.filter((n) => n.status === 'COMPLETED').length >= 3) break; await new Promise((res) => setTimeout(res, 50)); }
       await ct.cancel(id, { taskIds: [3], reason: 'enough' });
       await ct.getResult(id, { wait: true });
       await ct.shutdown();
       emit(id);`,
    );
    id = o.out[0] as string;
    await o.exited;
  });

  it('moves the graph, statuses, timings, cancel records and small outputs to another store, read-only', async () => {
    const exported = ct(mine, ['export', id.slice(0, 6), '--out', file]);
    expect(exported.status).toBe(0);
    expect(exported.stdout.trim()).toBe(file);
    const doc = JSON.parse(fs.readFileSync(file, 'utf8'));
    expect(doc).toMatchObject({ format: 'covalent-ts-dispatch-export', formatVersion: 1 });
    expect(doc.dispatches).toHaveLength(2); // the dispatch and its sublattice's

    const imported = ct(theirs, ['import', file]);
    expect(imported.status).toBe(0);
    expect(imported.stdout.trim()).toBe(id);

    const before = JSON.parse(ct(mine, ['status', id, '--json']).stdout);
    const after = JSON.parse(ct(theirs, ['status', id, '--json']).stdout);
    const shape = (v: any) => v.nodes.map((n: any) => [n.id, n.name, n.status, n.startedAt, n.completedAt, n.dependsOn, n.cancelOutcome, n.cancelReason, n.subDispatchId]);
    expect(shape(after)).toEqual(shape(before));
    expect(after.dispatch).toMatchObject({ status: before.dispatch.status, name: 'shared run', startedAt: before.dispatch.startedAt, completedAt: before.dispatch.completedAt });
    expect(after.dispatch.importedFrom).toMatchObject({ home: mine, file });
    expect(ct(theirs, ['status', id]).stdout).toMatch(/imported: read-only/);
    expect(ct(theirs, ['list', '--json']).stdout).toContain(id);

    // ct.getResult in the importer's store: the same outputs.
    const script = `const ct = require(${JSON.stringify(path.join(root, 'dist/src/index.js'))});
      ct.getResult(${JSON.stringify(id)}).then((r) => { console.log(JSON.stringify([r.status, r.nodes.map((n) => [n.status, n.output ?? null])])); return ct.shutdown(); });`;
    const r = spawnSync(process.execPath, ['-e', script], { env: { ...process.env, CT_HOME: theirs }, encoding: 'utf8' });
    expect(JSON.parse(r.stdout)).toEqual(['CANCELLED', [['COMPLETED', 2], ['COMPLETED', 4], ['COMPLETED', 10], ['CANCELLED', null]]]);
  });

  it('carries no executor configuration, and an imported dispatch cannot be cancelled', () => {
    const text = fs.readFileSync(file, 'utf8');
    expect(text).not.toMatch(/executorConfig|"options"|privateKey|passphrase/);
    const r = ct(theirs, ['cancel', id]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/read-only.*\[CT_READ_ONLY\]/);
  });

  it('refuses unreadable, foreign and duplicate files with exit 2, changing nothing', () => {
    const again = ct(theirs, ['import', file]);
    expect(again.status).toBe(2);
    expect(again.stderr).toMatch(/already in the store/);
    const missing = ct(theirs, ['import', path.join(theirs, 'nope.json')]);
    expect(missing.status).toBe(2);
    expect(missing.stderr).toMatch(/Cannot read .*nope\.json.*\[CT_UNREADABLE_FILE\]/);
    const foreign = path.join(tempDir(), 'x.json');
    fs.writeFileSync(foreign, JSON.stringify({ hello: 1 }));
    const notOurs = ct(theirs, ['import', foreign]);
    expect(notOurs.status).toBe(2);
    expect(notOurs.stderr).toMatch(/is not a covalent-ts export.*\[CT_UNREADABLE_FILE\]/);
    // Tests run as root, who reads any file: a directory stands in for an unreadable one.
    const dirInstead = path.join(tempDir(), 'dir.json');
    fs.mkdirSync(dirInstead);
    const r = ct(theirs, ['import', dirInstead]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/Cannot read .*EISDIR.*\[CT_UNREADABLE_FILE\]/);
  });
});
