/**
 * Browser benchmarks of the JupyterLab extension, in headless Chromium against
 * a real Jupyter server with our kernel and the prebuilt extension:
 *  - first render of a 1,000-node graph (target <= 1 s);
 *  - 10,000 status updates streamed over 10 s: the longest frame (target <= 100 ms);
 *  - click to CANCELLING on screen (target <= 100 ms);
 *  - click to the task's process killed, local executor (target <= 200 ms).
 */
import type { Page } from 'playwright-core';
import { newNodeView } from '../src/protocol/messages';
import {
  notebook,
  openLabSession,
  openNotebook,
  processAlive,
  runCommand,
  screenshot,
  waitForKernelIdle,
  type LabSession
} from '../test/e2e/support/lab-session';

export interface BenchRow {
  name: string;
  value: number;
  unit: string;
}

const LAYERS = 20;
const WIDTH = 50;

/** A saved dispatch output with 1,000 nodes: 20 layers of 50, each node fed by two above. */
export function bigSnapshotNotebook(): Record<string, unknown> {
  const nodes = [];
  for (let i = 0; i < LAYERS * WIDTH; i++) {
    const layer = Math.floor(i / WIDTH);
    const col = i % WIDTH;
    nodes.push(
      newNodeView(i, {
        name: `step_${layer}_${col}`,
        status: layer < 5 ? 'COMPLETED' : layer === 5 ? 'RUNNING' : 'NEW_OBJECT',
        executor: 'local',
        dependsOn: layer === 0 ? [] : [i - WIDTH, (layer - 1) * WIDTH + ((col + 1) % WIDTH)]
      })
    );
  }
  const snapshot = {
    dispatchId: 'bench-1000',
    name: 'thousand_tasks',
    status: 'RUNNING',
    startedAt: new Date().toISOString(),
    completedAt: null,
    parentDispatchId: null,
    nodes,
    takenAt: new Date().toISOString()
  };
  const nb = notebook(['// A saved 1,000-task dispatch (its kernel is gone: the graph is a snapshot)']) as any;
  nb.cells[0].outputs = [
    {
      output_type: 'display_data',
      metadata: {},
      data: {
        'application/vnd.covalent-ts.dispatch+json': { dispatchId: 'bench-1000', snapshot },
        'text/plain': 'Dispatch bench-1000 (1000 tasks)'
      }
    }
  ];
  nb.cells[0].execution_count = 1;
  return nb;
}

const CANCEL_CELLS = [
  `import * as ct from 'covalent-ts';
const nap = ct.electron(async function nap(ms: number) { await new Promise((r) => setTimeout(r, ms)); return ms; });
const pipeline = ct.lattice(function pipeline(ms: number) { return [nap(ms), nap(ms)]; });`,
  ...Array.from({ length: 4 }, () => 'await ct.dispatch(pipeline)(600000)')
];

async function firstRender(page: Page): Promise<number> {
  await page.locator('.jp-CovalentGraph[data-dispatch-id="bench-1000"] .jp-CovalentNode').nth(999).waitFor({ state: 'attached' });
  const handle = await page.waitForFunction(() => {
    const m = performance.getEntriesByName('covalent-ts:first-render').find((e: any) => e.detail?.dispatchId === 'bench-1000');
    return m ? m.duration : null;
  });
  return (await handle.jsonValue()) as number;
}

