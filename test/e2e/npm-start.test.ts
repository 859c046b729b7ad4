import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { packageRoot } from '../../src/lab/lab-server';
import { freePort } from './support/lab-session';
import { startLabCli, type LabCli } from './support/lab-cli';

// scripts/ is plain JavaScript run before anything is built.
// eslint-disable-next-line @typescript-eslint/no-var-requires
const stamp = require('../../scripts/content-stamp') as {
  digest(root: string, inputs: string[]): string;
  isFresh(root: string, name: string, hash: string, outputs: string[]): boolean;
  record(root: string, name: string, hash: string): void;
};

/**
 * `npm start -- --port N --notebook-dir DIR`, twice: the second start finds
 * everything built (content stamps) and rebuilds and reinstalls nothing.
 */
jest.setTimeout(600000);

const ROOT = packageRoot();

async function npmStart(notebookDir: string): Promise<{ lab: LabCli; ms: number }> {
  const started = Date.now();
  const lab = await startLabCli(['start', '--', '--port', String(await freePort()), '--notebook-dir', notebookDir], {
    command: 'npm',
    cwd: ROOT,
    timeoutMs: 550000
  });
  return { lab, ms: Date.now() - started };
}

async function stop(lab: LabCli): Promise<void> {
  lab.child.kill('SIGTERM');
  await lab.exited;
  lab.kill();
}

describe('npm start', () => {
  const notebookDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ct-npm-start-'));
  afterAll(() => fs.rmSync(notebookDir, { recursive: true, force: true }));

  it('the second start rebuilds nothing and serves every example notebook', async () => {
    const first = await npmStart(notebookDir);
    await stop(first.lab);
    const second = await npmStart(notebookDir);
    try {
      const err = second.lab.stderr();
      expect(err).not.toMatch(/^build: /m);
      expect(err).not.toMatch(/added \d+ packages/);
      // Printed for the log; the 5 s target is measured by the benchmark (bench/), not asserted here.
      console.log(`npm start: first ${first.ms} ms, second (warm) ${second.ms} ms to the URL`);
      expect(second.ms).toBeLessThan(60000);
      const examples = fs.readdirSync(path.join(ROOT, 'examples')).filter(f => f.endsWith('.ipynb'));
      expect(examples.length).toBeGreaterThanOrEqual(3);
      for (const nb of examples) expect(fs.existsSync(path.join(notebookDir, nb))).toBe(true);
    } finally {
      await stop(second.lab);
    }
  });
});

describe('content stamps', () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'ct-stamp-'));
  afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

  it('a step is fresh until the content of an input changes; timestamps alone do not matter', () => {
    fs.mkdirSync(path.join(root, 'src', 'node_modules'), { recursive: true });
    fs.writeFileSync(path.join(root, 'src', 'a.ts'), 'one');
    fs.writeFileSync(path.join(root, 'out.js'), '');
    const h1 = stamp.digest(root, ['src']);
    expect(stamp.isFresh(root, 'step', h1, ['out.js'])).toBe(false);
    stamp.record(root, 'step', h1);
    expect(stamp.isFresh(root, 'step', h1, ['out.js'])).toBe(true);

    fs.utimesSync(path.join(root, 'src', 'a.ts'), new Date(2000, 1, 1), new Date(2000, 1, 1));
    fs.writeFileSync(path.join(root, 'src', 'node_modules', 'dep.js'), 'ignored');
    expect(stamp.digest(root, ['src'])).toBe(h1);

    fs.writeFileSync(path.join(root, 'src', 'a.ts'), 'two');
    expect(stamp.digest(root, ['src'])).not.toBe(h1);
    fs.writeFileSync(path.join(root, 'src', 'a.ts'), 'one');
    fs.renameSync(path.join(root, 'src', 'a.ts'), path.join(root, 'src', 'b.ts'));
    expect(stamp.digest(root, ['src'])).not.toBe(h1);

    fs.rmSync(path.join(root, 'out.js'));
    expect(stamp.isFresh(root, 'step', h1, ['out.js'])).toBe(false);
  });
});
