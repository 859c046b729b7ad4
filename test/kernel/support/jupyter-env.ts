import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { ROOT } from '../../../kernel/testing/kernel-process';

/** Debian's Python: the one that sees python3-jupyter-* packages (see FIELD-GUIDE). */
export const PYTHON = '/usr/bin/python3';

/**
 * Installs the kernelspec with our own CLI into a fresh prefix and returns an
 * environment in which Jupyter's Python clients find it (JUPYTER_PATH), plus
 * an empty working folder (no node_modules) for the kernel.
 */
export function privateJupyter(): { prefix: string; env: NodeJS.ProcessEnv; workDir: string } {
  const prefix = fs.mkdtempSync(path.join(os.tmpdir(), 'ct-jupyter-'));
  execFileSync(process.execPath, [path.join(ROOT, 'dist', 'src', 'cli', 'main.js'), 'install', '--prefix', prefix], { encoding: 'utf8' });
  const workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ct-work-'));
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    JUPYTER_PATH: path.join(prefix, 'share', 'jupyter'),
    JUPYTER_DATA_DIR: path.join(prefix, 'data'),
    JUPYTER_RUNTIME_DIR: path.join(prefix, 'runtime'),
    JUPYTER_CONFIG_DIR: path.join(prefix, 'config'),
    JUPYTER_PLATFORM_DIRS: '1',
    CT_HOME: path.join(prefix, 'ct-home'),
    PYTHONDONTWRITEBYTECODE: '1',
  };
  return { prefix, env, workDir };
}
