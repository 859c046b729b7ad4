/**
 * Nothing lost (issue 10): what a process reported finished or cancelled
 * stays so after it is SIGKILLed at any moment, and every process sees every
 * other's facts. Real processes, real kills at random moments.
 *
 * CT_DURABILITY_ROUNDS scales the number of kills (default: a CI-sized run).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as v8 from 'node:v8';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import initSqlJs from 'sql.js';
import * as lockfile from 'proper-lockfile';
import * as ct from '../../src';
import { tempDir } from '../support/wait';
import { cli, script, ScriptProcess, sleep } from './support/processes';
import { collect, missingFacts, newFacts, REPORTER, type ReportedFacts } from './support/facts';

const run = promisify(execFile);
const ROUNDS = Number(process.env.CT_DURABILITY_ROUNDS) || 1;
const randomInt = (lo: number, hi: number) => lo + Math.floor(Math.random() * (hi - lo + 1));
// Dozens of real processes per test: generous on a loaded 2-core machine (about a minute each when idle).
jest.setTimeout(600_000 * ROUNDS);

/** Run `lanes` independent sequences of `rounds` each (two cores: two lanes keep both busy). */
async function lanes(count: number, fn: (lane: number) => Promise<void>): Promise<void> {
  await Promise.all(Array.from({ length: count }, (_, i) => fn(i)));
}

/**
 * Start `file` in `home`, let it report between `lo` and `hi` facts, and
 * SIGKILL it 1 ms after the last one it reported.
 */
async function killAfterFacts(file: string, home: string, facts: ReportedFacts, lo: number, hi: number): Promise<void> {
  const p = new ScriptProcess(file, { CT_HOME: home });
  const target = randomInt(lo, hi);
  let seen = 0;
  await new Promise<void>((resolve) => {
    p.onLine((line) => {
      collect(facts, line);
      if (/^[TDC] /.test(line) && ++seen === target) setTimeout(resolve, 1);
    });
    void p.exited.then(() => resolve());
  });
  await p.kill();
}

describe('what was reported survives a SIGKILL of its process', () => {
  const worker = script(
    `
    reportFacts(ct.getDispatcher());
    const inlineStep = ct.electron(async function inlineStep(k) { await new Promise((r) => setTimeout(r, k % 3)); return { k, out: k + 1 }; }, { executor: 'inline' });
    const localStep = ct.electron(function localStep(k) { return { k, out: k + 1 }; });
    for (let i = 0; ; i++) {
      const step = i % 2 ? localStep : inlineStep;
      const wf = ct.lattice(function fan(n) { const outs = []; for (let k = 0; k < n; k++) outs.push(step(k)); return outs; });
      await ct.dispatchSync(wf)(1 + (i % 25));
    }
  `,
    REPORTER,
  );
  const outputOf = (k: number) => ({ k, out: k + 1 });

  it('a task reported COMPLETED keeps its state and output, and a dispatch its final state, when the owner is killed 1 ms later', async () => {
    // Two lanes of 50: a hundred SIGKILLs at random moments (after 1 to 60 reported facts).
    const rounds = 50 * ROUNDS;
    await lanes(2, async () => {
      const home = tempDir('ct-home-');
      const facts = newFacts();
      for (let r = 0; r < rounds; r++) {
        await killAfterFacts(worker, home, facts, 1, 60);
        // Every few kills, check everything reported so far (later owners snapshot on top of earlier journals).
        if (r % 25 === 24 || r === rounds - 1) expect(await missingFacts(home, facts, outputOf)).toEqual([]);
      }
      expect(facts.tasks.length).toBeGreaterThan(rounds);
      expect(facts.dispatches.size).toBeGreaterThan(0);
    });
  });

  it('a cancel reported by ct.cancel survives the owner being killed right after it', async () => {
    const owner = script(`
      const hang = ct.electron(async function hang() { await new Promise(() => {}); });
      const after = ct.electron(function after(x) { return x; });
      const wf = ct.lattice(function twoHangs() { const a = hang(); return [a, after(a), hang()]; });
      for (;;) {
        const id = await ct.dispatch(wf)();
        await new Promise((r) => setTimeout(r, Math.random() * 30));
        const report = await ct.cancel(id);
        if (report.tasks.every((t) => t.statusAfter === 'CANCELLED')) process.stdout.write('C ' + id + '\\n');
      }
    `);
    const rounds = 25 * ROUNDS;
    await lanes(2, async () => {
      const home = tempDir('ct-home-');
      const facts = newFacts();
      for (let r = 0; r < rounds; r++) await killAfterFacts(owner, home, facts, 1, 4);
      expect(facts.cancels.size).toBeGreaterThanOrEqual(rounds);
      expect(await missingFacts(home, facts, () => undefined)).toEqual([]);
    });
  });
});

