import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { tempDir } from '../support/wait';

const cli = path.resolve(__dirname, '../../dist/src/cli/main.js');
const home = tempDir('ct-home-');
const ct = (...args: string[]) => spawnSync(process.execPath, [cli, ...args], { env: { ...process.env, CT_HOME: home }, encoding: 'utf8' });

describe('errors of the argument parser', () => {
  it.each([
    ['an unknown flag', ['cancel', 'some-id', '--bogus'], /unknown option '--bogus'.*`covalent-ts cancel --help`/],
    ['a missing argument', ['cancel'], /missing required argument 'id'/],
    ['a flag without its value', ['cancel', 'some-id', '--reason'], /option '-r, --reason <text>' argument missing/],
    ['a bad flag value', ['cancel', 'some-id', '--task', 'abc'], /"abc" is not a task id/],
    ['an unknown command', ['frobnicate'], /unknown command 'frobnicate'/],
    ['an unknown top-level flag', ['--nope'], /unknown option '--nope'/],
  ])('report %s on stderr with CT_INVALID_ARGUMENT and exit 2', (_what, args, message) => {
    const r = ct(...args);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stderr).toMatch(/^covalent-ts: .*\[CT_INVALID_ARGUMENT\]$/m);
    expect(r.stdout).toBe('');
  });

  it('still exit 0 for --help, which documents the exit codes', () => {
    const r = ct('cancel', '--help');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/Usage: covalent-ts cancel/);
    expect(r.stdout).toMatch(/2 +bad input/);
  });
});
