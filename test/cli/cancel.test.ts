import { Store } from '../../src/store/store';
import { tempDir } from '../support/wait';
import { ct, ctAsync, orphanedBy, owner } from './support/cli';

describe('covalent-ts cancel', () => {
  it('20 processes each cancelling a different task of a 40-task dispatch at once: every request takes effect, the rest run on', async () => {
    const home = tempDir('ct-home-');
    const o = await owner(
      home,
      `const sleepy = ct.electron(async function sleepy(ms) { await new Promise((r) => setTimeout(r, ms)); return ms; });
       const wf = ct.lattice(() => { const out = []; for (let i = 0; i < 40; i++) out.push(sleepy(600000)); return out; }, { name: 'forty' });
       const id = await ct.dispatch(wf)();
       await ct.getResult(id, { wait: 2000 });
       await ct.getDispatcher().flush();
       emit(id);
       // Report, once 20 tasks are cancelled, what this process (the owner) sees.
       for (;;) {
         const r = await ct.getResult(id);
         if (r.nodes.filter((n) => n.status === 'CANCELLED').length >= 20) { emit(r.nodes.map((n) => [n.status, n.cancelReason])); break; }
         await new Promise((res) => setTimeout(res, 50));
       }
       await new Promise(() => {});`,
    );
    const id = o.out[0] as string;
    try {
      const results = await Promise.all(
        Array.from({ length: 20 }, (_, i) => ctAsync(home, ['cancel', id.slice(0, 8), '--task', String(2 * i), '--reason', `req ${2 * i}`, '--json'])),
      );
      for (const [i, r] of results.entries()) {
        expect({ i, status: r.status, stderr: r.stderr }).toEqual({ i, status: 0, stderr: '' });
        const report = JSON.parse(r.stdout);
        expect(report).toMatchObject({ dispatchId: id, confirmed: true, source: 'external' });
        // Two local workers: the first tasks are killed, the others were still queued for a worker.
        expect(report.tasks).toEqual([expect.objectContaining({ nodeId: 2 * i, outcome: expect.stringMatching(/^(killed|aborted_before_start)$/), statusAfter: 'CANCELLED' })]);
      }
      const seen = (await waitForLine(o.out, 2)) as Array<[string, string | null]>;
      seen.forEach(([status, reason], n) => {
        if (n % 2 === 0) expect([status, reason]).toEqual(['CANCELLED', `req ${n}`]);
        else expect(['RUNNING', 'QUEUED']).toContain(status);
      });
      // The file loads afterwards, with every cancel in it.
      const stored = (await Store.open(home)).readDispatch(id)!;
      expect(stored.nodes.filter((n) => n.status === 'CANCELLED').map((n) => n.nodeId)).toEqual(Array.from({ length: 20 }, (_, i) => 2 * i));
    } finally {
      o.proc.kill('SIGKILL');
      await o.exited;
    }
  });

  it('cancels an orphan from its stored handles; --task takes a comma list', async () => {
    const home = tempDir('ct-home-');
    const { id } = await orphanedBy(
      home,
      `const sleepy = ct.electron(async function sleepy(ms) { await new Promise((r) => setTimeout(r, ms)); return ms; });
       const id = await ct.dispatch(ct.lattice(() => [sleepy(600000), sleepy(600000), sleepy(600000)], { name: 'orphan' }))();
       await ct.getResult(id, { wait: 2000 });`,
    );
    const r = ct(home, ['cancel', id, '--task', '0,2', '--json']);
    expect(r.status).toBe(0);
    expect(JSON.parse(r.stdout).tasks.map((t: { nodeId: number; statusAfter: string }) => [t.nodeId, t.statusAfter])).toEqual([[0, 'CANCELLED'], [2, 'CANCELLED']]);
    const view = JSON.parse(ct(home, ['status', id, '--json']).stdout);
    expect(view.nodes.map((n: { status: string }) => n.status)).toEqual(['CANCELLED', expect.stringMatching(/^(RUNNING|QUEUED)$/), 'CANCELLED']);
    expect(view.dispatch.owner.orphaned).toBe(true);
  });

  it('refuses bad task ids before asking anyone, with exit 2', () => {
    const home = tempDir('ct-home-');
    const r = ct(home, ['cancel', 'abc', '--task', '1,x']);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/"x" is not a task id.*\[CT_INVALID_ARGUMENT\]/);
  });
});

async function waitForLine(out: unknown[], n: number): Promise<unknown> {
  const deadline = Date.now() + 60_000;
  while (out.length < n) {
    if (Date.now() > deadline) throw new Error('the owner never saw the cancels');
    await new Promise((r) => setTimeout(r, 20));
  }
  return out[n - 1];
}
