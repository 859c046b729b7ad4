/**
 * Host key verification: the server's key must be listed for this host in a
 * known_hosts file, or match a pinned SHA256 fingerprint. Anything else is a
 * typed error that says how to fix it; a key is never accepted silently.
 */
import { createHash, createHmac } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ErrorCodes, ExecutorError } from '../../errors';

/** `SHA256:<base64 without padding>`, as `ssh-keygen -l` prints it. */
export function fingerprintOf(keyBlob: Buffer): string {
  return `SHA256:${createHash('sha256').update(keyBlob).digest('base64').replace(/=+$/, '')}`;
}

export function expandHome(p: string): string {
  if (p === '~') return os.homedir();
  if (p.startsWith('~/')) return path.join(os.homedir(), p.slice(2));
  return p;
}

export interface KnownHostKey {
  type: string;
  blob: Buffer;
  revoked: boolean;
}

/** The name a known_hosts line uses for host:port. */
function hostToken(host: string, port: number): string {
  return port === 22 ? host : `[${host}]:${port}`;
}

function globMatch(pattern: string, value: string): boolean {
  const re = new RegExp(`^${pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`, 'i');
  return re.test(value);
}

function hostFieldMatches(field: string, token: string): boolean {
  if (field.startsWith('|1|')) {
    const [, , salt, hash] = field.split('|');
    if (!salt || !hash) return false;
    const h = createHmac('sha1', Buffer.from(salt, 'base64')).update(token).digest('base64');
    return h === hash;
  }
  let matched = false;
  for (const pat of field.split(',')) {
    if (pat.startsWith('!')) {
      if (globMatch(pat.slice(1), token)) return false;
    } else if (globMatch(pat, token)) {
      matched = true;
    }
  }
  return matched;
}

/** Keys listed for host:port in known_hosts text (`@cert-authority` lines are not supported and skipped). */
export function knownKeysFor(text: string, host: string, port: number): KnownHostKey[] {
  const token = hostToken(host, port);
  const keys: KnownHostKey[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const fields = line.split(/\s+/);
    let revoked = false;
    if (fields[0].startsWith('@')) {
      const marker = fields.shift();
      if (marker === '@revoked') revoked = true;
      else continue;
    }
    if (fields.length < 3) continue;
    const [hosts, type, b64] = fields;
    if (!hostFieldMatches(hosts, token)) continue;
    keys.push({ type, blob: Buffer.from(b64, 'base64'), revoked });
  }
  return keys;
}

/** ssh2 host key algorithm names that can present a key of this type. */
export function algorithmsForKeyType(type: string): string[] {
  if (type === 'ssh-rsa') return ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa'];
  return [type];
}

export interface HostKeyPolicy {
  /** Host key algorithms to offer, so the server presents a key we can check. */
  algorithms?: string[];
  /** Checks a presented key; returns an error describing a refusal, or undefined to accept. */
  check(keyBlob: Buffer): ExecutorError | undefined;
  describe(): string;
}

export function hostKeyPolicy(opts: {
  host: string;
  port: number;
  knownHostsFile?: string;
  hostKeyFingerprints?: string[];
}): HostKeyPolicy {
  const where = hostToken(opts.host, opts.port);
  if (opts.hostKeyFingerprints && opts.hostKeyFingerprints.length > 0) {
    const pins = opts.hostKeyFingerprints;
    return {
      describe: () => `pinned fingerprint ${pins.join(', ')}`,
      check(blob) {
        const fp = fingerprintOf(blob);
        if (pins.includes(fp)) return undefined;
        return new ExecutorError(
          ErrorCodes.HOST_KEY_MISMATCH,
          `Host key mismatch for ${where}: the server presented ${fp}, but the pinned fingerprint is ${pins.join(' or ')}. ` +
            `Someone may be intercepting the connection, or the host's key changed. Verify the new key with the host's ` +
            `administrator, then update "hostKeyFingerprint".`,
          { details: { host: opts.host, port: opts.port, presented: fp, expected: pins } },
        );
      },
    };
  }
  const file = expandHome(opts.knownHostsFile ?? '~/.ssh/known_hosts');
  let text = '';
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e: any) {
    if (e?.code !== 'ENOENT') throw new ExecutorError(ErrorCodes.EXECUTOR_FAILED, `Cannot read known_hosts file ${file}: ${e.message}`, { cause: e });
  }
  const known = knownKeysFor(text, opts.host, opts.port);
  const trusted = known.filter((k) => !k.revoked);
  const algorithms = [...new Set(trusted.flatMap((k) => algorithmsForKeyType(k.type)))];
  return {
    algorithms: algorithms.length > 0 ? algorithms : undefined,
    describe: () => `known_hosts ${file}`,
    check(blob) {
      const fp = fingerprintOf(blob);
      if (known.some((k) => k.revoked && k.blob.equals(blob))) {
        return new ExecutorError(ErrorCodes.HOST_KEY_MISMATCH, `The host key of ${where} (${fp}) is marked @revoked in ${file}. Do not connect; ask the host's administrator.`, {
          details: { host: opts.host, port: opts.port, presented: fp },
        });
      }
      if (trusted.some((k) => k.blob.equals(blob))) return undefined;
      if (trusted.length === 0) {
        return new ExecutorError(
          ErrorCodes.HOST_KEY_UNKNOWN,
          `The host key of ${where} (${fp}) is not in ${file}, so the server cannot be verified. Check the fingerprint ` +
            `with the host's administrator, then add the key (for example \`ssh-keyscan -p ${opts.port} ${opts.host} >> ${file}\` ` +
            `and compare \`ssh-keygen -lf\`), or pass hostKeyFingerprint: '${fp}' once verified.`,
          { details: { host: opts.host, port: opts.port, presented: fp, knownHostsFile: file } },
        );
      }
      return new ExecutorError(
        ErrorCodes.HOST_KEY_MISMATCH,
        `Host key mismatch for ${where}: the server presented ${fp}, which differs from the key listed in ${file} ` +
          `(${trusted.map((k) => fingerprintOf(k.blob)).join(', ')}). Someone may be intercepting the connection, or the ` +
          `host's key changed. Verify with the host's administrator before updating ${file}.`,
        { details: { host: opts.host, port: opts.port, presented: fp, expected: trusted.map((k) => fingerprintOf(k.blob)), knownHostsFile: file } },
      );
    },
  };
}
