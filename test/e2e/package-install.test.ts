import { execFileSync, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { packageRoot } from '../../src/lab/lab-server';

/**
 * The first minutes of a user who installs the package: pack it, install the
 * tarball in an empty folder, install the kernel and the extension into a
 * prefix, and run a cell that dispatches and cancels in a kernel that Jupyter's
 * own client starts from that kernelspec.
 */
jest.setTimeout(600000);

const ROOT = packageRoot();
const PYTHON = '/usr/bin/python3';
const RUN_CELL = path.join(__dirname, 'support', 'run_kernelspec_cell.py');
const EXT = 'covalent-ts-labextension';

const sh = (cmd: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = {}) =>
  spawnSync(cmd, args, { cwd, encoding: 'utf8', env: { ...process.env, ...env }, timeout: 400000 });

describe('from the package tarball', () => {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'ct-pack-'));
  const app = path.join(work, 'app');
  const prefix = path.join(work, 'prefix');
  let tarball: string;
  afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

  it('npm pack ships the prebuilt extension, and its browser bundle has no Node-only code', () => {
    const r = sh('npm', ['pack', '--json', '--pack-destination', work], ROOT);
    expect(r.status).toBe(0);
    const [info] = JSON.parse(r.stdout.slice(r.stdout.indexOf('[')));
    tarball = path.join(work, info.filename);
    const files: string[] = info.files.map((f: { path: string }) => f.path);
    expect(files).toContain('labextension/prebuilt/package.json');
    expect(files.some(f => /^labextension\/prebuilt\/static\/remoteEntry\.[0-9a-f]+\.js$/.test(f))).toBe(true);
    expect(files).toContain('install.json');
    const x = path.join(work, 'x');
    fs.mkdirSync(x);
    execFileSync('tar', ['-xzf', tarball, '-C', x]);
    const staticDir = path.join(x, 'package', 'labextension', 'prebuilt', 'static');
    for (const f of fs.readdirSync(staticDir).filter(n => n.endsWith('.js'))) {
      const js = fs.readFileSync(path.join(staticDir, f), 'utf8');
      expect({ f, nodeOnly: js.match(/require\(["'](child_process|fs|net|ssh2|sql\.js|zeromq)["']\)|from ["'](ssh2|sql\.js|zeromq)["']/g) }).toEqual({ f, nodeOnly: null });
    }
  });

  it('npm install <tarball> in an empty folder, then `npx covalent-ts install --prefix DIR` installs the kernelspec and the extension', () => {
    fs.mkdirSync(app);
    const i = sh('npm', ['install', '--no-audit', '--no-fund', tarball], app);
    expect(i.status).toBe(0);
    const r = sh('npx', ['covalent-ts', 'install', '--prefix', prefix], app);
    expect({ status: r.status, stderr: r.stderr }).toEqual({ status: 0, stderr: '' });
    const data = path.join(prefix, 'share', 'jupyter');
    const spec = JSON.parse(fs.readFileSync(path.join(data, 'kernels', 'covalent-ts', 'kernel.json'), 'utf8'));
    expect(spec.argv[1]).toBe(path.join(fs.realpathSync(app), 'node_modules', 'covalent-ts', 'dist', 'kernel', 'main.js'));
    expect(JSON.parse(fs.readFileSync(path.join(data, 'labextensions', EXT, 'install.json'), 'utf8'))).toMatchObject({ packageName: 'covalent-ts' });
    expect(fs.existsSync(path.join(data, 'labextensions', EXT, 'package.json'))).toBe(true);
    // Debian's `jupyter kernelspec list` sees it.
    const list = sh('jupyter', ['kernelspec', 'list'], app, { JUPYTER_PATH: data });
    expect(list.stdout).toMatch(/^\s*covalent-ts\s+\S+kernels\/covalent-ts$/m);
  });

  it('a kernel started from that kernelspec by jupyter_client runs a cell that dispatches and cancels', () => {
    const cell = `import * as ct from 'covalent-ts';
const nap = ct.electron(async (ms: number) => { await new Promise((r) => setTimeout(r, ms)); return ms; });
const flow = ct.lattice((ms: number) => [nap(ms), nap(ms)]);
const id = await ct.dispatch(flow)(60000);
const report = await ct.cancel(id);
console.log(JSON.stringify({ confirmed: report.confirmed, outcomes: report.tasks.map((t: any) => t.outcome) }));`;
    const r = spawnSync(PYTHON, [RUN_CELL, 'covalent-ts', app], {
      input: cell,
      encoding: 'utf8',
      timeout: 300000,
      env: { ...process.env, JUPYTER_PATH: path.join(prefix, 'share', 'jupyter'), CT_HOME: path.join(work, 'ct-home') }
    });
    expect(r.status).toBe(0);
    const result = JSON.parse(r.stdout);
    expect({ status: result.status, error: result.error }).toEqual({ status: 'ok', error: null });
    const printed = result.outputs.filter((o: any) => o.type === 'stream').map((o: any) => o.content.text).join('');
    const line = JSON.parse(printed.trim().split('\n').pop());
    expect(line.confirmed).toBe(true);
    expect(line.outcomes.length).toBe(2);
    for (const o of line.outcomes) expect(['killed', 'aborted_before_start']).toContain(o);
  });

  it('without the prebuilt extension, install says so with a command that builds it and fails unless --kernel-only', () => {
    // The same package with the extension taken out (inside the app, so its dependencies resolve).
    const stripped = path.join(app, 'stripped');
    fs.cpSync(path.join(app, 'node_modules', 'covalent-ts'), stripped, { recursive: true });
    fs.rmSync(path.join(stripped, 'labextension', 'prebuilt'), { recursive: true });
    const cli = path.join(stripped, 'dist', 'src', 'cli', 'main.js');
    const p2 = path.join(work, 'prefix2');
    const r = spawnSync(process.execPath, [cli, 'install', '--prefix', p2], { encoding: 'utf8', cwd: app });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/JupyterLab extension is not built/);
    expect(r.stderr).toMatch(/npm pack/);
    expect(r.stderr).toMatch(/--kernel-only/);
    expect(r.stderr).toMatch(/CT_LAB_NOT_BUILT/);
    expect(fs.existsSync(path.join(p2, 'share', 'jupyter', 'kernels', 'covalent-ts'))).toBe(false);
    const k = spawnSync(process.execPath, [cli, 'install', '--prefix', p2, '--kernel-only'], { encoding: 'utf8', cwd: app });
    expect(k.status).toBe(0);
    expect(fs.existsSync(path.join(p2, 'share', 'jupyter', 'kernels', 'covalent-ts', 'kernel.json'))).toBe(true);
    expect(fs.existsSync(path.join(p2, 'share', 'jupyter', 'labextensions', EXT))).toBe(false);
  });
});
