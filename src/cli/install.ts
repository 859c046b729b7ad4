import type { Command } from 'commander';
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { CtError, ErrorCodes } from '../errors';

/** Name of the kernelspec and of its folder under `<datadir>/kernels/`. */
export const KERNEL_NAME = 'covalent-ts';
/** Folder of the prebuilt JupyterLab extension under `<datadir>/labextensions/`. */
export const LABEXTENSION_NAME = 'covalent-ts-labextension';

export interface InstallLocation {
  user?: boolean;
  sysPrefix?: boolean;
  prefix?: string;
  /** Python whose `sys.prefix` `--sys-prefix` means (default: the one running `jupyter`). */
  python?: string;
}

export interface InstallOptions extends InstallLocation {
  /** Install only the kernelspec; without it a missing prebuilt extension is an error. */
  kernelOnly?: boolean;
}

export interface InstallResult {
  dataDir: string;
  kernelDir: string;
  labextensionDir: string | null;
}

/** Root of the installed covalent-ts package (this file is dist/src/cli/install.js). */
export function packageRoot(): string {
  return path.resolve(__dirname, '..', '..', '..');
}

/** Per-user Jupyter data dir, as jupyter_core's `jupyter_data_dir()` computes it. */
export function userDataDir(env = process.env, platform = process.platform, home = os.homedir()): string {
  if (env.JUPYTER_DATA_DIR) return path.resolve(env.JUPYTER_DATA_DIR);
  if (platform === 'darwin') return path.join(home, 'Library', 'Jupyter');
  if (platform === 'win32') return path.join(env.APPDATA ?? path.join(home, 'AppData', 'Roaming'), 'jupyter');
  return path.join(env.XDG_DATA_HOME || path.join(home, '.local', 'share'), 'jupyter');
}

/** System-wide data dir (`jupyter kernelspec install` without flags). */
export function systemDataDir(env = process.env, platform = process.platform): string {
  if (platform === 'win32') return path.join(env.PROGRAMDATA ?? 'C:\\ProgramData', 'jupyter');
  return '/usr/local/share/jupyter';
}

/**
 * `sys.prefix` of the Python that runs Jupyter: an explicit `--python`, else
 * the active virtualenv or conda env, else the interpreter named in the
 * `jupyter` command's shebang, else `python3`.
 */
export function sysPrefix(python?: string, env = process.env): string {
  if (!python) {
    if (env.VIRTUAL_ENV) return path.resolve(env.VIRTUAL_ENV);
    if (env.CONDA_PREFIX) return path.resolve(env.CONDA_PREFIX);
    python = jupyterPython(env) ?? 'python3';
  }
  try {
    return execFileSync(python, ['-c', 'import sys; print(sys.prefix)'], { encoding: 'utf8' }).trim();
  } catch (e) {
    throw new CtError(ErrorCodes.INVALID_ARGUMENT, `Cannot ask ${python} for sys.prefix (${(e as Error).message}); pass --python PATH or --prefix DIR.`, {
      cause: e,
    });
  }
}

function jupyterPython(env: NodeJS.ProcessEnv): string | undefined {
  for (const dir of (env.PATH ?? '').split(path.delimiter)) {
    const candidate = path.join(dir, 'jupyter');
    try {
      const first = fs.readFileSync(candidate, 'utf8').slice(0, 300).split('\n')[0];
      const m = /^#!\s*(\S+)(?:\s+(\S+))?/.exec(first);
      if (!m) continue;
      return path.basename(m[1]) === 'env' && m[2] ? m[2] : m[1];
    } catch {
      // not here
    }
  }
  return undefined;
}

/** The Jupyter data dir the flags select (exactly one of them, or none for the default). */
export function resolveDataDir(loc: InstallLocation): string {
  const chosen = [loc.user, loc.sysPrefix, loc.prefix !== undefined].filter(Boolean).length;
  if (chosen > 1) throw new CtError(ErrorCodes.INVALID_ARGUMENT, 'Use only one of --user, --sys-prefix and --prefix DIR.');
  if (loc.prefix !== undefined) {
    if (!loc.prefix) throw new CtError(ErrorCodes.INVALID_ARGUMENT, '--prefix needs a directory.');
    return path.join(path.resolve(loc.prefix), 'share', 'jupyter');
  }
  if (loc.sysPrefix) return path.join(sysPrefix(loc.python), 'share', 'jupyter');
  if (loc.user) return userDataDir();
  // Like Jupyter's own tools: system-wide for root, per user otherwise.
  return typeof process.getuid === 'function' && process.getuid() === 0 ? systemDataDir() : userDataDir();
}

/** The kernelspec pointing at this package's kernel, run by this Node. */
export function renderKernelSpec(root = packageRoot(), node = process.execPath): Record<string, unknown> {
  const template = fs.readFileSync(path.join(root, 'kernel', 'kernelspec', 'kernel.json'), 'utf8');
  const version = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')).version as string;
  const fill = (v: unknown): unknown =>
    typeof v === 'string'
      ? v.replace('@NODE@', node).replace('@KERNEL_MAIN@', path.join(root, 'dist', 'kernel', 'main.js')).replace('@VERSION@', version)
      : Array.isArray(v)
        ? v.map(fill)
        : v && typeof v === 'object'
          ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k, fill(x)]))
          : v;
  return fill(JSON.parse(template)) as Record<string, unknown>;
}

