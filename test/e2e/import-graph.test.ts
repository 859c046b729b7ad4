import * as path from 'path';
import { tempDir } from '../support/wait';
import { ct, owner } from '../cli/support/cli';
import { notebook, openLabSession, openNotebook, runCommand, screenshot, waitForKernelIdle, type LabSession } from './support/lab-session';

/**
 * `ct import` (issue 13): a dispatch run and exported on one CT_HOME, imported
 * into the store of a real JupyterLab session, renders through `ct.show(id)`
 * in a notebook like any other, with the statuses it had (headless Chromium).
 */
jest.setTimeout(240000);

let s: LabSession | undefined;
afterAll(async () => {
  await s?.close();
});

test('an imported dispatch renders in the JupyterLab graph via ct.show(id), with its statuses', async () => {
  const mine = tempDir('ct-home-export-');
  const o = await owner(
    mine,
    `const double = ct.electron(function double(x) { return 2 * x; });
     const sleepy = ct.electron(async function sleepy(ms) { await new Promise((r) => setTimeout(r, ms)); return ms; });
     const wf = ct.lattice(() => [double(double(1)), sleepy(60000)], { name: 'shared run' });
     const id = await ct.dispatch(wf)();
     for (;;) { const r = await ct.getResult(id); if (r.nodes.filter((n) => n.status === 'COMPLETED').length >= 2) break; await new Promise((res) => setTimeout(res, 50)); }
     await ct.cancel(id, { taskIds: [2], reason: 'enough' });
     await ct.getResult(id, { wait: true });
     await ct.shutdown();
     emit(id);`,
  );
  const id = o.out[0] as string;
  await o.exited;
  const file = path.join(tempDir('ct-export-'), 'run.ct.json');
  expect(ct(mine, ['export', id, '--out', file]).status).toBe(0);
  const expected = JSON.parse(ct(mine, ['status', id, '--json']).stdout);
  const statusById = new Map<number, string>(expected.nodes.map((n: any) => [n.nodeId ?? n.id, n.status]));
  expect([...statusById.values()].sort()).toEqual(['CANCELLED', 'COMPLETED', 'COMPLETED']);

  s = await openLabSession({ 'imported.ipynb': notebook([`import * as ct from 'covalent-ts';\nct.show(${JSON.stringify(id)});`]) });
  const imported = ct(s.ctHome, ['import', file]);
  expect(imported.status).toBe(0);
  const page = s.page;
  await openNotebook(s, 'imported.ipynb');
  await waitForKernelIdle(page);
  await runCommand(page, 'notebook:run-all-cells');
  const g = page.locator('.jp-CovalentGraph').first();
  await g.waitFor();
  await page.waitForFunction((el: any) => el.querySelectorAll('.jp-CovalentNode').length === 3, await g.elementHandle(), { timeout: 60000 });
  const rendered = await g.locator('.jp-CovalentNode').evaluateAll((els: any[]) =>
    els.map((e) => [Number(e.dataset.nodeId), e.dataset.status, e.querySelector('.jp-CovalentNode-name').textContent]),
  );
  expect(new Map(rendered.map(([nodeId, status]) => [nodeId, status]))).toEqual(statusById);
  expect(rendered.map((r) => r[2]).sort()).toEqual(['double', 'double', 'sleepy']);
  // Nothing of it runs here: no task offers a cancel.
  await expect(g.locator('.jp-CovalentNode[data-status="RUNNING"]').count()).resolves.toBe(0);
  await screenshot(page, 'e2e-import-graph');
  expect(s.consoleErrors).toEqual([]);
});
