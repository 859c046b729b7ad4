import { execFileSync, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { ROOT } from '../../kernel/testing/kernel-process';
import { PYTHON } from './support/jupyter-env';

/** `covalent-ts install` / `uninstall`, run as a user would (the built CLI, a real Jupyter client reading the result). */
const CLI = path.join(ROOT, 'dist', 'src', 'cli', 'main.js');
const run = (args: string[], env: NodeJS.ProcessEnv = {}) =>
  spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', env: { ...process.env, ...env } });
const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'ct-install-'));

test('--prefix DIR writes DIR/share/jupyter/kernels/covalent-ts/kernel.json pointing at this package', () => {
  const prefix = tmp();
  const r = run(['install', '--prefix', prefix]);
  expect(r.status).toBe(0);
  const kernelDir = path.join(prefix, 'share', 'jupyter', 'kernels', 'covalent-ts');
  const spec = JSON.parse(fs.readFileSync(path.join(kernelDir, 'kernel.json'), 'utf8'));
  expect(spec).toMatchObject({
    argv: [process.execPath, path.join(ROOT, 'dist', 'kernel', 'main.js'), '{connection_file}'],
    display_name: 'TypeScript (covalent-ts)',
    language: 'typescript',
    interrupt_mode: 'message',
  });
  for (const logo of ['logo-32x32.png', 'logo-64x64.png', 'logo-svg.svg']) expect(fs.existsSync(path.join(kernelDir, logo))).toBe(true);
  expect(r.stdout).toContain(kernelDir);
});

test("Jupyter's own client finds the installed kernelspec through JUPYTER_PATH", () => {
  const prefix = tmp();
  expect(run(['install', '--prefix', prefix]).status).toBe(0);
  const out = execFileSync(
    PYTHON,
    ['-c', 'import json; from jupyter_client.kernelspec import KernelSpecManager as M; s = M().get_kernel_spec("covalent-ts"); print(json.dumps([s.display_name, s.language, s.interrupt_mode]))'],
    { encoding: 'utf8', env: { ...process.env, JUPYTER_PATH: path.join(prefix, 'share', 'jupyter') } },
  );
  expect(JSON.parse(out)).toEqual(['TypeScript (covalent-ts)', 'typescript', 'message']);
});

test('the prebuilt JupyterLab extension is copied with install.json when present, and uninstall removes both', () => {
  const prefix = tmp();
  expect(run(['install', '--prefix', prefix]).status).toBe(0);
  const ext = path.join(prefix, 'share', 'jupyter', 'labextensions', 'covalent-ts-labextension');
  const prebuilt = path.join(ROOT, 'labextension', 'prebuilt', 'package.json');
  expect(fs.existsSync(path.join(ext, 'package.json'))).toBe(fs.existsSync(prebuilt));
  if (fs.existsSync(path.join(ROOT, 'install.json')) && fs.existsSync(prebuilt)) expect(fs.existsSync(path.join(ext, 'install.json'))).toBe(true);
  const u = run(['uninstall', '--prefix', prefix]);
  expect(u.status).toBe(0);
  expect(fs.existsSync(path.join(prefix, 'share', 'jupyter', 'kernels', 'covalent-ts'))).toBe(false);
  expect(fs.existsSync(ext)).toBe(false);
});

test('--user installs into the per-user data dir (JUPYTER_DATA_DIR), the `ct` alias works too', () => {
  const data = tmp();
  const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
  expect(pkg.bin).toEqual({ 'covalent-ts': 'dist/src/cli/main.js', ct: 'dist/src/cli/main.js' });
  expect(run(['install', '--user'], { JUPYTER_DATA_DIR: data }).status).toBe(0);
  expect(fs.existsSync(path.join(data, 'kernels', 'covalent-ts', 'kernel.json'))).toBe(true);
  expect(run(['uninstall', '--user'], { JUPYTER_DATA_DIR: data }).status).toBe(0);
  expect(fs.existsSync(path.join(data, 'kernels', 'covalent-ts'))).toBe(false);
});

test('--sys-prefix uses sys.prefix of the given Python', () => {
  const venvLike = tmp();
  // A stand-in "python" that answers the one question install asks.
  const fake = path.join(venvLike, 'python');
  fs.writeFileSync(fake, `#!/bin/sh\necho ${venvLike}\n`, { mode: 0o755 });
  expect(run(['install', '--sys-prefix', '--python', fake], { VIRTUAL_ENV: '', CONDA_PREFIX: '' }).status).toBe(0);
  expect(fs.existsSync(path.join(venvLike, 'share', 'jupyter', 'kernels', 'covalent-ts', 'kernel.json'))).toBe(true);
});

test('conflicting locations are refused with a clear message and a stable code', () => {
  const r = run(['install', '--user', '--prefix', tmp()]);
  expect(r.status).toBe(2);
  expect(r.stderr).toContain('Use only one of --user, --sys-prefix and --prefix DIR.');
  expect(r.stderr).toContain('[CT_INVALID_ARGUMENT]');
});