describe('cancels are seen by every process and never undone', () => {
  /** An owner that dispatches `count` hanging local tasks, prints the id once they run, and is then killed. */
  async function orphan(home: string, count = 3): Promise<string> {
    const p = new ScriptProcess(
      script(`
        const hang = ct.electron(async function hang() { await new Promise(() => {}); });
        const id = await ct.dispatch(ct.lattice(function hangs(n) { const o = []; for (let i = 0; i < n; i++) o.push(hang()); return o; }))(${count});
        for (;;) {
          const r = await ct.getResult(id);
          // Running, or waiting for a free local worker (QUEUED): each has reached the executor.
          if (r.nodes.every((n) => n.status === 'RUNNING' || n.status === 'QUEUED')) break;
          await new Promise((res) => setTimeout(res, 5));
        }
        console.log(id);
        await new Promise(() => {});
      `),
      { CT_HOME: home },
    );
    try {
      const id = await p.line(/^[0-9a-f-]{36}$/);
      await sleep(randomInt(0, 20));
      return id;
    } finally {
      await p.kill();
    }
  }

  it('an orphan cancelled elsewhere stays CANCELLED for a long-lived reader, fresh readers and a busy process, across its snapshots', async () => {
    const home = tempDir('ct-home-');
    const first = await orphan(home);
    const second = await orphan(home);

    // A long-lived reader that has seen the orphan RUNNING.
    const reader = new ct.Dispatcher({ home });
    try {
      expect((await reader.getResult(first)).status).toBe('RUNNING');

      // A busy process that snapshots the store again and again, and cancels the second orphan itself.
      const busy = new ScriptProcess(
        script(`
          const sq = ct.electron(function sq(x) { return x * x; }, { executor: 'inline' });
          const wf = ct.lattice(function many(n) { const o = []; for (let i = 0; i < n; i++) o.push(sq(i)); return o; });
          const d = ct.getDispatcher();
          const report = await ct.cancel(process.env.ORPHAN);
          console.log('cancelled ' + report.tasks.map((t) => t.statusAfter).join(','));
          console.log('right after: ' + (await ct.getResult(process.env.ORPHAN)).status);
          for (let i = 0; ; i++) {
            await ct.dispatchSync(wf)(200);
            await d.flush();
            const mine = (await ct.getResult(process.env.ORPHAN)).status;
            const other = (await ct.getResult(process.env.FIRST)).status;
            console.log('snapshot ' + i + ' ' + mine + ' ' + other);
          }
        `),
        { CT_HOME: home, ORPHAN: second, FIRST: first },
      );
      try {
        expect(await busy.line(/^cancelled /)).toBe('cancelled CANCELLED,CANCELLED,CANCELLED');
        expect(await busy.line(/^right after: /)).toBe('right after: CANCELLED');
        await busy.line(/^snapshot 1 /);

        // Cancel the first orphan from a terminal while the busy process keeps snapshotting.
        const { stdout } = await run(process.execPath, [cli, 'cancel', first, '--json'], { env: { ...process.env, CT_HOME: home } });
        expect(JSON.parse(stdout).tasks.map((t: ct.CancelTaskReport) => t.statusAfter)).toEqual(['CANCELLED', 'CANCELLED', 'CANCELLED']);
        // The long-lived reader sees it at its next read, without waiting for any snapshot.
        const seen = await reader.getResult(first);
        expect(seen.status).toBe('CANCELLED');
        expect(seen.nodes.map((n) => n.status)).toEqual(['CANCELLED', 'CANCELLED', 'CANCELLED']);
        // A second cancel from that reader knows it is done: nothing is killed twice.
        expect((await reader.cancel(first)).tasks.map((t) => t.outcome)).toEqual(['already_finished', 'already_finished', 'already_finished']);

        const snapshotsSeen = busy.lines.filter((l) => l.startsWith('snapshot ')).length;
        await busy.line(new RegExp(`^snapshot ${snapshotsSeen + 3} `));
        for (const id of [first, second]) {
          const fresh = new ct.Dispatcher({ home });
          try {
            expect((await fresh.getResult(id)).status).toBe('CANCELLED');
          } finally {
            await fresh.close();
          }
          expect((await reader.getResult(id)).nodes.every((n) => n.status === 'CANCELLED')).toBe(true);
        }
        // Every line the busy process printed after the cancels: both stay CANCELLED through all its snapshots.
        const after = busy.lines.filter((l) => l.startsWith('snapshot ')).slice(snapshotsSeen);
        expect(after.length).toBeGreaterThanOrEqual(3);
        for (const l of after) expect(l).toMatch(/ CANCELLED CANCELLED$/);
      } finally {
        await busy.kill();
      }
    } finally {
      await reader.close();
    }
  });
});

