/**
 * Secrets for SSH logins. Key contents and passphrases live only in this
 * process's memory, keyed by `user@host:port`; the stored executor
 * configuration holds at most the key's path. An executor rebuilt from its
 * configuration (for example to cancel from another process) finds them here,
 * or reads the key file, or says exactly what to supply.
 */
import * as fs from 'node:fs';
import { utils } from 'ssh2';
import { ErrorCodes, ExecutorError } from '../../errors';
import { expandHome } from './host-key';
import { loginKey, type ResolvedSSHOptions } from './ssh-options';

export interface SSHSecrets {
  privateKey?: string | Buffer;
  passphrase?: string;
}

const REGISTRY_KEY = Symbol.for('covalent-ts.sshCredentials');
function registry(): Map<string, SSHSecrets> {
  const g = globalThis as any;
  if (!g[REGISTRY_KEY]) g[REGISTRY_KEY] = new Map<string, SSHSecrets>();
  return g[REGISTRY_KEY];
}

/**
 * Make a key (contents and/or passphrase) available to executors of this
 * process for one login, e.g. before cancelling tasks started by another
 * process: `provideSSHCredentials({ host, port, username }, { privateKey, passphrase })`.
 */
export function provideSSHCredentials(login: { host: string; port?: number; username: string }, secrets: SSHSecrets): void {
  const key = loginKey({ host: login.host, port: login.port ?? 22, username: login.username });
  registry().set(key, { ...registry().get(key), ...secrets });
}

export function forgetSSHCredentials(login: { host: string; port?: number; username: string }): void {
  registry().delete(loginKey({ host: login.host, port: login.port ?? 22, username: login.username }));
}

export interface SSHAuth {
  privateKey?: Buffer;
  passphrase?: string;
  agent?: string;
}

function credentialsRequired(o: ResolvedSSHOptions, what: string): ExecutorError {
  return new ExecutorError(
    ErrorCodes.CREDENTIALS_REQUIRED,
    `No usable credentials for ${loginKey(o)}: ${what} Key contents and passphrases are never stored, so a process ` +
      `that did not create this executor needs them again: call ct.provideSSHCredentials({ host: '${o.host}', port: ${o.port}, ` +
      `username: '${o.username}' }, { privateKey, passphrase }) first, or configure the executor with "privateKeyPath" ` +
      `(an unencrypted key or one loaded in ssh-agent with "agent: true").`,
    { details: { login: loginKey(o) } },
  );
}

/** Work out how to authenticate, checking that the key can actually be decrypted. */
export function resolveAuth(o: ResolvedSSHOptions): SSHAuth {
  const stored = registry().get(loginKey(o));
  const passphrase = o.passphrase ?? stored?.passphrase;
  let key: Buffer | undefined = o.privateKey;
  if (!key && o.privateKeyPath) {
    const file = expandHome(o.privateKeyPath);
    try {
      key = fs.readFileSync(file);
    } catch (e: any) {
      throw new ExecutorError(ErrorCodes.CREDENTIALS_REQUIRED, `Cannot read the private key ${file} for ${loginKey(o)}: ${e.message}. Fix "privateKeyPath".`, {
        cause: e,
        details: { login: loginKey(o) },
      });
    }
  }
  if (!key && stored?.privateKey !== undefined) key = Buffer.from(stored.privateKey);
  const agent = o.agent === true ? process.env.SSH_AUTH_SOCK : o.agent;
  if (o.agent === true && !agent) throw credentialsRequired(o, '"agent: true" was given but SSH_AUTH_SOCK is not set in this process.');
  if (!key) {
    if (agent) return { agent };
    throw credentialsRequired(o, 'the executor was configured with key contents that are not available in this process.');
  }
  const parsed = utils.parseKey(key, passphrase);
  if (parsed instanceof Error) {
    if (/passphrase|encrypted|decrypt/i.test(parsed.message)) {
      if (agent) return { agent };
      throw credentialsRequired(o, passphrase ? 'the passphrase does not decrypt the private key.' : 'the private key is encrypted and no passphrase is available.');
    }
    throw new ExecutorError(ErrorCodes.CREDENTIALS_REQUIRED, `The private key for ${loginKey(o)} cannot be parsed: ${parsed.message}.`, {
      details: { login: loginKey(o) },
    });
  }
  return { privateKey: key, passphrase, agent };
}
