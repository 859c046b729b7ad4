import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { tempDir } from '../support/wait';
import { ct, orphanedBy, root } from './support/cli';

describe('orphans at a glance', () => {
  it('a restarted process finds the dispatches of a dead one that did not finish, with the last known state of their jobs', async () => {
    const home = tempDir('ct-home-');
    const { id, pid } = await orphanedBy(
      home,
      `const quick = ct.electron(function quick() { return 1; });
       const sleepy = ct.electron(async function sleepy(ms) { await new Promise((r) => setTimeout(r, ms)); return ms; });
       await ct.dispatchSync(ct.lattice(() => quick(), { name: 'finished' }))();
       const id = await ct.dispatch(ct.lattice(() => [quick(), sleepy(600000)], { name: 'left behind' }))();
       for (;;) { const r = await ct.getResult(id); if (r.nodes[1].jobHandle && r.nodes[0].status === 'COMPLETED') break; await new Promise((res) => setTimeout(res, 50)); }`,
    );

    // "Restarted": a new process on the same store.
    const script = `const ct = require(${JSON.stringify(path.join(root, 'dist/src/index.js'))});
      ct.getDispatcher().orphans().then((r) => { console.log(JSON.stringify(r)); return ct.shutdown(); });`;
    const r = spawnSync(process.execPath, ['-e', script], { env: { ...process.env, CT_HOME: home }, encoding: 'utf8' });
    const orphans = JSON.parse(r.stdout);
    expect(orphans).toEqual([
      {
        dispatchId: id,
        name: 'left behind',
        owner: `pid ${pid} on ${require('node:os').hostname()}`,
        startedAt: expect.any(String),
        // The last state its owner recorded: the dispatch never ended.
        status: 'RUNNING',
        nodeCount: 2,
        unfinished: [{ nodeId: 1, name: 'sleepy', status: expect.stringMatching(/^(RUNNING|QUEUED)$/), executor: 'local', jobHandle: expect.objectContaining({ kind: 'local-worker' }) }],
      },
    ]);
    expect(JSON.parse(ct(home, ['list', '--status', 'orphaned', '--json']).stdout).dispatches.map((d: { id: string }) => d.id)).toEqual([id]);
  });
});
