import { spawn } from 'child_process';
import * as fs from 'fs';
import * as http from 'http';
import * as os from 'os';
import * as path from 'path';
import { randomBytes } from 'crypto';
import { freePort, waitUntil } from './support/lab-session';

/**
 * `covalent-ts lab`: the README's main command. It serves on 127.0.0.1, prints
 * its URL on a line of its own, and on SIGTERM leaves no server, kernel or task
 * process behind.
 */
jest.setTimeout(180000);

const CLI = path.resolve(__dirname, '..', '..', 'dist', 'src', 'cli', 'main.js');

function request(method: string, url: string, token: string, body?: unknown): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, headers: { Authorization: `token ${token}`, 'Content-Type': 'application/json' } }, res => {
      let data = '';
      res.on('data', c => (data += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: data }));
    });
    req.on('error', reject);
    req.end(body === undefined ? undefined : JSON.stringify(body));
  });
}

/** Pids of processes whose environment carries our marker (the CLI's descendants). */
function marked(marker: string): number[] {
  const needle = Buffer.from(`CT_E2E_MARK=${marker}\0`);
  return fs
    .readdirSync('/proc')
    .filter(e => /^\d+$/.test(e))
    .filter(e => {
      try {
        return fs.readFileSync(`/proc/${e}/environ`).includes(needle);
      } catch {
        return false;
      }
    })
    .map(Number);
}

describe('covalent-ts lab', () => {
  it('serves JupyterLab with our kernel and extension, prints its URL, and stops cleanly on SIGTERM', async () => {
    const port = await freePort();
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ct-lab-cmd-'));
    const marker = randomBytes(6).toString('hex');
    const child = spawn(process.execPath, [CLI, 'lab', '--port', String(port), '--notebook-dir', dir], {
      env: { ...process.env, CT_E2E_MARK: marker },
      stdio: ['ignore', 'pipe', 'pipe']
    });
    let out = '';
    let err = '';
    child.stdout.on('data', d => (out += d));
    child.stderr.on('data', d => (err += d));
    const exited = new Promise<number | null>(resolve => child.on('exit', code => resolve(code)));
    try {
      expect(await waitUntil(() => out.includes('\n'), 90000, 100)).toBe(true);
      const line = out.split('\n')[0];
      expect(line).toMatch(new RegExp(`^http://127\\.0\\.0\\.1:${port}/lab(/tree/[^?\\s]+)?\\?token=[0-9a-f]+$`));
      const url = new URL(line);
      const token = url.searchParams.get('token')!;

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
      const kernelsBefore = marked(marker).length;
      expect(kernelsBefore).toBeGreaterThanOrEqual(2); // server + kernel (+ the CLI itself)

      child.kill('SIGTERM');
      expect(await exited).toBe(0);
      expect(err).toMatch(/stopped/);
      expect(await waitUntil(() => marked(marker).length === 0, 10000, 100)).toBe(true);
    } finally {
      if (child.exitCode === null) {
        child.kill('SIGKILL');
      }
      for (const pid of marked(marker)) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          /* gone */
        }
      }
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
