/** A host reached over a pooled SSH connection, as a RemoteHost. */
import type { SFTPWrapper } from 'ssh2';
import { ErrorCodes, ExecutorError } from '../../errors';
import type { ExecResult, RemoteHost } from '../remote/remote-host';
import { shq, shScript } from '../remote/shell-quote';
import { sshPool, type SSHConnection } from './connection-pool';
import type { BatchedExecOptions } from './exec-batcher';
import { loginKey, type ResolvedSSHOptions } from './ssh-options';

const SFTP_NO_SUCH_FILE = 2;

export class SSHHost implements RemoteHost {
  private home: string | undefined;

  /** `token` scopes a private connection when `reuseConnection` is false. */
  constructor(
    readonly options: ResolvedSSHOptions,
    readonly token?: string,
  ) {}

  describe(): string {
    return loginKey(this.options);
  }

  connection(): Promise<SSHConnection> {
    return sshPool().get(this.options, this.token);
  }

  async exec(script: string, options: { timeoutMs?: number } = {}): Promise<ExecResult> {
    const c = await this.connection();
    return c.exec(shScript(script), options);
  }

  /** Like exec, through the connection's script server for `nodePath` when it has one (see script-server.ts). */
  async execScript(script: string, options: { timeoutMs?: number; nodePath?: string } = {}): Promise<ExecResult> {
    const c = await this.connection();
    return c.execScript(script, options);
  }

  /** Like exec, for short scripts: those sent within a few ms share one exec (one server session). */
  async execBatched(script: string, options: BatchedExecOptions & { nodePath?: string } = {}): Promise<ExecResult> {
    const c = await this.connection();
    return c.execBatched(script, options);
  }

  private async sftp(): Promise<SFTPWrapper> {
    return (await this.connection()).sftp();
  }

  async homeDir(): Promise<string> {
    this.home ??= await (await this.connection()).homeDir();
    return this.home;
  }

  async writeFile(path: string, data: Buffer | string, mode = 0o600): Promise<void> {
    const sftp = await this.sftp();
    await new Promise<void>((resolve, reject) =>
      sftp.writeFile(path, data, { mode }, (err) => (err ? reject(this.ioError('write', path, err)) : resolve())),
    );
  }

  async readFile(path: string): Promise<Buffer | undefined> {
    const sftp = await this.sftp();
    return new Promise<Buffer | undefined>((resolve, reject) =>
      sftp.readFile(path, (err: any, data: Buffer) => {
        if (err) return err.code === SFTP_NO_SUCH_FILE ? resolve(undefined) : reject(this.ioError('read', path, err));
        resolve(data);
      }),
    );
  }

  async exists(path: string): Promise<boolean> {
    const sftp = await this.sftp();
    return new Promise<boolean>((resolve, reject) =>
      sftp.stat(path, (err: any) => {
        if (!err) return resolve(true);
        if (err.code === SFTP_NO_SUCH_FILE) return resolve(false);
        reject(this.ioError('stat', path, err));
      }),
    );
  }

  async mkdirp(path: string): Promise<void> {
    // One SFTP request when the parent exists (the common case: a new task
    // directory), a shell round trip only to create missing parents.
    const sftp = await this.sftp();
    const made = await new Promise<boolean>((resolve) => sftp.mkdir(path, { mode: 0o700 }, (err) => resolve(!err)));
    if (made) return;
    const r = await this.exec(`umask 077 && mkdir -p -- ${shq(path)}`);
    if (r.code !== 0) throw this.ioError('create directory', path, new Error(r.stderr.trim()));
  }

  async rename(from: string, to: string): Promise<void> {
    const sftp = await this.sftp();
    await new Promise<void>((resolve, reject) => sftp.rename(from, to, (err) => (err ? reject(this.ioError('rename', from, err)) : resolve())));
  }

  async removeTree(path: string): Promise<void> {
    // A directory of plain files (a task directory) goes over SFTP, a few ms; an exec costs a
    // session on the server (about 200 ms here), so it is kept for what SFTP cannot remove.
    if (await this.removeFlatDir(path).catch(() => false)) return;
    const r = await this.exec(`rm -rf -- ${shq(path)}`);
    if (r.code !== 0) throw this.ioError('remove', path, new Error(r.stderr.trim()));
  }

  /** Remove a directory holding only regular files over SFTP; false when it holds anything else. */
  private async removeFlatDir(dir: string): Promise<boolean> {
    const sftp = await this.sftp();
    const entries = await new Promise<{ filename: string; attrs: { isFile(): boolean } }[]>((resolve, reject) =>
      sftp.readdir(dir, (err: any, list: any) => (err ? (err.code === SFTP_NO_SUCH_FILE ? resolve([]) : reject(err)) : resolve(list))),
    );
    if (entries.some((e) => !e.attrs.isFile())) return false;
    await Promise.all(entries.map((e) => new Promise<void>((resolve, reject) => sftp.unlink(`${dir}/${e.filename}`, (err: any) => (err && err.code !== SFTP_NO_SUCH_FILE ? reject(err) : resolve())))));
    return new Promise<boolean>((resolve) => sftp.rmdir(dir, (err: any) => resolve(!err || err.code === SFTP_NO_SUCH_FILE)));
  }

  private ioError(op: string, path: string, cause: Error): ExecutorError {
    return new ExecutorError(ErrorCodes.EXECUTOR_FAILED, `Could not ${op} ${path} on ${this.describe()}: ${cause.message}`, { cause });
  }
}