describe('the owner reads its own facts from the store', () => {
  it('sees its finished tasks, outputs, cancels and final states in the store as soon as they are durable, without a snapshot', async () => {
    const home = tempDir('ct-home-');
    const d = new ct.Dispatcher({ home });
    // Hold the snapshot lock: no snapshot can be written while the owner reads (whatever the machine's load).
    const unlock = await lockfile.lock(home, { lockfilePath: path.join(home, 'store.lock'), realpath: false });
    try {
      const store = await d.getStore();
      const sq = ct.electron(function sq(x: number) { return x * x; }, { executor: 'inline' });
      const hang = ct.electron(async function hang() { await new Promise(() => undefined); });
      const done = await d.dispatch(ct.lattice((n: number) => [sq(n), sq(n + 1)]), [3]);
      await d.getResult(done, { wait: true });
      const stopped = await d.dispatch(ct.lattice(() => [hang(), hang()]), []);
      await d.getResult(stopped, { wait: 200 });
      expect((await d.cancel(stopped, { reason: 'enough' })).tasks.map((t) => t.statusAfter)).toEqual(['CANCELLED', 'CANCELLED']);
      // Both were reported; no snapshot has been written.
      const a = store.readDispatch(done)!;
      const b = store.readDispatch(stopped)!;
      expect(fs.existsSync(path.join(home, 'store.sqlite'))).toBe(false);
      expect(a.dispatch.status).toBe('COMPLETED');
      expect(a.nodes.map((n) => [n.status, v8.deserialize(n.output!)])).toEqual([['COMPLETED', 9], ['COMPLETED', 16]]);
      expect(b.dispatch.status).toBe('CANCELLED');
      expect(b.nodes.map((n) => [n.status, n.cancelReason, n.cancelSource])).toEqual([['CANCELLED', 'enough', 'api'], ['CANCELLED', 'enough', 'api']]);
      expect(b.nodes.every((n) => n.cancelOutcome === 'killed' || n.cancelOutcome === 'aborted_before_start')).toBe(true);
      const counts = store.nodeStatusCounts();
      expect(counts.get(done)).toEqual({ COMPLETED: 2 });
      expect(store.listDispatchRows().find((r) => r.dispatchId === stopped)?.status).toBe('CANCELLED');
      // After its own snapshot, and after another process's newer one, it still reads the same.
      await unlock();
      await d.flush();
      const other = await ct.Store.open(home);
      other.touchAll(done, { dispatchRow: () => a.dispatch, nodeRow: (i) => a.nodes[i], nodeCount: () => 2 });
      await other.close();
      expect(store.readDispatch(stopped)!.nodes.map((n) => n.status)).toEqual(['CANCELLED', 'CANCELLED']);
      expect(store.readDispatch(done)!.dispatch.status).toBe('COMPLETED');
    } finally {
      await unlock().catch(() => undefined);
      await d.close();
    }
  });
});

