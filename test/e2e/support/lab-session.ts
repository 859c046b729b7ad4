import * as fs from 'fs';
import * as net from 'net';
import * as os from 'os';
import * as path from 'path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { packageRoot, startLabServer, type LabServer } from '../../../src/lab/lab-server';
import { identityOfPid } from '../../../src/process/process-identity';

/**
 * A real Jupyter server (our kernel and prebuilt extension installed as users
 * install them) and a headless system Chromium: what the end-to-end tests and
 * the browser benchmarks drive.
 */
export const CHROMIUM = process.env.CT_CHROMIUM ?? '/usr/bin/chromium';
export const ARTIFACTS = path.join(packageRoot(), 'test-artifacts');

export interface LabSession {
  server: LabServer;
  browser: Browser;
  page: Page;
  notebookDir: string;
  /** The session's private covalent-ts store (CT_HOME of its kernels). */
  ctHome: string;
  /** Console errors the page logged (for failure messages). */
  consoleErrors: string[];
  close(): Promise<void>;
}

export async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>(resolve => s.listen(0, '127.0.0.1', resolve));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise(r => s.close(r));
  return port;
}

export async function openLabSession(notebooks: Record<string, unknown>): Promise<LabSession> {
  const notebookDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ct-e2e-nb-'));
  for (const [name, nb] of Object.entries(notebooks)) {
    fs.writeFileSync(path.join(notebookDir, name), JSON.stringify(nb, null, 1));
  }
  // A private covalent-ts store per session: its kernels know only the dispatches run here.
  const ctHome = fs.mkdtempSync(path.join(os.tmpdir(), 'ct-e2e-home-'));
  const server = await startLabServer({
    port: await freePort(),
    notebookDir,
    token: '',
    disableXsrf: true,
    env: { CT_HOME: ctHome }
  });
  let browser: Browser;
  try {
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        // playwright launches with a fresh temporary profile (--user-data-dir) of its own.
        '--disable-sync'
      ]
    });
  } catch (e) {
    await server.stop();
    throw e;
  }
  const page = await browser.newPage({ viewport: { width: 1500, height: 1000 } });
  const consoleErrors: string[] = [];
  page.on('console', m => {
    if (process.env.CT_E2E_CONSOLE) console.log('[page]', m.type(), m.text().slice(0, 300));
    if (m.type() === 'error' && !/events\/subscribe|api\/me|lsp\/status|404/.test(m.text())) {
      consoleErrors.push(m.text());
    }
  });
  page.on('pageerror', e => consoleErrors.push(`pageerror: ${e.message}`));
  page.setDefaultTimeout(60000);
  return {
    server,
    browser,
    page,
    notebookDir,
    ctHome,
    consoleErrors,
    close: async () => {
      await browser.close().catch(() => undefined);
      await server.stop();
      fs.rmSync(notebookDir, { recursive: true, force: true });
      fs.rmSync(ctHome, { recursive: true, force: true });
    }
  };
}

/** Open a notebook in a fresh workspace and wait until JupyterLab has restored. */
export async function openNotebook(s: LabSession, name: string): Promise<void> {
  await s.page.goto(`${s.server.baseUrl}/lab/tree/${name}?reset`);
  await s.page.waitForSelector('body[data-lab-ready="true"]', { state: 'attached' });
  await s.page.waitForFunction(
    (n: string) => {
      const app = (globalThis as any).jupyterapp;
      const w = app?.shell?.currentWidget;
      return !!w && w.context?.path === n && w.context.isReady;
    },
    name
  );
}

/** Wait until the current notebook's kernel is connected and idle (the kernel's word, not the DOM's). */
export async function waitForKernelIdle(page: Page, timeout = 90000): Promise<void> {
  await page.waitForFunction(
    () => {
      const w = (globalThis as any).jupyterapp?.shell?.currentWidget;
      const k = w?.sessionContext?.session?.kernel;
      return !!k && k.connectionStatus === 'connected' && k.status === 'idle';
    },
    undefined,
    { timeout }
  );
}

export async function runCommand(page: Page, id: string, args: Record<string, unknown> = {}): Promise<void> {
  await page.evaluate(([cmd, a]) => (globalThis as any).jupyterapp.commands.execute(cmd, a), [id, args] as const);
}

export async function screenshot(page: Page, name: string): Promise<void> {
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: path.join(ARTIFACTS, `${name}.png`) });
}

/**
 * True while the process recorded as `pid` (and, when given, `startTime` as
 * in job handles: "bootid:ticks") still runs and is not a zombie. The start
 * time matters on a busy machine: pids wrap (pid_max is 32768 here), and a
 * new process that took a killed worker's pid is not that worker.
 */
export function processAlive(pid: number, startTime?: string | null): boolean {
  const now = identityOfPid(pid);
  if (!now) return false;
  return !startTime || !now.startTime || now.startTime === startTime;
}

export async function waitUntil(cond: () => boolean, timeoutMs: number, stepMs = 20): Promise<boolean> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (cond()) {
      return true;
    }
    await new Promise(r => setTimeout(r, stepMs));
  }
  return cond();
}

/** A notebook for our kernel with the given code cells (unexecuted). */
export function notebook(cells: string[]): Record<string, unknown> {
  return {
    nbformat: 4,
    nbformat_minor: 5,
    metadata: {
      kernelspec: { name: 'covalent-ts', display_name: 'TypeScript (covalent-ts)', language: 'typescript' },
      language_info: { name: 'typescript' }
    },
    cells: cells.map((source, i) => ({
      cell_type: 'code',
      id: `cell-${i}`,
      metadata: {},
      execution_count: null,
      source,
      outputs: []
    }))
  };
}
