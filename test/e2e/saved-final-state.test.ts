import * as fs from 'fs';
import * as path from 'path';
import { notebook, openLabSession, openNotebook, runCommand, waitForKernelIdle, type LabSession } from './support/lab-session';

/**
 * A saved notebook never keeps a RUNNING snapshot of a dispatch that ended
 * while it was open, also when the page was reloaded while the dispatch ran
 * (the kernel's display updates no longer reach outputs loaded from the file).
 * Real server, kernel and Chromium; the saved file is reopened on a fresh server.
 */
jest.setTimeout(240000);

const SETUP = `import * as ct from 'covalent-ts';
const nap = ct.electron(async function nap(ms: number) { await new Promise((r) => setTimeout(r, ms)); return ms; });
const combine = ct.electron(function combine(a: number, b: number) { return a + b; });
const pipeline = ct.lattice(function pipeline(ms: number) { return combine(nap(ms), nap(ms)); });`;
const NB = 'final.ipynb';
const MIME = 'application/vnd.covalent-ts.dispatch+json';
const TERMINAL = ['COMPLETED', 'FAILED', 'CANCELLED'];

function savedDisplay(s: LabSession, name: string): any {
  const saved = JSON.parse(fs.readFileSync(path.join(s.notebookDir, name), 'utf8'));
  return saved.cells.flatMap((c: any) => c.outputs ?? []).find((o: any) => o.data?.[MIME]);
}

let s: LabSession | null = null;
let other: LabSession | null = null;

afterAll(async () => {
  await other?.close();
  await s?.close();
});

test('a dispatch running during a reload and cancelled afterwards is saved with its final state', async () => {
  s = await openLabSession({ [NB]: notebook([SETUP, 'await ct.dispatch(pipeline)(600000)']) });
  const page = s.page;
  await openNotebook(s, NB);
  await waitForKernelIdle(page);
  await runCommand(page, 'notebook:run-all-cells');
  const g = page.locator('.jp-CovalentGraph').first();
  await g.and(page.locator('[data-mode="live"]')).waitFor();
  await g.locator('.jp-CovalentNode[data-status="RUNNING"]').first().waitFor({ timeout: 60000 });
  await runCommand(page, 'docmanager:save');
  expect(savedDisplay(s, NB).data[MIME].snapshot.status).toBe('RUNNING');

  await page.reload();
  await page.waitForSelector('body[data-lab-ready="true"]', { state: 'attached' });
  await waitForKernelIdle(page);
  await g.and(page.locator('[data-mode="live"]')).waitFor({ timeout: 60000 });
  await g.getByRole('button', { name: 'Cancel dispatch', exact: true }).click();
  await page.locator('.jp-Dialog').getByRole('button', { name: 'Stop all tasks' }).click();
  await g.and(page.locator('[data-status="CANCELLED"]')).waitFor({ timeout: 60000 });

  // Saved after the end: the file holds the final state, in the snapshot and in the HTML fallback.
  let display: any = null;
  for (let i = 0; i < 50; i++) {
    await runCommand(page, 'docmanager:save');
    display = savedDisplay(s, NB);
    if (display.data[MIME].snapshot.status === 'CANCELLED') break;
    await new Promise(r => setTimeout(r, 200));
  }
  const snapshot = display.data[MIME].snapshot;
  expect(snapshot.status).toBe('CANCELLED');
  expect(snapshot.nodes.map((n: any) => n.status).filter((st: string) => !TERMINAL.includes(st))).toEqual([]);
  const html = Array.isArray(display.data['text/html']) ? display.data['text/html'].join('') : display.data['text/html'];
  expect(html).not.toMatch(/RUNNING/);
  expect(html).toMatch(/CANCELLED/);

  // A colleague opens the saved file on a fresh server (another kernel and store): it reads CANCELLED.
  const file = JSON.parse(fs.readFileSync(path.join(s.notebookDir, NB), 'utf8'));
  other = await openLabSession({ 'shared.ipynb': file });
  await openNotebook(other, 'shared.ipynb');
  const og = other.page.locator('.jp-CovalentGraph').first();
  await og.waitFor();
  await expect(og.getAttribute('data-status')).resolves.toBe('CANCELLED');
  await expect(og.locator('.jp-CovalentNode[data-status="RUNNING"]').count()).resolves.toBe(0);
  await expect(og.locator('.jp-CovalentNode[data-status="CANCELLED"]').count()).resolves.toBeGreaterThan(0);
});
