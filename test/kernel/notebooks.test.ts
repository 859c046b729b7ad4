import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { ROOT } from '../../kernel/testing/kernel-process';
import { PYTHON, privateJupyter } from './support/jupyter-env';

/**
 * Given the example notebooks and the kernel installed with our CLI, when
 * Debian's nbclient executes them (a real Jupyter client, fresh kernel per
 * notebook, in a folder without node_modules), then every cell runs and the
 * outputs show the dispatch, its result, the cancels and the final states.
 */
jest.setTimeout(600000);

const EXAMPLES = path.join(ROOT, 'examples');
const NOTEBOOKS = ['01-dispatch-and-results.ipynb', '02-cancel-tasks.ipynb'];
const MIME = 'application/vnd.covalent-ts.dispatch+json';

let executed: Record<string, any> = {};
let log = '';

beforeAll(() => {
  const { env, workDir } = privateJupyter();
  const outDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ct-nb-out-'));
  const r = spawnSync(PYTHON, [path.join(__dirname, 'python', 'run_notebooks.py'), outDir, ...NOTEBOOKS.map((n) => path.join(EXAMPLES, n))], {
    cwd: workDir,
    env,
    encoding: 'utf8',
    timeout: 540000,
  });
  log = `${r.stdout}\n${r.stderr}`;
  for (const n of NOTEBOOKS) {
    const file = path.join(outDir, n);
    if (fs.existsSync(file)) executed[n] = JSON.parse(fs.readFileSync(file, 'utf8'));
  }
});

/** nbformat stores multi-line text as a list of lines. */
const joined = (t: string | string[]) => (Array.isArray(t) ? t.join('') : t);
const cellText = (cell: any): string =>
  (cell.outputs ?? [])
    .map((o: any) => (o.output_type === 'stream' ? o.text : o.data?.['text/plain'] ?? (o.output_type === 'error' ? `${o.ename}: ${o.evalue}` : '')))
    .map(joined)
    .join('');
/** Code cells with `source` as one string (nbformat stores a list of lines). */
const codeCells = (nb: any) =>
  nb.cells.filter((c: any) => c.cell_type === 'code').map((c: any) => ({ ...c, source: Array.isArray(c.source) ? c.source.join('') : c.source }));
const allErrors = (nb: any) => codeCells(nb).flatMap((c: any) => (c.outputs ?? []).filter((o: any) => o.output_type === 'error'));

test.each(NOTEBOOKS)('%s uses the covalent-ts kernelspec and runs without errors', (name) => {
  const source = JSON.parse(fs.readFileSync(path.join(EXAMPLES, name), 'utf8'));
  expect(source.metadata.kernelspec.name).toBe('covalent-ts');
  if (!executed[name]) throw new Error(`not executed:\n${log}`);
  expect(log).toContain(`executed ${path.join(EXAMPLES, name)}`);
  expect(allErrors(executed[name])).toEqual([]);
  expect(codeCells(executed[name]).every((c: any) => typeof c.execution_count === 'number')).toBe(true);
});

test('01: the dispatch is shown with its graph, and the result is read', () => {
  const cells = codeCells(executed['01-dispatch-and-results.ipynb']);
  const dispatchCell = cells.find((c: any) => c.source.includes('ct.dispatch('));
  const display = dispatchCell.outputs.find((o: any) => o.output_type === 'display_data');
  expect(display.data[MIME].dispatchId).toMatch(/\S+/);
  expect(joined(display.data['text/html'])).toContain('<svg');
  expect(joined(display.data['text/plain'])).toContain('Dispatch ');
  // nbclient applied the live updates: the saved display holds the final state.
  expect(display.data[MIME].snapshot.status).toBe('COMPLETED');
  expect(cellText(cells.find((c: any) => c.source.includes('getResult')))).toBe('status: COMPLETED\nsum of squares: 30\n');
  expect(cellText(cells.find((c: any) => c.source.includes('result.nodes')))).toMatch(/square: COMPLETED[\s\S]*total: COMPLETED/);
  const show = cells.find((c: any) => c.source.startsWith('ct.show'));
  expect(show.outputs.find((o: any) => o.output_type === 'display_data').data[MIME].snapshot.status).toBe('COMPLETED');
});

test('02: cancelling one task, then the dispatch, is reported and the final states are CANCELLED', () => {
  const cells = codeCells(executed['02-cancel-tasks.ipynb']);
  expect(cellText(cells.find((c: any) => c.source.includes('Wait until')))).toMatch(/^running: slow#\d+, slow#\d+\n$/);
  const first = cellText(cells.find((c: any) => c.source.includes('const first')));
  expect(first).toMatch(/killed -> CANCELLED/);
  expect(first).toMatch(/join: aborted_before_start -> CANCELLED/);
  expect(cellText(cells.find((c: any) => c.source.includes('const rest')))).toBe('confirmed: true\n');
  const final = cellText(cells.find((c: any) => c.source.includes('const final')));
  expect(final).toMatch(/^status: CANCELLED\n/);
  expect(final).not.toMatch(/RUNNING|NEW_OBJECT|COMPLETED/);
  expect((final.match(/slow#\d+: CANCELLED \(killed\)/g) ?? []).length).toBe(2);
});
