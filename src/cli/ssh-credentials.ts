import * as fs from 'node:fs';
import { read } from 'read';
import { utils } from 'ssh2';
import { ErrorCodes, InvalidInputError } from '../errors';
import { provideSSHCredentials } from '../executors/ssh';
import { expandHome } from '../executors/ssh/host-key';
import type { NodeRow } from '../store/schema';
import { isTerminal } from '../protocol/status';

/** A login an orphaned job must be reached through: where its stored executor config points. */
export interface SSHLogin {
  host: string;
  port: number;
  username: string;
  privateKeyPath?: string;
  agent?: boolean | string;
}

/** The SSH logins (ssh executor, or Slurm through SSH) of the unfinished jobs among `nodes`. */
export function sshLoginsOf(nodes: NodeRow[]): SSHLogin[] {
  const seen = new Map<string, SSHLogin>();
  for (const n of nodes) {
    if (isTerminal(n.status) || !n.jobHandle || !n.executorConfig) continue;
    let cfg: { type?: string; options?: Record<string, any> };
    try {
      cfg = JSON.parse(n.executorConfig);
    } catch {
      continue;
    }
    const o = cfg.type === 'ssh' ? cfg.options : cfg.type === 'slurm' ? cfg.options?.ssh : undefined;
    if (!o || typeof o.host !== 'string' || typeof o.username !== 'string') continue;
    const login: SSHLogin = { host: o.host, port: Number(o.port ?? 22), username: o.username, privateKeyPath: o.privateKeyPath, agent: o.agent };
    seen.set(`${login.username}@${login.host}:${login.port}`, login);
  }
  return [...seen.values()];
}

export interface CredentialSources {
  /** `--identity FILE`: a private key to log in with. */
  identityFile?: string;
  /** Whether a person can be asked (stdin and stderr are terminals). */
  interactive: boolean;
  /** Ask for a passphrase without echoing it. */
  askPassphrase?: (prompt: string) => Promise<string>;
}

const where = (l: SSHLogin) => `${l.username}@${l.host}:${l.port}`;

function needed(l: SSHLogin, what: string): InvalidInputError {
  return new InvalidInputError(
    ErrorCodes.CREDENTIALS_REQUIRED,
    `Cancelling the jobs on ${where(l)} needs its SSH key, and ${what}. Key contents and passphrases are never stored. ` +
      `Give the key with --identity FILE (its passphrase is then asked for on a terminal, never on the command line), ` +
      `or load it into ssh-agent (ssh-add) when the executor was configured with agent: true, ` +
      `or run this command in a terminal so the passphrase can be asked for. Nothing was cancelled.`,
    { details: { login: where(l) } },
  );
}

function readKey(file: string): Buffer {
  const path = expandHome(file);
  try {
    return fs.readFileSync(path);
  } catch (e) {
    throw new InvalidInputError(ErrorCodes.UNREADABLE_FILE, `Cannot read the key file ${path}: ${(e as Error).message}. Check --identity.`, { cause: e });
  }
}

const isEncryptedKeyError = (e: Error) => /passphrase|encrypted|decrypt|bad decrypt/i.test(e.message);

/**
 * Before an orphaned dispatch is cancelled from its stored handles, make
 * sure this process can log in to every host its jobs run on, asking for
 * what was never stored. Fails (changing nothing) with a message naming the
 * ways to supply it.
 */
export async function prepareSSHCredentials(logins: SSHLogin[], src: CredentialSources): Promise<void> {
  for (const l of logins) {
    const keyFile = src.identityFile ?? l.privateKeyPath;
    const agentAvailable = (l.agent === true && !!process.env.SSH_AUTH_SOCK) || (typeof l.agent === 'string' && l.agent !== '');
    if (!keyFile) {
      if (agentAvailable) continue;
      throw needed(l, 'the executor was configured with key contents, which this process does not have');
    }
    const key = readKey(keyFile);
    const plain = utils.parseKey(key);
    if (!(plain instanceof Error)) {
      provideSSHCredentials(l, { privateKey: key });
      continue;
    }
    if (!isEncryptedKeyError(plain)) {
      throw new InvalidInputError(ErrorCodes.UNREADABLE_FILE, `${expandHome(keyFile)} is not a private key ssh2 can read (${plain.message}).`);
    }
    if (agentAvailable && !src.identityFile) continue;
    if (!src.interactive || !src.askPassphrase) throw needed(l, `the key ${expandHome(keyFile)} is encrypted and there is no terminal to ask for its passphrase`);
    for (let attempt = 1; ; attempt++) {
      const passphrase = await src.askPassphrase(`Passphrase for ${expandHome(keyFile)} (${where(l)}): `);
      if (!(utils.parseKey(key, passphrase) instanceof Error)) {
        provideSSHCredentials(l, { privateKey: key, passphrase });
        break;
      }
      if (attempt >= 3) throw needed(l, `the passphrase given for ${expandHome(keyFile)} does not decrypt it (3 attempts)`);
      process.stderr.write('That passphrase does not decrypt the key; try again.\n');
    }
  }
}

/** A hidden prompt on the terminal (nothing echoed), on stderr so stdout stays clean. */
export function askHidden(prompt: string): Promise<string> {
  return read({ prompt, silent: true, replace: '', output: process.stderr });
}