/** Why the prebuilt extension is missing, and the command that fixes it here. */
function extensionMissing(root: string, prebuilt: string): CtError {
  const checkout = fs.existsSync(path.join(root, 'labextension', 'src'));
  const fix = checkout
    ? `build it with \`npm --prefix ${JSON.stringify(root)} run build:lab\` (a source checkout; it installs the extension's own dependencies first), then run install again`
    : 'this copy of covalent-ts was packed without it: install a package made by `npm pack` (its prepack step builds the extension)';
  return new CtError(
    ErrorCodes.LAB_NOT_BUILT,
    `The JupyterLab extension is not built (${prebuilt} is missing): ${fix}. To install only the kernel, pass --kernel-only.`,
  );
}

/**
 * Writes `<datadir>/kernels/covalent-ts/` (kernel.json and logos) and
 * `<datadir>/labextensions/covalent-ts-labextension/` (the prebuilt extension
 * with install.json), unless `kernelOnly`. Existing copies are replaced; a
 * missing prebuilt extension is an error (`CT_LAB_NOT_BUILT`) before anything is written.
 */
export function install(loc: InstallOptions, root = packageRoot()): InstallResult {
  const main = path.join(root, 'dist', 'kernel', 'main.js');
  if (!fs.existsSync(main)) {
    throw new CtError(ErrorCodes.INVALID_ARGUMENT, `The kernel is not built (${main} is missing); run \`npm run build\` in ${root}.`);
  }
  const prebuilt = path.join(root, 'labextension', 'prebuilt');
  if (!loc.kernelOnly && !fs.existsSync(path.join(prebuilt, 'package.json'))) throw extensionMissing(root, prebuilt);
  const dataDir = resolveDataDir(loc);
  const kernelDir = path.join(dataDir, 'kernels', KERNEL_NAME);
  fs.rmSync(kernelDir, { recursive: true, force: true });
  fs.mkdirSync(kernelDir, { recursive: true });
  fs.writeFileSync(path.join(kernelDir, 'kernel.json'), JSON.stringify(renderKernelSpec(root), null, 2) + '\n');
  for (const logo of ['logo-32x32.png', 'logo-64x64.png', 'logo-svg.svg']) {
    fs.copyFileSync(path.join(root, 'kernel', 'kernelspec', logo), path.join(kernelDir, logo));
  }
  let labextensionDir: string | null = null;
  if (!loc.kernelOnly) {
    labextensionDir = path.join(dataDir, 'labextensions', LABEXTENSION_NAME);
    fs.rmSync(labextensionDir, { recursive: true, force: true });
    fs.mkdirSync(path.dirname(labextensionDir), { recursive: true });
    fs.cpSync(prebuilt, labextensionDir, { recursive: true });
    const installJson = path.join(root, 'install.json');
    if (fs.existsSync(installJson)) fs.copyFileSync(installJson, path.join(labextensionDir, 'install.json'));
  }
  return { dataDir, kernelDir, labextensionDir };
}

/** Removes what `install` wrote in the selected data dir; returns the paths removed. */
export function uninstall(loc: InstallLocation): string[] {
  const dataDir = resolveDataDir(loc);
  const removed: string[] = [];
  for (const dir of [path.join(dataDir, 'kernels', KERNEL_NAME), path.join(dataDir, 'labextensions', LABEXTENSION_NAME)]) {
    if (fs.existsSync(dir)) {
      fs.rmSync(dir, { recursive: true, force: true });
      removed.push(dir);
    }
  }
  return removed;
}

function locationOptions(cmd: Command): Command {
  return cmd
    .option('--user', 'the per-user Jupyter data dir (default when not root)')
    .option('--sys-prefix', "the data dir of Jupyter's Python environment (sys.prefix/share/jupyter)")
    .option('--prefix <dir>', 'DIR/share/jupyter (kernelspec in DIR/share/jupyter/kernels/covalent-ts)')
    .option('--python <path>', 'the Python whose sys.prefix --sys-prefix uses');
}

/** `install` / `uninstall`: kernelspec and prebuilt lab extension. */
export function registerInstallCommands(program: Command): void {
  locationOptions(
    program
      .command('install')
      .description('Install the covalent-ts Jupyter kernel and the JupyterLab extension into a Jupyter data dir')
      .option('--kernel-only', 'install only the kernelspec, not the JupyterLab extension'),
  ).action((opts: InstallOptions) => {
    const r = install(opts);
    process.stdout.write(`Installed kernelspec ${KERNEL_NAME} in ${r.kernelDir}\n`);
    if (r.labextensionDir) process.stdout.write(`Installed JupyterLab extension in ${r.labextensionDir}\n`);
  });
  locationOptions(program.command('uninstall').description('Remove the covalent-ts kernelspec and JupyterLab extension from a Jupyter data dir')).action(
    (opts: InstallLocation) => {
      const removed = uninstall(opts);
      if (removed.length === 0) process.stdout.write(`Nothing to remove in ${resolveDataDir(opts)}\n`);
      for (const r of removed) process.stdout.write(`Removed ${r}\n`);
    },
  );
}
