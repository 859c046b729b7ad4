import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { packageRoot } from '../../src/lab/lab-server';
import { freePort } from './support/lab-session';
import { startLabCli } from './support/lab-cli';

/**
 * An error's advice must work when followed. On a fresh clone after the
 * README's build steps (`npm ci && npm run build`), `npx covalent-ts lab`
 * says CT_LAB_NOT_BUILT; running exactly the command its message names makes
 * the next `npx covalent-ts lab` print its URL.
 */
jest.setTimeout(1800000);

const ROOT = packageRoot();

const run = (cmd: string, cwd: string) => spawnSync('bash', ['-c', cmd], { cwd, encoding: 'utf8', timeout: 1200000 });

describe('a fresh clone', () => {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'ct-fresh-'));
  const clone = path.join(work, 'covalent-ts');
  afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

  it('after `npm ci && npm run build`, the advice of CT_LAB_NOT_BUILT makes `npx covalent-ts lab` work', async () => {
    const c = spawnSync('git', ['clone', '--quiet', '--depth', '1', `file://${ROOT}`, clone], { encoding: 'utf8' });
    expect(c.status).toBe(0);
    const setup = run('npm ci --no-audit --no-fund && npm run build', clone);
    expect({ status: setup.status, err: setup.status ? setup.stderr.slice(-3000) : '' }).toEqual({ status: 0, err: '' });
    // npm raises no install-script questions: allowScripts answers them.
    expect(setup.stderr).not.toMatch(/install-scripts/);

    const nb = path.join(work, 'nb');
    const first = run(`npx covalent-ts lab --port ${await freePort()} --notebook-dir ${nb}`, clone);
    expect(first.status).not.toBe(0);
    expect(first.stderr).toMatch(/CT_LAB_NOT_BUILT/);
    const advice = /run `([^`]+)` in /.exec(first.stderr);
    expect(advice).not.toBeNull();

    const followed = run(advice![1], clone);
    expect({ status: followed.status, err: followed.status ? followed.stderr.slice(-3000) : '' }).toEqual({ status: 0, err: '' });

    const lab = await startLabCli(['exec', '--', 'covalent-ts', 'lab', '--port', String(await freePort()), '--notebook-dir', nb], {
      command: 'npm',
      cwd: clone,
      timeoutMs: 300000
    });
    try {
      expect(lab.url.pathname).toMatch(/^\/lab/);
      expect(lab.token).toMatch(/^[0-9a-f]{32,}$/);
    } finally {
      lab.child.kill('SIGTERM');
      await lab.exited;
      lab.kill();
    }
  });
});
