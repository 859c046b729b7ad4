/**
 * The one place that decides what in an executor configuration is a secret.
 *
 * Executor configurations reach the store, journals, views and error
 * messages. Whatever form the user gave (an instance, a stored
 * `{ type, options }` config, nested options such as SlurmExecutor's `ssh`,
 * a plugin's own options), it passes through `withoutSecrets` first, so key
 * contents, passphrases, passwords and tokens never leave the process's
 * memory. What an executor needs later comes from the user again (for SSH:
 * `ct.provideSSHCredentials`).
 */
import type { ExecutorConfig } from './executor';

/**
 * Option names whose values are secrets, compared without case, `-` or `_`.
 * A name ending in `path` or `file` names where a secret is kept (for
 * example `privateKeyPath`), which may be stored.
 */
const SECRET_NAME = /(privatekey|passphrase|password|passwd|secret|token|apikey|credential|authorization|cookie|sessionkey)/;
const REFERENCE_NAME = /(path|file|dir|env)$/;

/** Whether an option of this name holds a secret. */
export function isSecretOptionName(name: string): boolean {
  const n = name.toLowerCase().replace(/[-_]/g, '');
  return SECRET_NAME.test(n) && !REFERENCE_NAME.test(n);
}

/** Values that are secrets whatever they are called: private key blocks. */
function isSecretValue(value: string): boolean {
  return /-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----/.test(value) || /PuTTY-User-Key-File/.test(value);
}

/**
 * A deep copy of `value` without secrets: options named like secrets,
 * strings holding a private key, and raw bytes (Buffers and typed arrays,
 * which only key material would be) are left out. Functions and class
 * instances other than plain objects and arrays are dropped too: a stored
 * configuration is plain JSON.
 */
export function withoutSecrets<T>(value: T): T {
  return strip(value, new WeakSet()) as T;
}

function strip(value: unknown, seen: WeakSet<object>): unknown {
  if (typeof value === 'string') return isSecretValue(value) ? undefined : value;
  if (value === null || typeof value !== 'object') return typeof value === 'function' || typeof value === 'symbol' ? undefined : value;
  if (ArrayBuffer.isView(value) || value instanceof ArrayBuffer) return undefined;
  if (seen.has(value)) return undefined;
  seen.add(value);
  if (Array.isArray(value)) return value.map((v) => strip(v, seen)).filter((v) => v !== undefined);
  const proto = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) return undefined;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    if (isSecretOptionName(k)) continue;
    const s = strip(v, seen);
    if (s !== undefined) out[k] = s;
  }
  return out;
}

/** An executor configuration as it may be stored or shown. */
export function publicConfig(config: ExecutorConfig): ExecutorConfig {
  const options = config.options && typeof config.options === 'object' ? withoutSecrets(config.options) : {};
  return { type: config.type, options };
}