describe('readers beside writers', () => {
  it('5 readers and 3 writers, writers killed at random: the file stays a loadable SQLite database and every reported fact is there', async () => {
    const home = tempDir('ct-home-');
    const writer = script(
      `
      reportFacts(ct.getDispatcher());
      const step = ct.electron(function step(k) { return { k, out: k + 1 }; }, { executor: 'inline' });
      const hang = ct.electron(async function hang() { await new Promise(() => {}); });
      const wf = ct.lattice(function fan(n) { const o = []; for (let k = 0; k < n; k++) o.push(step(k)); return o; });
      const stuck = ct.lattice(function stuck() { return [hang(), hang()]; });
      for (let i = 0; ; i++) {
        await ct.dispatchSync(wf)(1 + (i % 40));
        if (i % 7 === 0) {
          const id = await ct.dispatch(stuck)();
          const report = await ct.cancel(id);
          if (report.tasks.every((t) => t.statusAfter === 'CANCELLED')) process.stdout.write('C ' + id + '\\n');
        }
      }
    `,
      REPORTER,
    );
    // A reader checks that nothing it once saw terminal ever reads otherwise.
    const reader = script(`
      const fresh = process.env.FRESH === '1';
      const seen = new Map();
      let d = new ct.Dispatcher();
      for (let i = 0; ; i++) {
        if (fresh) { await d.close(); d = new ct.Dispatcher(); }
        const store = await d.getStore();
        for (const row of store.listDispatchRows()) {
          const r = await d.getResult(row.dispatchId);
          const key = r.dispatchId;
          const was = seen.get(key);
          if (was && ct.isTerminal(was) && r.status !== was) console.log('E dispatch ' + key + ' was ' + was + ' now ' + r.status);
          if (ct.isTerminal(r.status)) seen.set(key, r.status);
          for (const n of r.nodes) {
            const nk = key + '/' + n.id;
            const nw = seen.get(nk);
            if (nw && ct.isTerminal(nw) && n.status !== nw) console.log('E node ' + nk + ' was ' + nw + ' now ' + n.status);
            if (ct.isTerminal(n.status)) seen.set(nk, n.status);
          }
        }
        console.log('R ' + i + ' ' + seen.size);
        await new Promise((r) => setTimeout(r, 50));
      }
    `);
    const facts = newFacts();
    const readers = [0, 1, 2, 3, 4].map((i) => new ScriptProcess(reader, { CT_HOME: home, FRESH: i % 2 ? '1' : '0' }));
    // A minute of writers killed at random while the readers read.
    const deadline = Date.now() + 60_000 * ROUNDS;
    try {
      await lanes(3, async () => {
        while (Date.now() < deadline) await killAfterFacts(writer, home, facts, 20, 400);
      });
      await Promise.all(readers.map((r) => r.line(/^R [1-9]/)));
    } finally {
      await Promise.all(readers.map((r) => r.kill()));
    }
    expect(readers.flatMap((r) => r.lines.filter((l) => l.startsWith('E ')))).toEqual([]);
    expect(facts.tasks.length).toBeGreaterThan(100);
    expect(facts.cancels.size).toBeGreaterThan(0);
    expect(await missingFacts(home, facts, (k) => ({ k, out: k + 1 }))).toEqual([]);
    // Any SQLite tool can open the file.
    const SQL = await initSqlJs({ locateFile: (f: string) => path.join(path.dirname(require.resolve('sql.js')), f) });
    const db = new SQL.Database(fs.readFileSync(path.join(home, 'store.sqlite')));
    expect(db.exec('PRAGMA integrity_check')[0].values[0][0]).toBe('ok');
    expect(Number(db.exec('SELECT count(*) FROM dispatches')[0].values[0][0])).toBeGreaterThan(0);
    db.close();
  });
});

