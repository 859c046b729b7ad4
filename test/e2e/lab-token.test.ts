import { spawn } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import type { KernelClient } from '../../kernel/testing/kernel-client';
import { freePort, waitUntil } from './support/lab-session';
import { cmdline, dispatchNaps, markedPids, startLabCli, startLabKernel, type LabCli } from './support/lab-cli';

/**
 * The lab's token is the key to a shell as the lab's user. Another local user
 * (`nobody`) must not find it (nor a kernel's connection key) in any command line,
 * environment or file they can read, and without it cannot start a kernel.
 */
jest.setTimeout(240000);

const PROBE = path.join(__dirname, 'support', 'local-user-probe.js');

interface ProbeReport {
  uid: number;
  hits: string[];
  filesRead: number;
  cmdlineRead: number[];
  environRead: number[];
  withoutToken: number | string;
  wrongToken: number | string;
  withToken: number | string | null;
}

/** Run the probe as `nobody`, handing it the secrets on stdin. */
function probeAsNobody(input: { secrets: string[]; roots: string[]; url: string; tryToken: string }): Promise<ProbeReport> {
  // The probe must be readable to nobody wherever the checkout lives.
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ct-probe-'));
  fs.chmodSync(dir, 0o755);
  const script = path.join(dir, 'probe.js');
  fs.copyFileSync(PROBE, script);
  fs.chmodSync(script, 0o644);
  return new Promise((resolve, reject) => {
    const child = spawn('runuser', ['-u', 'nobody', '--', process.execPath, script], { cwd: '/', stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', d => (out += d));
    child.stderr.on('data', d => (err += d));
    child.on('error', reject);
    child.on('exit', code => {
      fs.rmSync(dir, { recursive: true, force: true });
      if (code !== 0) reject(new Error(`probe exited ${code}: ${err}`));
      else resolve(JSON.parse(out));
    });
    child.stdin.end(JSON.stringify(input));
  });
}

describe('a lab session seen by another local user', () => {
  let lab: LabCli | undefined;
  let client: KernelClient | undefined;
  let canaryProc: ReturnType<typeof spawn> | undefined;
  const notebookDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ct-lab-token-nb-'));
  const ctHome = fs.mkdtempSync(path.join(os.tmpdir(), 'ct-lab-token-home-'));

  afterAll(async () => {
    client?.close();
    canaryProc?.kill('SIGKILL');
    if (lab && lab.child.exitCode === null) {
      lab.child.kill('SIGTERM');
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([lab.exited, new Promise(r => (timer = setTimeout(r, 15000)))]);
      clearTimeout(timer);
    }
    lab?.kill();
    fs.rmSync(notebookDir, { recursive: true, force: true });
    fs.rmSync(ctHome, { recursive: true, force: true });
  });

  it('finds neither the token nor a kernel key anywhere it can read, and cannot start a kernel without the token', async () => {
    // Given: world-readable notebook and store folders, as in a typical home directory.
    fs.chmodSync(notebookDir, 0o755);
    fs.chmodSync(ctHome, 0o755);
    lab = await startLabCli(['lab', '--port', String(await freePort()), '--notebook-dir', notebookDir], { env: { CT_HOME: ctHome } });
    expect(lab.token).toMatch(/^[0-9a-f]{32,}$/);

    // A kernel running a dispatch, so its task workers exist too.
    const kernel = await startLabKernel(lab);
    client = kernel.client;
    const conn = kernel.conn;
    await dispatchNaps(lab, kernel);
    const tree = markedPids(lab.marker);

    // Canaries prove the probe's scans would find a secret where it can look.
    const canary = `canary-${conn.key.slice(0, 12)}-secret`;
    const canaryFile = path.join(notebookDir, 'canary.txt');
    fs.writeFileSync(canaryFile, canary, { mode: 0o644 });
    canaryProc = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 600000)', canary], { stdio: 'ignore' });
    expect(await waitUntil(() => cmdline(canaryProc!.pid!).includes(canary), 10000)).toBe(true);

    // When: nobody looks everywhere a local user can.
    const report = await probeAsNobody({
      secrets: [lab.token, conn.key, canary],
      roots: [os.tmpdir(), '/var/tmp', '/dev/shm', '/run', notebookDir, ctHome, os.homedir()],
      url: lab.url.origin,
      tryToken: lab.token
    });

    if (process.env.CT_E2E_DEBUG) console.log(JSON.stringify({ ...report, cmdlineRead: report.cmdlineRead.length, environRead: report.environRead }), tree);
    // Then: only the canaries turn up.
    expect(report.uid).not.toBe(0);
    expect(report.hits.sort()).toEqual([`/proc/${canaryProc.pid}/cmdline`, canaryFile].sort());
    expect(report.filesRead).toBeGreaterThan(0);
    // Every process of the lab's tree was looked at: its argv is readable, its environment is not.
    expect(tree.filter(p => !report.cmdlineRead.includes(p))).toEqual([]);
    expect(tree.filter(p => report.environRead.includes(p))).toEqual([]);
    // Without the token (or with a wrong one) the server refuses; with it, it starts a kernel.
    expect([401, 403]).toContain(report.withoutToken);
    expect([401, 403]).toContain(report.wrongToken);
    expect(report.withToken).toBe(201);
  });
});
