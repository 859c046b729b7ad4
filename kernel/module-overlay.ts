import * as path from 'path';
import * as fs from 'fs';

/**
 * Makes `import ... from 'covalent-ts'` and Node's built-in modules work, with
 * types, in a notebook folder that has no node_modules at all.
 *
 * tslab type-checks cells with classic module resolution from the notebook's
 * folder and runs them with a `require` rooted there. Both are given an
 * overlay: `<cwd>/node_modules/covalent-ts/...` reads the kernel's own
 * package, and `<cwd>/node_modules/@types/node/...` reads the @types/node that
 * ships with tslab whenever the folder has none. At run time `covalent-ts`
 * always resolves to the kernel's own copy, so a cell, the kernel and the comm
 * handler share one module (and one dispatcher).
 */
export interface Overlay {
  /** Virtual package directory (under `<cwd>/node_modules`) -> real directory. */
  readonly mounts: ReadonlyArray<{ virtual: string; real: string; onlyIfMissing: boolean }>;
}

const norm = (p: string) => p.replace(/\\/g, '/');

export function packageRoot(): string {
  // dist/kernel/<file>.js -> package root
  return path.resolve(__dirname, '..', '..');
}

export function buildOverlay(cwd: string, pkgRoot = packageRoot()): Overlay {
  const nm = norm(path.join(cwd, 'node_modules'));
  const mounts: Array<{ virtual: string; real: string; onlyIfMissing: boolean }> = [];
  if (norm(pkgRoot) !== norm(cwd)) mounts.push({ virtual: `${nm}/covalent-ts`, real: norm(pkgRoot), onlyIfMissing: false });
  const typesNode = resolveTypesNode(pkgRoot);
  if (typesNode) mounts.push({ virtual: `${nm}/@types/node`, real: typesNode, onlyIfMissing: true });
  return { mounts };
}

function resolveTypesNode(pkgRoot: string): string | null {
  const tslabDir = path.dirname(require.resolve('tslab/package.json', { paths: [pkgRoot] }));
  for (const from of [tslabDir, pkgRoot]) {
    try {
      return norm(path.dirname(require.resolve('@types/node/package.json', { paths: [from] })));
    } catch {
      // try the next location
    }
  }
  return null;
}

/** Maps a path through the overlay; returns null when it is not under a mount (or the real file wins). */
export function mapPath(overlay: Overlay, p: string, exists: (p: string) => boolean): string | null {
  const n = norm(p);
  for (const m of overlay.mounts) {
    if (n === m.virtual || n.startsWith(m.virtual + '/')) {
      if (m.onlyIfMissing && exists(m.virtual)) return null;
      return m.real + n.slice(m.virtual.length);
    }
  }
  return null;
}

/** Directories that must appear to exist so that the compiler walks into the mounts. */
function isMountAncestor(overlay: Overlay, p: string): boolean {
  const n = norm(p).replace(/\/$/, '');
  return overlay.mounts.some((m) => m.virtual.startsWith(n + '/'));
}

/** Children of `dir` that exist only through the overlay. */
function virtualChildren(overlay: Overlay, dir: string): string[] {
  const n = norm(dir).replace(/\/$/, '');
  const out: string[] = [];
  for (const m of overlay.mounts) {
    if (m.virtual.startsWith(n + '/')) out.push(m.virtual.slice(n.length + 1).split('/')[0]);
  }
  return out;
}

/** `readDirectory`'s arguments after the path (extensions, exclude, include, depth). */
type ReadDirectoryOptions = Parameters<typeof import('@tslab/typescript-for-tslab').sys.readDirectory> extends [string, ...infer Rest] ? Rest : never;

/** Patches the TypeScript `sys` that tslab's converter reads files through. Call before creating the converter. */
export function installTypeOverlay(ts: Pick<typeof import('@tslab/typescript-for-tslab'), 'sys'>, overlay: Overlay): void {
  const sys = ts.sys;
  const orig = {
    fileExists: sys.fileExists.bind(sys),
    directoryExists: sys.directoryExists.bind(sys),
    readFile: sys.readFile.bind(sys),
    getDirectories: sys.getDirectories.bind(sys),
    readDirectory: sys.readDirectory.bind(sys),
    realpath: sys.realpath?.bind(sys),
  };
  const exists = (p: string) => fs.existsSync(p);
  const map = (p: string) => mapPath(overlay, p, exists);
  sys.fileExists = (p: string) => orig.fileExists(map(p) ?? p);
  sys.directoryExists = (p: string) => orig.directoryExists(map(p) ?? p) || isMountAncestor(overlay, p);
  sys.readFile = (p: string, enc?: string) => orig.readFile(map(p) ?? p, enc);
  sys.getDirectories = (p: string) => {
    const mapped = map(p);
    if (mapped) return orig.getDirectories(mapped);
    const real = orig.directoryExists(p) ? orig.getDirectories(p) : [];
    return Array.from(new Set([...real, ...virtualChildren(overlay, p)]));
  };
  sys.readDirectory = (p: string, ...rest: ReadDirectoryOptions) => {
    const mapped = map(p);
    if (!mapped) return orig.readDirectory(p, ...rest);
    const virtualRoot = norm(p).replace(/\/$/, '');
    return orig.readDirectory(mapped, ...rest).map((f: string) => virtualRoot + norm(f).slice(mapped.replace(/\/$/, '').length));
  };
  const realpath = orig.realpath;
  if (realpath) {
    // Resolve to the real file so that the package's own imports resolve from where it is installed.
    sys.realpath = (p: string) => {
      const mapped = map(p);
      return mapped ? realpath(mapped) : realpath(p);
    };
  }
}

/**
 * Wraps the `require` tslab gives cells: `covalent-ts` (and its subpaths)
 * load the kernel's own copy; everything else resolves from the notebook
 * folder as before.
 */
export function wrapCellRequire(cellRequire: NodeJS.Require, pkgRoot = packageRoot()): NodeJS.Require {
  return new Proxy(cellRequire, {
    apply(target, thisArg, args: unknown[]) {
      const id = args[0];
      if (args.length === 1 && typeof id === 'string' && (id === 'covalent-ts' || id.startsWith('covalent-ts/'))) {
        const sub = id.slice('covalent-ts'.length);
        return require(sub ? path.join(pkgRoot, sub) : pkgRoot);
      }
      return Reflect.apply(target, thisArg, args);
    },
  });
}
