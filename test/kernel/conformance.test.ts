import { spawnSync } from 'child_process';
import * as path from 'path';
import { PYTHON, privateJupyter } from './support/jupyter-env';

/**
 * Given the kernel installed with `covalent-ts install --prefix`, when Debian's
 * jupyter_kernel_test runs its standard tests against it through
 * jupyter_client, then every one passes (none skipped).
 */
const STANDARD_TESTS = [
  'test_kernel_info',
  'test_execute_stdout',
  'test_execute_stderr',
  'test_completion',
  'test_is_complete',
  'test_error',
  'test_execute_result',
  'test_display_data',
  'test_inspect',
];

let results: Map<string, string>;
let output = '';

beforeAll(() => {
  const { env, workDir } = privateJupyter();
  const r = spawnSync(PYTHON, ['-m', 'unittest', '-v', 'test_conformance'], {
    cwd: workDir,
    env: { ...env, PYTHONPATH: path.join(__dirname, 'python') },
    encoding: 'utf8',
    timeout: 240000,
  });
  output = `${r.stdout}\n${r.stderr}`;
  results = new Map();
  for (const m of output.matchAll(/^(test_\w+) \([\w.]+\)(?:\s*\n[^\n]*?)? \.\.\. (ok|FAIL|ERROR|skipped.*)$/gm)) results.set(m[1], m[2]);
}, 300000);

test.each(STANDARD_TESTS)('jupyter_kernel_test %s passes', (name) => {
  if (results.get(name) !== 'ok') throw new Error(`${name}: ${results.get(name) ?? 'not run'}\n${output}`);
});
