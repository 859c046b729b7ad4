import * as fs from 'fs';
import * as path from 'path';
import type { Locator, Page } from 'playwright-core';
import { processesOfSession } from '../../src/lab/process-sweep';
import {
  notebook,
  openLabSession,
  openNotebook,
  processAlive,
  runCommand,
  screenshot,
  waitForKernelIdle,
  waitUntil,
  type LabSession
} from './support/lab-session';

/**
 * The extension in a real JupyterLab frontend on a real Jupyter server, with
 * our real kernel and the prebuilt extension loaded from the labextensions
 * path, driven by headless Chromium. Tasks run on the local executor, so the
 * test can see their processes die.
 */
jest.setTimeout(240000);

const SETUP = `import * as ct from 'covalent-ts';
const nap = ct.electron(async function nap(ms: number) { await new Promise((r) => setTimeout(r, ms)); return ms; });
const combine = ct.electron(function combine(a: number, b: number) { return a + b; });
const pipeline = ct.lattice(function pipeline(ms: number) { const a = nap(ms); const b = nap(ms); return combine(combine(a, b), 1); });`;
/** Three independent dispatches: one per scenario that ends it. */
const CELLS = [SETUP, 'await ct.dispatch(pipeline)(600000)', 'await ct.dispatch(pipeline)(600000)', 'await ct.dispatch(pipeline)(600000)'];
const NB = 'e2e.ipynb';

let s: LabSession;
let page: Page;

const graphs = () => page.locator('.jp-CovalentGraph');
const graph = (i: number) => graphs().nth(i);
const nodeEl = (g: Locator, id: number) => g.locator(`.jp-CovalentNode[data-node-id="${id}"]`);

/** Ids of a graph's nodes named `name`. */
async function idsNamed(g: Locator, name: string): Promise<number[]> {
  return g.locator('.jp-CovalentNode').evaluateAll(
    (els: any[], n: string) =>
      els.filter(e => e.querySelector('.jp-CovalentNode-name').textContent === n).map(e => Number(e.dataset.nodeId)),
    name
  );
}

async function waitStatus(g: Locator, id: number, status: string, timeout = 60000): Promise<void> {
  await nodeEl(g, id).and(g.locator(`[data-status="${status}"]`)).waitFor({ timeout });
}

/** The pid in a node's job handle, read from its details view. */
/** The recorded worker of a task, read from its details view once that view shows this task. */
async function pidOf(g: Locator, id: number): Promise<{ pid: number; startTime: string | null }> {
  await nodeEl(g, id).locator('.jp-CovalentNode-meta').click();
  await waitUntilText(g.locator('.jp-CovalentDetails-title'), new RegExp(`^Task ${id}:`));
  const handle = g.locator('.jp-CovalentDetails td[data-field="jobHandle"]');
  await waitUntilText(handle, /"pid":\d+/);
  const h = JSON.parse((await handle.textContent())!);
  return { pid: h.pid, startTime: h.startTime ?? null };
}

async function waitUntilText(l: Locator, re: RegExp): Promise<void> {
  await l.page().waitForFunction(
    ([el, src]: [any, string]) => new RegExp(src).test(el.textContent),
    [await l.elementHandle(), re.source] as [any, string]
  );
}

beforeAll(async () => {
  s = await openLabSession({ [NB]: notebook(CELLS) });
  page = s.page;
  await openNotebook(s, NB);
  await waitForKernelIdle(page);
});

afterAll(async () => {
  if (s) {
    const session = s.server.sessionId;
    await s.close();
    // Stopping the server leaves no server, kernel or task process behind.
    expect(processesOfSession(session)).toEqual([]);
  }
});

