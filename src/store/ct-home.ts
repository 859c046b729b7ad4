import * as os from 'node:os';
import * as path from 'node:path';

/** Where covalent-ts keeps its store: `$CT_HOME`, else `~/.covalent-ts`. */
export function ctHome(): string {
  const fromEnv = process.env.CT_HOME;
  return fromEnv && fromEnv.trim() ? path.resolve(fromEnv) : path.join(os.homedir(), '.covalent-ts');
}

/** The files inside a home directory, named in one place. */
export function storePaths(home: string) {
  return {
    home,
    database: path.join(home, 'store.sqlite'),
    lock: path.join(home, 'store.lock'),
    journalDir: path.join(home, 'journal'),
    outputsDir: path.join(home, 'outputs'),
    requestsDir: path.join(home, 'requests'),
    reportsDir: path.join(home, 'reports'),
  };
}
export type StorePaths = ReturnType<typeof storePaths>;