/** Stream 10,000 node updates into the 1,000-node graph over ~10 s; report the longest frame. */
async function streamUpdates(page: Page): Promise<{ maxFrame: number; elapsed: number; updates: number; p99Frame: number }> {
  return page.evaluate(async () => {
    const win = globalThis as any;
    // The graph widget, found by walking the shell's widget tree (no globals of the extension).
    const find = (w: any): any => {
      if (w?.model?.dispatchId === 'bench-1000' && typeof w.model.applyDelta === 'function') return w;
      for (const c of w?.children?.() ?? []) {
        const hit = find(c);
        if (hit) return hit;
      }
      return null;
    };
    const graph = find(win.jupyterapp.shell);
    const model = graph.model;
    const statuses = ['RUNNING', 'COMPLETED', 'NEW_OBJECT', 'RUNNING', 'FAILED'];
    const frames: number[] = [];
    let last = performance.now();
    let running = true;
    const tick = (t: number) => {
      frames.push(t - last);
      last = t;
      if (running) {
        win.requestAnimationFrame(tick);
      }
    };
    win.requestAnimationFrame(tick);
    const TOTAL = 10000;
    const PER_DELTA = 5;
    let sent = 0;
    let seq = model.seq;
    const started = performance.now();
    await new Promise<void>(resolve => {
      const timer = setInterval(() => {
        // Keep to schedule: 10,000 updates spread evenly over 10 s.
        const due = Math.min(TOTAL, Math.ceil(((performance.now() - started) / 10000) * TOTAL));
        while (sent < due) {
          const nodes = [];
          for (let i = 0; i < PER_DELTA && sent < TOTAL; i++, sent++) {
            nodes.push({ id: (sent * 7) % 1000, status: statuses[sent % statuses.length] });
          }
          model.applyDelta({ v: 1, type: 'delta', dispatchId: 'bench-1000', seq: ++seq, nodes });
        }
        if (sent >= TOTAL) {
          clearInterval(timer);
          resolve();
        }
      }, 5);
    });
    const elapsed = performance.now() - started;
    await new Promise(r => win.requestAnimationFrame(() => win.requestAnimationFrame(r)));
    running = false;
    const sorted = frames.slice(1).sort((a, b) => a - b);
    return {
      maxFrame: sorted[sorted.length - 1],
      p99Frame: sorted[Math.floor(sorted.length * 0.99)],
      elapsed,
      updates: sent
    };
  });
}

interface CancelSample {
  toCancelling: number;
  toKilled: number;
}

/** Click a running task's cancel button; time CANCELLING on screen and the process's death. */
async function cancelSample(s: LabSession): Promise<CancelSample | null> {
  const page = s.page;
  const target = await page.evaluate(() => {
    const doc = (globalThis as any).document;
    for (const el of doc.querySelectorAll('.jp-CovalentGraph[data-mode="live"] .jp-CovalentNode[data-status="RUNNING"]')) {
      const graph = el.closest('.jp-CovalentGraph');
      return { dispatchId: graph.dataset.dispatchId, nodeId: Number(el.dataset.nodeId) };
    }
    return null;
  });
  if (!target) {
    return null;
  }
  const g = page.locator(`.jp-CovalentGraph[data-dispatch-id="${target.dispatchId}"]`);
  await g.locator(`.jp-CovalentNode[data-node-id="${target.nodeId}"] .jp-CovalentNode-meta`).click();
  const handle = g.locator('.jp-CovalentDetails td[data-field="jobHandle"]');
  await page.waitForFunction((el: any) => /"pid":\d+/.test(el.textContent), await handle.elementHandle());
  const pid = JSON.parse((await handle.textContent())!).pid as number;
  // In the page: stamp the click (wall clock) and the first frame that shows CANCELLING.
  await page.evaluate(({ dispatchId, nodeId }) => {
    const doc = (globalThis as any).document;
    const el = doc.querySelector(`.jp-CovalentGraph[data-dispatch-id="${dispatchId}"] .jp-CovalentNode[data-node-id="${nodeId}"]`);
    const w = globalThis as any;
    w.__ctBench = { clickAt: 0, clickWall: 0, shownAt: 0 };
    doc.addEventListener(
      'click',
      (ev: any) => {
        w.__ctBench.clickAt = ev.timeStamp;
        w.__ctBench.clickWall = performance.timeOrigin + ev.timeStamp;
      },
      { capture: true, once: true }
    );
    const obs = new w.MutationObserver(() => {
      if (el.dataset.status === 'CANCELLING' || el.dataset.status === 'CANCELLED') {
        obs.disconnect();
        w.requestAnimationFrame(() => (w.__ctBench.shownAt = performance.now()));
      }
    });
    obs.observe(el, { attributes: true, attributeFilter: ['data-status'] });
  }, target);
  const button = g.getByRole('button', { name: `Cancel task ${target.nodeId}`, exact: true });
  await button.scrollIntoViewIfNeeded();
  let killedWall = 0;
  const watch = (async () => {
    const end = Date.now() + 10000;
    while (Date.now() < end) {
      if (!processAlive(pid)) {
        killedWall = Date.now();
        return;
      }
      await new Promise(r => setImmediate(r));
    }
  })();
  await button.click();
  await watch;
  const b = await page.waitForFunction(() => {
    const r = (globalThis as any).__ctBench;
    return r.shownAt ? r : null;
  });
  const r = (await b.jsonValue()) as { clickAt: number; clickWall: number; shownAt: number };
  await g.locator(`.jp-CovalentNode[data-node-id="${target.nodeId}"][data-status="CANCELLED"]`).waitFor();
  return { toCancelling: r.shownAt - r.clickAt, toKilled: killedWall ? killedWall - r.clickWall : NaN };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor((s.length - 1) / 2)];
}

