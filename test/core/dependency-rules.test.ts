import { spawnSync } from 'child_process';
import path from 'path';

// The layer boundaries (.dependency-cruiser.cjs) hold for the repository, and
// they would catch a break: a fixture tree that breaks each rule once fails.
const ROOT = path.resolve(__dirname, '..', '..');
const CONFIG = path.join(ROOT, '.dependency-cruiser.cjs');
const DEPCRUISE = path.join(ROOT, 'node_modules', 'dependency-cruiser', 'bin', 'dependency-cruise.mjs');

function cruise(cwd: string): { status: number | null; output: string } {
  const r = spawnSync(process.execPath, [DEPCRUISE, 'src', 'kernel', 'labextension/src', '--config', CONFIG, '--output-type', 'err'], {
    cwd,
    encoding: 'utf8',
    timeout: 110_000,
  });
  return { status: r.status, output: `${r.stdout}${r.stderr}` };
}

describe('dependency boundaries (dependency-cruiser)', () => {
  it('hold for the repository', () => {
    const r = cruise(ROOT);
    expect(r.output).toMatch(/no dependency violations found/);
    expect(r.status).toBe(0);
  });

  it('fail on a tree with forbidden imports, naming each broken rule and the import', () => {
    const r = cruise(path.join(ROOT, 'test', 'fixtures', 'forbidden-imports'));
    expect(r.status).not.toBe(0);
    const broken = [...r.output.matchAll(/error ([a-z-]+): (\S+) → (\S+)/g)].map((m) => `${m[1]}: ${m[2]} -> ${m[3]}`).sort();
    expect(broken).toEqual([
      'extension-imports-only-the-protocol: labextension/src/view.ts -> src/store/save.ts',
      'protocol-is-a-leaf: src/protocol/wire.ts -> src/workflow/graph.ts',
      'runtime-knows-no-ui: src/dispatcher/dispatch.ts -> kernel/comm.ts',
      'store-knows-no-runtime: src/store/save.ts -> src/dispatcher/dispatch.ts',
      'workflow-is-pure: src/workflow/graph.ts -> fs',
      'workflow-knows-no-runtime: src/workflow/graph.ts -> src/executors/runner.ts',
    ]);
  });
});
