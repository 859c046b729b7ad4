/**
 * POSIX shell quoting. Every user-supplied string that reaches a remote or
 * local shell goes through `shq`, so quotes, `;`, `$()`, backticks and
 * newlines stay data.
 */

/** Quote one word for a POSIX shell: `it's` -> `'it'\''s'`. */
export function shq(value: string | number): string {
  const s = String(value);
  if (s.includes('\0')) throw new TypeError('A shell word cannot contain a NUL byte.');
  if (s !== '' && /^[A-Za-z0-9_@%+=:,./-]+$/.test(s)) return s;
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/** Join argv into one command line, each word quoted. */
export function shArgv(argv: readonly (string | number)[]): string {
  return argv.map(shq).join(' ');
}

/** `/bin/sh -c '<script>'`: run a POSIX script whatever the login shell is. */
export function shScript(script: string): string {
  return `/bin/sh -c ${shq(script)}`;
}

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
export function isEnvName(name: string): boolean {
  return ENV_NAME.test(name);
}

/** `export NAME='value'` lines; names must already be validated. */
export function exportLines(env: Record<string, string> | undefined): string[] {
  if (!env) return [];
  return Object.entries(env).map(([k, v]) => {
    if (!isEnvName(k)) throw new TypeError(`Invalid environment variable name: ${JSON.stringify(k)}`);
    return `export ${k}=${shq(v)}`;
  });
}
