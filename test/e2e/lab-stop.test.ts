import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { packageRoot } from '../../src/lab/lab-server';
import { removeStaleSessionDirs } from '../../src/lab/session-dirs';
import { freePort, waitUntil } from './support/lab-session';
import { dispatchNaps, markedPids, startLabCli, startLabKernel, type LabCli } from './support/lab-cli';

/**
 * Stopping what the user started: a signal to the pid of `npm start` or
 * `npx covalent-ts lab` (not to the node process inside) stops the lab, the
 * Jupyter server, every kernel and every task worker within 5 s, and nothing
 * of the tree is left. The tree is found by a marker in its environment.
 */
jest.setTimeout(240000);

const ROOT = packageRoot();
const STOP_WITHIN_MS = 5000;

type Launcher = 'npm start' | 'npx covalent-ts lab';

async function launch(launcher: Launcher, notebookDir: string): Promise<LabCli> {
  const port = String(await freePort());
  const npmArgs =
    launcher === 'npm start'
      ? ['start', '--', '--port', port, '--notebook-dir', notebookDir]
      : ['exec', '--', 'covalent-ts', 'lab', '--port', port, '--notebook-dir', notebookDir];
  return startLabCli(npmArgs, { command: 'npm', cwd: ROOT, timeoutMs: 200000 });
}

const cases: Array<[Launcher, NodeJS.Signals]> = [
  ['npm start', 'SIGTERM'],
  ['npm start', 'SIGHUP'],
  ['npm start', 'SIGINT'],
  ['npm start', 'SIGKILL'], // the parent dies without a word
  ['npx covalent-ts lab', 'SIGTERM'],
  ['npx covalent-ts lab', 'SIGHUP']
];

describe.each(cases)('%s, then %s to its pid', (launcher, signal) => {
  let lab: LabCli | undefined;
  const notebookDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ct-lab-stop-'));
  afterAll(() => {
    lab?.kill();
    fs.rmSync(notebookDir, { recursive: true, force: true });
  });

  it('stops the lab, the server, the kernel and its task workers within 5 s, leaving nothing', async () => {
    lab = await launch(launcher, notebookDir);
    const kernel = await startLabKernel(lab);
    await dispatchNaps(lab, kernel);
    kernel.client.close();
    const tree = markedPids(lab.marker);
    // npm, the lab, the server, the kernel, at least one task worker (and npx's shell).
    expect(tree.length).toBeGreaterThanOrEqual(5);
    expect(tree).toContain(lab.child.pid);

    const sent = Date.now();
    process.kill(lab.child.pid!, signal);
    const marker = lab.marker;
    const gone = await waitUntil(() => markedPids(marker).length === 0, 30000, 50);
    const elapsed = Date.now() - sent;
    expect({ gone, left: markedPids(marker) }).toEqual({ gone: true, left: [] });
    expect(elapsed).toBeLessThanOrEqual(STOP_WITHIN_MS);
  });
});

describe('the lab process itself killed with SIGKILL (no chance to clean up)', () => {
  let lab: LabCli | undefined;
  const notebookDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ct-lab-kill9-'));
  afterAll(() => {
    lab?.kill();
    fs.rmSync(notebookDir, { recursive: true, force: true });
  });

  it('takes the server, the kernel and its task workers with it', async () => {
    lab = await startLabCli(['lab', '--port', String(await freePort()), '--notebook-dir', notebookDir]);
    const kernel = await startLabKernel(lab);
    await dispatchNaps(lab, kernel);
    kernel.client.close();
    expect(markedPids(lab.marker).length).toBeGreaterThanOrEqual(4);
    // Its private session folder (token file, runtime files) is recorded as its own.
    const sessionDir = fs
      .readdirSync(os.tmpdir())
      .filter(n => n.startsWith('covalent-ts-lab-'))
      .map(n => path.join(os.tmpdir(), n))
      .find(d => {
        try {
          return JSON.parse(fs.readFileSync(path.join(d, 'owner.json'), 'utf8')).pid === lab!.child.pid;
        } catch {
          return false;
        }
      });
    expect(sessionDir).toBeDefined();
    removeStaleSessionDirs();
    expect(fs.existsSync(sessionDir!)).toBe(true); // its lab still runs
    process.kill(lab.child.pid!, 'SIGKILL');
    const marker = lab.marker;
    // The server gets SIGTERM from the OS (PR_SET_PDEATHSIG), the kernel sees its
    // server gone (JPY_PARENT_PID), the workers lose their kernel (IPC disconnect).
    const gone = await waitUntil(() => markedPids(marker).length === 0, 15000, 50);
    expect({ gone, left: markedPids(marker) }).toEqual({ gone: true, left: [] });
    // The next lab removes the folder the killed one could not.
    expect(fs.existsSync(sessionDir!)).toBe(true);
    removeStaleSessionDirs();
    expect(fs.existsSync(sessionDir!)).toBe(false);
  });
});
