/**
 * A machine on which remote executors stage and run tasks: the local machine
 * (Slurm submitted locally) or a host reached over SSH. Commands are POSIX
 * shell scripts; files move as bytes, never through a shell.
 */
export interface ExecResult {
  code: number | null;
  signal?: string | null;
  stdout: string;
  stderr: string;
}

export interface RemoteHost {
  /** Human-readable name for messages, e.g. `alice@hpc1:22` or `local`. */
  describe(): string;
  /** Run a POSIX sh script (it is quoted as one argument of `/bin/sh -c`). */
  exec(script: string, options?: { timeoutMs?: number }): Promise<ExecResult>;
  /** Absolute path of the login's home directory. */
  homeDir(): Promise<string>;
  writeFile(path: string, data: Buffer | string, mode?: number): Promise<void>;
  /** The file's bytes, or undefined when it does not exist. */
  readFile(path: string): Promise<Buffer | undefined>;
  /** Whether a path exists. */
  exists(path: string): Promise<boolean>;
  /** Create a directory and its parents (mode 0700 for the last one). */
  mkdirp(path: string): Promise<void>;
  rename(from: string, to: string): Promise<void>;
  /** `rm -rf` one path (callers check that it is theirs to remove). */
  removeTree(path: string): Promise<void>;
}
