/**
 * Options of an SSH connection, shared by SSHExecutor and SlurmExecutor's
 * `ssh` option, and their validation. Secrets (`privateKey`, `passphrase`)
 * are accepted here but never leave the process: `publicSSHOptions` drops them.
 */
import { ErrorCodes, InvalidInputError } from '../../errors';

export interface SSHConnectionOptions {
  /** Host name or address of the SSH server. */
  host: string;
  /** Default 22. */
  port?: number;
  /** Login name on the remote host. */
  username: string;
  /** Path of a private key file on this machine (`~/` allowed). Stored; its contents are not. */
  privateKeyPath?: string;
  /** Private key contents. Kept in this process's memory only, never stored. */
  privateKey?: string | Buffer;
  /** Passphrase of an encrypted private key. Kept in memory only, never stored. */
  passphrase?: string;
  /** Use an ssh-agent: `true` for `$SSH_AUTH_SOCK`, or the agent socket's path. */
  agent?: boolean | string;
  /** known_hosts file used to verify the server's host key. Default `~/.ssh/known_hosts`. */
  knownHostsFile?: string;
  /**
   * Pinned host key fingerprint(s), `SHA256:...` as printed by `ssh-keygen -lf`.
   * When given, the server's key must match one of them (known_hosts is not consulted).
   */
  hostKeyFingerprint?: string | string[];
  /** Reuse one connection for all tasks to the same login (default true). */
  reuseConnection?: boolean;
  /** Give up connecting after this long (default 20000 ms). */
  connectTimeoutMs?: number;
}

/** The validated, defaulted form. */
export interface ResolvedSSHOptions {
  host: string;
  port: number;
  username: string;
  privateKeyPath?: string;
  privateKey?: Buffer;
  passphrase?: string;
  agent?: string | true;
  knownHostsFile?: string;
  hostKeyFingerprints?: string[];
  reuseConnection: boolean;
  connectTimeoutMs: number;
}

const FINGERPRINT = /^SHA256:[A-Za-z0-9+/]{43}=?$/;

function fail(message: string): never {
  throw new InvalidInputError(ErrorCodes.INVALID_ARGUMENT, message);
}

function str(opts: Record<string, unknown>, key: string, where: string): string | undefined {
  const v = opts[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string' || v === '') fail(`${where}: "${key}" must be a non-empty string.`);
  if (/[\0\n\r]/.test(v)) fail(`${where}: "${key}" must not contain NUL or line breaks.`);
  return v;
}

export function positiveInt(opts: Record<string, unknown>, key: string, where: string, dflt: number): number {
  const v = opts[key];
  if (v === undefined || v === null) return dflt;
  if (typeof v !== 'number' || !Number.isInteger(v) || v <= 0) fail(`${where}: "${key}" must be a positive integer, got ${JSON.stringify(v)}.`);
  return v;
}

export function resolveSSHOptions(raw: unknown, where = 'SSH options'): ResolvedSSHOptions {
  if (raw === null || typeof raw !== 'object') fail(`${where} must be an object with at least "host" and "username".`);
  const o = raw as Record<string, unknown>;
  const host = str(o, 'host', where);
  if (!host) fail(`${where}: "host" is required, e.g. { host: 'hpc.example.org', username: 'alice', privateKeyPath: '~/.ssh/id_ed25519' }.`);
  if (host.startsWith('-') || /\s/.test(host)) fail(`${where}: "host" ${JSON.stringify(host)} is not a host name or address.`);
  const username = str(o, 'username', where);
  if (!username) fail(`${where}: "username" is required (the login name on ${host}).`);
  const port = positiveInt(o, 'port', where, 22);
  if (port > 65535) fail(`${where}: "port" must be at most 65535.`);
  const privateKeyPath = str(o, 'privateKeyPath', where);
  let privateKey: Buffer | undefined;
  if (o.privateKey !== undefined && o.privateKey !== null) {
    if (typeof o.privateKey === 'string') privateKey = Buffer.from(o.privateKey);
    else if (Buffer.isBuffer(o.privateKey)) privateKey = o.privateKey;
    else fail(`${where}: "privateKey" must be the key's contents as a string or Buffer (use "privateKeyPath" for a file).`);
  }
  if (privateKey && privateKeyPath) fail(`${where}: give either "privateKey" (contents) or "privateKeyPath", not both.`);
  const passphrase = o.passphrase === undefined || o.passphrase === null ? undefined : o.passphrase;
  if (passphrase !== undefined && typeof passphrase !== 'string') fail(`${where}: "passphrase" must be a string.`);
  let agent: string | true | undefined;
  if (o.agent === true) agent = true;
  else if (typeof o.agent === 'string' && o.agent !== '') agent = o.agent;
  else if (o.agent !== undefined && o.agent !== false && o.agent !== null) fail(`${where}: "agent" must be true or the agent socket's path.`);
  const knownHostsFile = str(o, 'knownHostsFile', where);
  let fps: string[] | undefined;
  if (o.hostKeyFingerprint !== undefined && o.hostKeyFingerprint !== null) {
    const list = Array.isArray(o.hostKeyFingerprint) ? o.hostKeyFingerprint : [o.hostKeyFingerprint];
    fps = list.map((f) => {
      if (typeof f !== 'string' || !FINGERPRINT.test(f.trim())) {
        fail(`${where}: "hostKeyFingerprint" must look like "SHA256:<43 base64 characters>" (see \`ssh-keygen -lf <host key>.pub\`), got ${JSON.stringify(f)}.`);
      }
      return f.trim().replace(/=$/, '');
    });
    if (fps.length === 0) fail(`${where}: "hostKeyFingerprint" must not be empty.`);
  }
  const reuse = o.reuseConnection;
  if (reuse !== undefined && typeof reuse !== 'boolean') fail(`${where}: "reuseConnection" must be true or false.`);
  return {
    host,
    port,
    username,
    privateKeyPath,
    privateKey,
    passphrase,
    agent,
    knownHostsFile,
    hostKeyFingerprints: fps,
    reuseConnection: reuse ?? true,
    connectTimeoutMs: positiveInt(o, 'connectTimeoutMs', where, 20000),
  };
}

/** What may be stored: everything but key contents and passphrases. */
export function publicSSHOptions(o: ResolvedSSHOptions): Record<string, unknown> {
  const out: Record<string, unknown> = { host: o.host, port: o.port, username: o.username };
  if (o.privateKeyPath) out.privateKeyPath = o.privateKeyPath;
  if (o.agent !== undefined) out.agent = o.agent;
  if (o.knownHostsFile) out.knownHostsFile = o.knownHostsFile;
  if (o.hostKeyFingerprints) out.hostKeyFingerprint = o.hostKeyFingerprints;
  if (!o.reuseConnection) out.reuseConnection = false;
  if (o.connectTimeoutMs !== 20000) out.connectTimeoutMs = o.connectTimeoutMs;
  return out;
}

/** `user@host:port`, the identity of a login (and the key of the credential registry). */
export function loginKey(o: { host: string; port: number; username: string }): string {
  return `${o.username}@${o.host}:${o.port}`;
}