export async function runBrowserBenchmarks(log: (line: string) => void = () => undefined): Promise<BenchRow[]> {
  const rows: BenchRow[] = [];
  const s = await openLabSession({ 'big.ipynb': bigSnapshotNotebook(), 'cancel.ipynb': notebook(CANCEL_CELLS) });
  try {
    await openNotebook(s, 'big.ipynb');
    const render = await firstRender(s.page);
    rows.push({ name: 'lab: first render of a 1,000-node graph', value: round(render), unit: 'ms' });
    log(`first render 1000 nodes: ${render.toFixed(0)} ms`);
    await screenshot(s.page, 'bench-1000-nodes');
    // Let the notebook's kernel finish starting: its start-up competes for the CPU.
    await waitForKernelIdle(s.page);
    await s.page.waitForTimeout(1000);
    const stream = await streamUpdates(s.page);
    rows.push({ name: 'lab: 10,000 status updates streamed, elapsed', value: round(stream.elapsed), unit: 'ms' });
    rows.push({ name: 'lab: 10,000 status updates, longest frame', value: round(stream.maxFrame), unit: 'ms' });
    rows.push({ name: 'lab: 10,000 status updates, p99 frame', value: round(stream.p99Frame), unit: 'ms' });
    log(`stream: ${stream.updates} updates in ${stream.elapsed.toFixed(0)} ms, longest frame ${stream.maxFrame.toFixed(1)} ms`);

    await openNotebook(s, 'cancel.ipynb');
    await waitForKernelIdle(s.page);
    await runCommand(s.page, 'notebook:run-all-cells');
    await s.page.locator('.jp-CovalentGraph[data-mode="live"]').nth(3).waitFor();
    const samples: CancelSample[] = [];
    const deadline = Date.now() + 120000;
    while (samples.length < Number(process.env.CT_BENCH_CANCELS ?? 6) && Date.now() < deadline) {
      await s.page
        .locator('.jp-CovalentGraph[data-mode="live"] .jp-CovalentNode[data-status="RUNNING"]')
        .first()
        .waitFor({ timeout: 30000 })
        .catch(() => undefined);
      const sample = await cancelSample(s);
      if (!sample) {
        break;
      }
      samples.push(sample);
      log(`cancel: CANCELLING after ${sample.toCancelling.toFixed(1)} ms, process killed after ${sample.toKilled.toFixed(1)} ms`);
    }
    const cancelling = samples.map(x => x.toCancelling);
    const killed = samples.map(x => x.toKilled).filter(x => Number.isFinite(x));
    rows.push({ name: 'lab: click to CANCELLING on screen, median', value: round(median(cancelling)), unit: 'ms' });
    rows.push({ name: 'lab: click to CANCELLING on screen, max', value: round(Math.max(...cancelling)), unit: 'ms' });
    rows.push({ name: 'lab: click to task process killed (local), median', value: round(median(killed)), unit: 'ms' });
    rows.push({ name: 'lab: click to task process killed (local), max', value: round(Math.max(...killed)), unit: 'ms' });
    rows.push({ name: 'lab: cancel samples', value: samples.length, unit: 'count' });
  } finally {
    await s.close();
  }
  return rows;
}

function round(x: number): number {
  return Math.round(x * 10) / 10;
}

if (require.main === module) {
  runBrowserBenchmarks(line => process.stderr.write(`${line}\n`))
    .then(rows => {
      for (const r of rows) {
        process.stdout.write(`${r.name}\t${r.value}\t${r.unit}\n`);
      }
    })
    .catch(e => {
      process.stderr.write(`${(e as Error).stack ?? e}\n`);
      process.exit(1);
    });
}
