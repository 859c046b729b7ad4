/**
 * The compiled runner (remote-main.js and the two built-ins-only modules it
 * imports) as bytes to upload, with a content hash that names its cache
 * directory on the remote side: hosts keep one copy per runner version.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ErrorCodes, ExecutorError } from '../../errors';

export const RUNNER_MODULES = ['remote-main', 'run-payload', 'payload-codec'] as const;

export interface RunnerFiles {
  /** File name -> contents (CommonJS). */
  files: { name: string; content: Buffer }[];
  /** Short content hash, e.g. `3f9a0c1d2b4e5f60`. */
  hash: string;
  /** Name of the entry file. */
  main: string;
}

let cached: RunnerFiles | undefined;

/**
 * Reads the runner next to this module: compiled `.js` in a build, or the
 * `.ts` sources transpiled on the fly when running from source (ts-jest).
 */
export function runnerFiles(): RunnerFiles {
  if (cached) return cached;
  const dir = path.join(__dirname, '..', 'runner');
  const files: { name: string; content: Buffer }[] = [];
  for (const mod of RUNNER_MODULES) {
    const js = path.join(dir, `${mod}.js`);
    const ts = path.join(dir, `${mod}.ts`);
    if (fs.existsSync(js)) {
      files.push({ name: `${mod}.js`, content: fs.readFileSync(js) });
    } else if (fs.existsSync(ts)) {
      files.push({ name: `${mod}.js`, content: Buffer.from(transpile(fs.readFileSync(ts, 'utf8'), ts)) });
    } else {
      throw new ExecutorError(
        ErrorCodes.EXECUTOR_FAILED,
        `The remote task runner ${js} is missing. Rebuild covalent-ts with "npm run build".`,
      );
    }
  }
  const h = createHash('sha256');
  for (const f of files) h.update(f.name).update('\0').update(f.content).update('\0');
  cached = { files, hash: h.digest('hex').slice(0, 16), main: 'remote-main.js' };
  return cached;
}

function transpile(source: string, fileName: string): string {
  // Only reached when running from TypeScript sources; builds ship the .js files.
  // eslint-disable-next-line @typescript-eslint/no-var-requires
  const ts = require('typescript') as typeof import('typescript');
  return ts.transpileModule(source, {
    fileName,
    compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2020, esModuleInterop: true },
  }).outputText;
}