describe('a torn or corrupt store file', () => {
  it('is kept aside, and the store is rebuilt from the previous snapshot and the journals with every reported fact', async () => {
    const home = tempDir('ct-home-');
    const facts = newFacts();
    const worker = script(
      `
      reportFacts(ct.getDispatcher());
      const step = ct.electron(function step(k) { return { k, out: k + 1 }; }, { executor: 'inline' });
      const wf = ct.lattice(function fan(n) { const o = []; for (let k = 0; k < n; k++) o.push(step(k)); return o; });
      for (let i = 0; i < 12; i++) {
        await ct.dispatchSync(wf)(5);
        await ct.getDispatcher().flush();
      }
      console.log('done');
      await new Promise(() => {});
    `,
      REPORTER,
    );
    const p = new ScriptProcess(worker, { CT_HOME: home });
    p.onLine((l) => collect(facts, l));
    await p.line(/^done$/);
    await p.kill();
    expect(facts.dispatches.size).toBe(12);

    // Tear the file: keep only its first half, as a crashed copy or a failing disk would.
    const file = path.join(home, 'store.sqlite');
    const bytes = fs.readFileSync(file);
    fs.writeFileSync(file, bytes.subarray(0, Math.floor(bytes.length / 2)));

    const warn = jest.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
    try {
      const store = await ct.Store.open(home);
      expect(store.recovery).toMatchObject({ rebuiltFrom: 'previous snapshot and journals' });
      const kept = fs.readFileSync(store.recovery!.keptAs);
      expect(kept.length).toBe(Math.floor(bytes.length / 2));
      await store.close();
    } finally {
      warn.mockRestore();
    }
    expect(await missingFacts(home, facts, (k) => ({ k, out: k + 1 }))).toEqual([]);
  });

  it('with no readable previous snapshot, is rebuilt from the journals alone, every reported fact there', async () => {
    const home = tempDir('ct-home-');
    const facts = newFacts();
    const worker = script(
      `
      // Hold the snapshot lock throughout: no snapshot is written, so no journal is ever compacted.
      await lockfile.lock(process.env.CT_HOME, { lockfilePath: process.env.CT_HOME + '/store.lock', realpath: false });
      reportFacts(ct.getDispatcher());
      const step = ct.electron(function step(k) { return { k, out: k + 1 }; }, { executor: 'inline' });
      const wf = ct.lattice(function fan(n) { const o = []; for (let k = 0; k < n; k++) o.push(step(k)); return o; });
      for (let i = 0; i < 7; i++) await ct.dispatchSync(wf)(3);
      await ct.getDispatcher().whenDurable();
      console.log('done');
      await new Promise(() => {});
    `,
      `${REPORTER}\nconst lockfile = require(${JSON.stringify(require.resolve('proper-lockfile'))});`,
    );
    const p = new ScriptProcess(worker, { CT_HOME: home });
    p.onLine((l) => collect(facts, l));
    await p.line(/^done$/);
    await p.kill();
    fs.rmSync(path.join(home, 'store.lock'), { recursive: true, force: true });
    expect(facts.dispatches.size).toBe(7);
    // The only snapshot file, torn before it was ever readable (a failing disk), and no store.sqlite.prev.
    expect(fs.existsSync(path.join(home, 'store.sqlite.prev'))).toBe(false);
    fs.writeFileSync(path.join(home, 'store.sqlite'), Buffer.from('not a database: a failing disk wrote this'));

    const warn = jest.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
    try {
      const store = await ct.Store.open(home);
      expect(store.recovery).toMatchObject({ rebuiltFrom: 'journals' });
      expect(fs.readFileSync(store.recovery!.keptAs, 'utf8')).toMatch(/^not a database/);
      await store.close();
    } finally {
      warn.mockRestore();
    }
    expect(await missingFacts(home, facts, (k) => ({ k, out: k + 1 }))).toEqual([]);
  });
});
