import { spawn } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { freePort, waitUntil } from './support/lab-session';
import { CLI, markedPids, request, startLabCli, type LabCli } from './support/lab-cli';

/**
 * `covalent-ts lab`: the README's main command. It serves on 127.0.0.1, prints
 * its URL on a line of its own, and on SIGTERM leaves no server, kernel or task
 * process behind.
 */
jest.setTimeout(180000);

describe('covalent-ts lab', () => {
  it('serves JupyterLab with our kernel and extension, prints its URL, and stops cleanly on SIGTERM', async () => {
    const port = await freePort();
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ct-lab-cmd-'));
    let lab: LabCli | undefined;
    try {
      lab = await startLabCli(['lab', '--port', String(port), '--notebook-dir', dir], { timeoutMs: 90000 });
      const line = lab.stdout().split('\n')[0];
      expect(line).toMatch(new RegExp(`^http://127\\.0\\.0\\.1:${port}/lab(/tree/[^?\\s]+)?\\?token=[0-9a-f]+$`));
      const { url, token } = lab;

      // The page is the JupyterLab frontend, with our prebuilt extension in its page config.
      const page = await request('GET', line, token);
      expect(page.status).toBe(200);
      expect(page.body).toContain('covalent-ts-labextension');
      const specs = JSON.parse((await request('GET', `${url.origin}/api/kernelspecs`, token)).body);
      expect(Object.keys(specs.kernelspecs)).toContain('covalent-ts');
      // The example notebook it opens exists in the notebook dir.
      if (url.pathname.startsWith('/lab/tree/')) {
        expect(fs.existsSync(path.join(dir, decodeURIComponent(url.pathname.slice('/lab/tree/'.length))))).toBe(true);
      }

      // A running kernel must not outlive the command.
      const started = await request('POST', `${url.origin}/api/kernels`, token, { name: 'covalent-ts' });
      expect(started.status).toBe(201);
      expect(markedPids(lab.marker).length).toBeGreaterThanOrEqual(2); // server + kernel (+ the CLI itself)

      lab.child.kill('SIGTERM');
      expect((await lab.exited).code).toBe(0);
      expect(lab.stderr()).toMatch(/stopped/);
      const marker = lab.marker;
      expect(await waitUntil(() => markedPids(marker).length === 0, 10000, 100)).toBe(true);
    } finally {
      lab?.kill();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('rejects a bad --port with a clear message', async () => {
    const child = spawn(process.execPath, [CLI, 'lab', '--port', 'eighty'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    child.stderr.on('data', d => (err += d));
    const code = await new Promise(resolve => child.on('exit', resolve));
    expect(code).not.toBe(0);
    expect(err).toMatch(/--port must be an integer/);
  });
});
