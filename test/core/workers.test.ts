import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawn } from 'node:child_process';
import * as ct from '../../src';
import { processRunning, tempDir, usePrivateHome, waitFor } from '../support/wait';

usePrivateHome();
afterAll(() => ct.shutdown());
const lib = path.resolve(__dirname, '../../dist/src/index.js');

describe('local workers', () => {
  it('die, with everything their tasks started, when the dispatching process dies', async () => {
    const dir = tempDir('ct-orphan-');
    const pidFile = path.join(dir, 'pids.json');
    const script = path.join(dir, 'owner.js');
    fs.writeFileSync(
      script,
      `const ct = require(${JSON.stringify(lib)});
       const hang = ct.electron(async function hang(file) {
         const child = require('child_process').spawn('sleep', ['600'], { stdio: 'ignore' });
         require('fs').writeFileSync(file + '.tmp', JSON.stringify({ worker: process.pid, child: child.pid }));
         require('fs').renameSync(file + '.tmp', file);
         await new Promise(() => {});
       });
       ct.dispatch(ct.lattice((f) => hang(f)))(${JSON.stringify(pidFile)});`,
    );
    const owner = spawn(process.execPath, [script], { env: { ...process.env, CT_HOME: dir }, stdio: 'ignore' });
    const pids = await waitFor('the task to start', () => fs.existsSync(pidFile) && JSON.parse(fs.readFileSync(pidFile, 'utf8')));
    owner.kill('SIGKILL');
    await waitFor('worker and its child to exit', () => !processRunning(pids.worker) && !processRunning(pids.child), 30_000);
  });

  it('reports what tasks print, tagged with their dispatch and task', async () => {
    const chatty = ct.electron(function chatty(n: number) {
      console.log(`line from task ${n}`);
      return n;
    });
    const seen: string[] = [];
    const onOutput = (e: ct.DispatcherEventMap['output']) => seen.push(`${e.nodeId}:${e.stream}:${e.text.trim()}`);
    ct.getDispatcher().on('output', onOutput);
    try {
      const res = await ct.dispatchSync(ct.lattice(() => chatty(7)))();
      await waitFor('output event', () => seen.length > 0, 10_000);
      expect(seen).toEqual(['0:stdout:line from task 7']);
      expect(res.result).toBe(7);
    } finally {
      ct.getDispatcher().off('output', onOutput);
    }
  });

  it('credits every line a quick batched task prints to that task, none lost', async () => {
    const say = ct.electron(function say(n: number) {
      console.log(`task says ${n}`);
      return n;
    });
    const fan = ct.lattice((count: number) => Array.from({ length: count }, (_, i) => say(i)));
    // The first run teaches the pool that `say` is quick, so the second is sent in batches.
    await ct.dispatchSync(fan)(50);
    const seen: Array<{ nodeId: number; text: string }> = [];
    let dispatchId = '';
    const onOutput = (e: ct.DispatcherEventMap['output']) => e.dispatchId === dispatchId && seen.push({ nodeId: e.nodeId, text: e.text });
    ct.getDispatcher().on('output', onOutput);
    try {
      dispatchId = await ct.dispatch(fan)(400);
      const res = await ct.getResult(dispatchId, { wait: 60_000 });
      expect(res.status).toBe('COMPLETED');
      await waitFor('all 400 lines', () => seen.length >= 400, 10_000);
      const lines = seen.flatMap((e) => e.text.split('\n').filter(Boolean).map((t) => ({ nodeId: e.nodeId, t })));
      expect(lines).toHaveLength(400);
      for (const l of lines) expect(l.t).toBe(`task says ${l.nodeId}`);
    } finally {
      ct.getDispatcher().off('output', onOutput);
    }
  });

  it('emits node and dispatch events as states change', async () => {
    const changes: string[] = [];
    const onNode = (e: ct.DispatcherEventMap['node-changed']) => e.node.status && changes.push(`${e.node.id}:${e.node.status}`);
    let final = '';
    const onDispatch = (e: ct.DispatcherEventMap['dispatch-changed']) => (final = e.status);
    const d = ct.getDispatcher();
    d.on('node-changed', onNode).on('dispatch-changed', onDispatch);
    try {
      const double = ct.electron(function double(x: number) {
        return 2 * x;
      });
      await ct.dispatchSync(ct.lattice((x: number) => double(double(x))))(1);
      expect(changes).toEqual(['0:RUNNING', '0:COMPLETED', '1:RUNNING', '1:COMPLETED']);
      expect(final).toBe('COMPLETED');
    } finally {
      d.off('node-changed', onNode).off('dispatch-changed', onDispatch);
    }
  });
});