describe('covalent-ts JupyterLab extension', () => {
  it('loads as a prebuilt extension and renders live graphs of dispatches run in cells', async () => {
    const loaded = await page.evaluate(() => (globalThis as any).covalentLabHost?.federatedLoaded);
    expect(loaded).toContain('covalent-ts-labextension');
    await runCommand(page, 'notebook:run-all-cells');
    await graphs().nth(2).waitFor();
    for (let i = 0; i < 3; i++) {
      await graph(i).and(page.locator('[data-mode="live"]')).waitFor();
    }
    const g = graph(0);
    const naps = await idsNamed(g, 'nap');
    const combines = await idsNamed(g, 'combine');
    expect(naps).toHaveLength(2);
    expect(combines).toHaveLength(2);
    for (const id of naps) {
      await waitStatus(g, id, 'RUNNING');
      await expect(nodeEl(g, id).locator('.jp-CovalentNode-status').textContent()).resolves.toBe('RUNNING');
    }
    await expect(g.locator('svg.jp-CovalentGraph-edges').getAttribute('data-edge-count')).resolves.toBe('3');
    // Each unfinished node has a real, enabled cancel button named for its task.
    const button = g.getByRole('button', { name: `Cancel task ${naps[0]}`, exact: true });
    await expect(button.evaluate((b: any) => b.tagName)).resolves.toBe('BUTTON');
    await expect(button.isEnabled()).resolves.toBe(true);
    await screenshot(page, 'e2e-01-live-graph');
    expect(s.consoleErrors).toEqual([]);
  });

  it('reads at a glance: siblings in id order, arrowheads, legible ids, a live clock, the downstream preview', async () => {
    const g = graph(0);
    const naps = await idsNamed(g, 'nap');
    const combines = await idsNamed(g, 'combine');
    const box = async (id: number) => (await nodeEl(g, id).boundingBox())!;
    // Siblings left to right in node-id order.
    const [a, b] = naps.sort((x, y) => x - y);
    expect((await box(a)).x).toBeLessThan((await box(b)).x);
    // Every edge ends in an arrowhead pointing into its dependent.
    const arrows = g.locator('svg.jp-CovalentGraph-edges path.jp-CovalentGraph-arrows');
    const heads = ((await arrows.getAttribute('d')) ?? '').match(/M/g) ?? [];
    expect(heads).toHaveLength(3);
    const arrowBox = (await arrows.boundingBox())!;
    expect(arrowBox.width).toBeGreaterThan(0);
    // The id and executor are readable at the default zoom: at least 11 px on screen, not grey on grey.
    const meta = await nodeEl(g, a)
      .locator('.jp-CovalentNode-meta')
      .evaluate((el: any) => {
        const scale = Number(el.closest('.jp-CovalentGraph-canvas').dataset.scale);
        const cs = (globalThis as any).getComputedStyle(el);
        return { text: el.textContent, px: parseFloat(cs.fontSize) * scale, color: cs.color };
      });
    expect(meta.text).toBe(`#${a} · local`);
    expect(meta.px).toBeGreaterThanOrEqual(11);
    // A running node's elapsed time advances.
    const time = nodeEl(g, a).locator('.jp-CovalentNode-time');
    const t0 = await time.textContent();
    expect(t0).toMatch(/^\d+ s$|min/);
    await page.waitForFunction(
      ([el, before]: [any, string]) => el.textContent !== before,
      [await time.elementHandle(), t0] as [any, string],
      { timeout: 5000 }
    );
    // Hover: the tasks its cancel also stops light up; the description counts them.
    const button = g.getByRole('button', { name: `Cancel task ${a}`, exact: true });
    await expect(button.getAttribute('title')).resolves.toBe(`Cancel task ${a} and 2 downstream tasks`);
    await button.hover();
    const lit = await g.locator('.jp-CovalentNode.jp-mod-willCancel').evaluateAll((els: any[]) => els.map(e => Number(e.dataset.nodeId)).sort((x, y) => x - y));
    expect(lit).toEqual([a, ...combines].sort((x, y) => x - y));
    await screenshot(page, 'e2e-01b-cancel-preview');
    await page.mouse.move(0, 0);
    await expect(g.locator('.jp-CovalentNode.jp-mod-willCancel').count()).resolves.toBe(0);
    // Keyboard focus shows the same preview.
    await button.focus();
    await expect(g.locator('.jp-CovalentNode.jp-mod-willCancel').count()).resolves.toBe(3);
    await nodeEl(g, a).focus();
    // Every status has its own glyph and text.
    await expect(nodeEl(g, a).locator('.jp-CovalentNode-glyph').textContent()).resolves.toBe('▶');
    await expect(nodeEl(g, combines[0]).locator('.jp-CovalentNode-status').textContent()).resolves.toBe('PENDING');
  });

  it('cancels a running task from its button: its process dies, it and its dependents end CANCELLED', async () => {
    const g = graph(0);
    const [target, other] = await idsNamed(g, 'nap');
    const worker = await pidOf(g, target);
    expect(processAlive(worker.pid, worker.startTime)).toBe(true);
    // The button goes through JupyterLab's command covalent-ts:cancel-task, like any other caller.
    await page.evaluate(() => {
      const w = globalThis as any;
      w.ctExecuted = [];
      w.jupyterapp.commands.commandExecuted.connect((_: unknown, e: any) => w.ctExecuted.push({ id: e.id, args: e.args }));
    });
    await g.getByRole('button', { name: `Cancel task ${target}`, exact: true }).click();
    const dispatchId = await g.getAttribute('data-dispatch-id');
    await expect(page.evaluate(() => (globalThis as any).ctExecuted)).resolves.toContainEqual({
      id: 'covalent-ts:cancel-task',
      args: { dispatchId, taskId: target }
    });
    // CANCELLING shows at once, before the kernel's answer (no confirmation for one task).
    await waitStatus(g, target, 'CANCELLING', 5000).catch(() => undefined);
    await waitStatus(g, target, 'CANCELLED');
    expect(await waitUntil(() => !processAlive(worker.pid, worker.startTime), 10000)).toBe(true);
    for (const id of await idsNamed(g, 'combine')) {
      await waitStatus(g, id, 'CANCELLED');
    }
    // The other branch was not asked to stop.
    await expect(nodeEl(g, other).getAttribute('data-status')).resolves.toBe('RUNNING');
    const field = (k: string) => g.locator(`.jp-CovalentDetails td[data-field="${k}"]`).textContent();
    await expect(field('status')).resolves.toBe('CANCELLED');
    await expect(field('cancelSource')).resolves.toBe('Cancel button in JupyterLab');
    await expect(field('cancelOutcome')).resolves.toMatch(/Killed|Aborted/);
    // A finished node has no cancel button; the place says how it ended.
    await expect(g.getByRole('button', { name: `Cancel task ${target}`, exact: true }).count()).resolves.toBe(0);
    await expect(nodeEl(g, target).locator('.jp-CovalentNode-outcome').textContent()).resolves.toMatch(/^(killed|aborted before start)$/);
    for (const id of await idsNamed(g, 'combine')) {
      await expect(g.getByRole('button', { name: `Cancel task ${id}`, exact: true }).count()).resolves.toBe(0);
      await expect(nodeEl(g, id).locator('.jp-CovalentNode-outcome').textContent()).resolves.toBe('aborted before start');
    }
    await screenshot(page, 'e2e-02-task-cancelled');
  });

  it('cancels a whole dispatch after confirmation', async () => {
    const g = graph(0);
    const [, other] = await idsNamed(g, 'nap');
    const worker = await pidOf(g, other);
    await g.getByRole('button', { name: 'Cancel dispatch', exact: true }).click();
    const dialog = page.locator('.jp-Dialog');
    await dialog.waitFor();
    await screenshot(page, 'e2e-03-confirm-dispatch-cancel');
    // Declining keeps everything running.
    await dialog.getByRole('button', { name: 'Keep running' }).click();
    await dialog.waitFor({ state: 'detached' });
    await expect(nodeEl(g, other).getAttribute('data-status')).resolves.toBe('RUNNING');
    await g.getByRole('button', { name: 'Cancel dispatch', exact: true }).click();
    await page.locator('.jp-Dialog').getByRole('button', { name: 'Stop all tasks' }).click();
    await waitStatus(g, other, 'CANCELLED');
    await g.and(page.locator('[data-status="CANCELLED"]')).waitFor();
    expect(await waitUntil(() => !processAlive(worker.pid, worker.startTime), 10000)).toBe(true);
    await expect(g.getByRole('button', { name: 'Cancel dispatch', exact: true }).isDisabled()).resolves.toBe(true);
  });

  it('cancels with the keyboard alone: Tab to a node’s cancel button, Enter', async () => {
    const g = graph(1);
    const [target] = await idsNamed(g, 'nap');
    await waitStatus(g, target, 'RUNNING');
    await nodeEl(g, target).focus();
    await page.keyboard.press('Tab');
    const focused = await page.evaluate(() => (globalThis as any).document.activeElement?.getAttribute('aria-label'));
    expect(focused).toBe(`Cancel task ${target}`);
    await page.keyboard.press('Enter');
    await waitStatus(g, target, 'CANCELLED');
    await screenshot(page, 'e2e-04-keyboard-cancel');
  });

  it('re-attaches to the live dispatch after a page reload', async () => {
    // Outputs live in the saved notebook, as for any reload.
    await runCommand(page, 'docmanager:save');
    await page.reload();
    await page.waitForSelector('body[data-lab-ready="true"]', { state: 'attached' });
    await waitForKernelIdle(page);
    await graphs().nth(2).waitFor();
    const g = graph(2);
    await g.and(page.locator('[data-mode="live"]')).waitFor();
    const [target] = await idsNamed(g, 'nap');
    await waitStatus(g, target, 'RUNNING');
    await screenshot(page, 'e2e-05-reattached');
    // Still controllable after the reload, here through the palette command on the selected task.
    await nodeEl(g, target).locator('.jp-CovalentNode-meta').click();
    await expect(page.evaluate(() => (globalThis as any).jupyterapp.commands.isEnabled('covalent-ts:cancel-selected-task'))).resolves.toBe(true);
    await runCommand(page, 'covalent-ts:cancel-selected-task');
    await waitStatus(g, target, 'CANCELLED');
  });

  it('lists the kernel’s dispatches in the side panel and offers the palette commands', async () => {
    await runCommand(page, 'covalent-ts:show-dispatches');
    const panel = page.locator('#covalent-ts-dispatches');
    await panel.locator('li.jp-CovalentDispatches-item').nth(2).waitFor();
    const statuses = await panel.locator('li.jp-CovalentDispatches-item').evaluateAll((els: any[]) => els.map(e => e.dataset.status));
    expect(statuses).toContain('CANCELLED');
    expect(statuses).toContain('RUNNING');
    const labels = await page.evaluate(() => {
      const c = (globalThis as any).jupyterapp.commands;
      return [c.label('covalent-ts:cancel-dispatch'), c.label('covalent-ts:cancel-selected-task')];
    });
    expect(labels).toEqual(['Cancel dispatch', 'Cancel selected task']);
    await screenshot(page, 'e2e-06-dispatches-panel');
  });

  it('shows a read-only snapshot with its time once the kernel is gone, and saves a static fallback', async () => {
    await runCommand(page, 'docmanager:save');
    await page.evaluate(() => (globalThis as any).jupyterapp.shell.currentWidget.sessionContext.shutdown());
    const g = graph(2);
    await g.and(page.locator('[data-mode="snapshot"]')).waitFor();
    await expect(g.locator('.jp-CovalentGraph-mode').textContent()).resolves.toMatch(/^Snapshot \S/);
    await expect(g.locator('.jp-CovalentGraph-mode').getAttribute('title')).resolves.toMatch(/^Snapshot taken .+ \(read-only\)/);
    // The toolbar stays on one row with the snapshot label: every item on the same line.
    const rows = await g.locator('.jp-CovalentGraph-toolbar > *').evaluateAll((els: any[]) =>
      els.filter(e => e.offsetParent !== null).map(e => Math.round(e.getBoundingClientRect().top + e.getBoundingClientRect().height / 2))
    );
    expect(Math.max(...rows) - Math.min(...rows)).toBeLessThanOrEqual(4);
    const cancelDispatchBox = (await g.getByRole('button', { name: 'Cancel dispatch', exact: true }).boundingBox())!;
    const toolbarBox = (await g.locator('.jp-CovalentGraph-toolbar').boundingBox())!;
    expect(toolbarBox.height).toBeLessThan(cancelDispatchBox.height * 2);
    const dispatchButton = g.getByRole('button', { name: 'Cancel dispatch', exact: true });
    await expect(dispatchButton.isDisabled()).resolves.toBe(true);
    await expect(dispatchButton.getAttribute('title')).resolves.toMatch(/No kernel connected|read-only/);
    // Unfinished nodes keep their buttons, disabled, with a tooltip saying why.
    // (With as many local workers as cores, some of these tasks may still wait in the pool, QUEUED.)
    const stillRunning = g.locator(
      '.jp-CovalentNode:is([data-status="RUNNING"], [data-status="QUEUED"]) button.jp-CovalentNode-cancel'
    );
    expect(await stillRunning.count()).toBeGreaterThan(0);
    await expect(stillRunning.first().isDisabled()).resolves.toBe(true);
    await expect(stillRunning.first().getAttribute('title')).resolves.toMatch(/No kernel connected|read-only/);
    await screenshot(page, 'e2e-07-snapshot');
    // The saved output carries the snapshot and an inline-SVG HTML fallback for viewers without the extension.
    const saved = JSON.parse(fs.readFileSync(path.join(s.notebookDir, NB), 'utf8'));
    const outputs = saved.cells.flatMap((c: any) => c.outputs ?? []);
    const display = outputs.find((o: any) => o.data?.['application/vnd.covalent-ts.dispatch+json']);
    expect(display.data['application/vnd.covalent-ts.dispatch+json'].snapshot.nodes.length).toBe(4);
    const html = display.data['text/html'];
    expect(Array.isArray(html) ? html.join('') : html).toMatch(/<svg/);
  });

  it('renders the saved snapshot read-only for a colleague whose kernel never ran it', async () => {
    // The saved notebook opened on "another machine": another server, kernel and store.
    const saved = JSON.parse(fs.readFileSync(path.join(s.notebookDir, NB), 'utf8'));
    const other = await openLabSession({ 'shared.ipynb': saved });
    try {
      const p = other.page;
      await openNotebook(other, 'shared.ipynb');
      await waitForKernelIdle(p);
      const g = p.locator('.jp-CovalentGraph').nth(2);
      await g.waitFor();
      await expect(g.getAttribute('data-mode')).resolves.toBe('snapshot');
      // Once the new kernel has answered, the graph says why it is read-only.
      await p.waitForFunction(
        (el: any) => /no longer runs this dispatch/.test(el.getAttribute('title') ?? ''),
        await g.locator('.jp-CovalentGraph-mode').elementHandle(),
        { timeout: 30000 }
      );
      await expect(g.locator('.jp-CovalentGraph-mode').getAttribute('title')).resolves.toMatch(/^Snapshot taken .+ \(read-only\)/);
      await expect(g.getByRole('button', { name: 'Cancel dispatch', exact: true }).isDisabled()).resolves.toBe(true);
      expect(await g.locator('.jp-CovalentNode').count()).toBe(4);
      await screenshot(p, 'e2e-08-colleague-snapshot');
    } finally {
      await other.close();
    }
  });

  it('follows the JupyterLab theme (light and dark) through its CSS variables', async () => {
    const background = () => graph(0).evaluate((el: any) => (globalThis as any).getComputedStyle(el).backgroundColor);
    const light = await background();
    await runCommand(page, 'apputils:change-theme', { theme: 'JupyterLab Dark' });
    await page.waitForFunction(() => (globalThis as any).document.body.dataset.jpThemeLight === 'false');
    await page.waitForFunction((before: string) => (globalThis as any).getComputedStyle((globalThis as any).document.querySelector('.jp-CovalentGraph')).backgroundColor !== before, light);
    expect(await background()).not.toBe(light);
    await screenshot(page, 'e2e-09-dark-theme');
    await runCommand(page, 'apputils:change-theme', { theme: 'JupyterLab Light' });
  });
});