describe('cancelling quick tasks batched in workers', () => {
  it('leaves the dispatching process alive, 20 rounds of 400 tasks, each cancel well under the old 1 s skip wait', async () => {
    const dir = tempDir('ct-batched-');
    const script = path.join(dir, 'owner.js');
    // A real process of its own: a crash (an unhandled EPIPE) must be visible as its exit.
    fs.writeFileSync(
      script,
      `const ct = require(${JSON.stringify(lib)});
       const quick = ct.electron(function quick(x) { return x * 2; });
       const wide = ct.lattice((n) => { const out = []; for (let i = 0; i < n; i++) out.push(quick(i)); return out; }, { name: 'wide' });
       (async () => {
         // The pool batches a task once it has seen it run quickly.
         await ct.dispatchSync(wide)(50);
         const d = ct.getDispatcher();
         for (let round = 0; round < 20; round++) {
           const id = await ct.dispatch(wide)(400);
           // Cancel once batches are in the workers: the first task of this dispatch has finished.
           await new Promise((resolve) => {
             const on = (e) => { if (e.dispatchId === id && e.node.status === 'COMPLETED') { d.off('node-changed', on); resolve(); } };
             d.on('node-changed', on);
           });
           const t0 = performance.now();
           const report = await ct.cancel(id);
           const ms = performance.now() - t0;
           const result = await ct.getResult(id, { wait: true });
           const statuses = [...new Set(result.nodes.map((n) => n.status))].sort();
           console.log(JSON.stringify({ round, ms, status: result.status, statuses, cancelled: report.tasks.filter((t) => t.statusAfter === 'CANCELLED').length }));
         }
         await ct.shutdown();
       })();`,
    );
    const owner = spawn(process.execPath, [script], { env: { ...process.env, CT_HOME: dir }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    owner.stdout.on('data', (d) => (out += d));
    owner.stderr.on('data', (d) => (err += d));
    const code = await new Promise<number | null>((resolve) => owner.on('exit', resolve));

    expect({ code, err }).toEqual({ code: 0, err: '' });
    const rounds = out.trim().split('\n').map((l) => JSON.parse(l) as { ms: number; status: string; statuses: string[]; cancelled: number });
    expect(rounds).toHaveLength(20);
    for (const r of rounds) {
      expect(r.status).toBe('CANCELLED');
      expect(r.statuses.every((s) => s === 'COMPLETED' || s === 'CANCELLED')).toBe(true);
      expect(r.cancelled).toBeGreaterThan(0);
      // Generous per round (a loaded 2-core machine); a skip waiting on a dying worker took 1,011 ms.
      expect(r.ms).toBeLessThan(1000);
    }
    // Under 100 ms as issue 8 states: the median, not raised for a loaded machine. A cancel no longer
    // forks replacement workers or captures stack traces (about 20-40 ms idle, 84 ms at load 16).
    const sorted = rounds.map((r) => r.ms).sort((a, b) => a - b);
    expect(sorted[0]).toBeLessThan(100);
    expect(sorted[Math.floor(sorted.length / 2)]).toBeLessThan(100);
  });
});
