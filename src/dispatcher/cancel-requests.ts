import * as fs from 'node:fs';
import * as path from 'node:path';
import { randomUUID } from 'node:crypto';
import { CtError, ErrorCodes } from '../errors';
import type { CancelReportData } from '../protocol/messages';
import { writeFileAtomicSync } from '../store/atomic-file';
import type { StorePaths } from '../store/ct-home';

/**
 * Cancel from anywhere: another process (a terminal, a second notebook)
 * cannot touch the dispatcher that runs a dispatch, so it drops a request
 * file into the shared home; the owning dispatcher picks it up at once
 * (fs.watch, with a slow poll as a safety net), cancels with source
 * `external`, and answers with a report file.
 */
export interface CancelRequestFile {
  requestId: string;
  dispatchId: string;
  taskIds: number[] | null;
  reason: string | null;
  requestedAt: string;
  requesterPid: number;
}

/**
 * Ask the process that owns a dispatch to cancel; resolves with its report,
 * or with `owner-gone` as soon as the owner is seen to have exited without
 * answering (the request is withdrawn; the caller treats the dispatch as orphaned).
 */
export async function requestCancel(
  paths: StorePaths,
  request: Omit<CancelRequestFile, 'requestId' | 'requestedAt' | 'requesterPid'>,
  timeoutMs: number,
  ownerAlive: () => boolean,
  /** Said in the timeout error, e.g. why the owner could not be checked. */
  ownerNote?: string,
): Promise<CancelReportData | 'owner-gone'> {
  fs.mkdirSync(paths.requestsDir, { recursive: true });
  fs.mkdirSync(paths.reportsDir, { recursive: true });
  const file: CancelRequestFile = { ...request, requestId: randomUUID(), requestedAt: new Date().toISOString(), requesterPid: process.pid };
  writeFileAtomicSync(path.join(paths.requestsDir, `${file.requestId}.json`), Buffer.from(JSON.stringify(file)));
  const reportFile = path.join(paths.reportsDir, `${file.requestId}.json`);
  const deadline = Date.now() + timeoutMs;
  for (let wait = 2; ; wait = Math.min(wait * 2, 50)) {
    try {
      const data = JSON.parse(fs.readFileSync(reportFile, 'utf8')) as CancelReportData & { error?: { code: string; message: string } };
      fs.rmSync(reportFile, { force: true });
      if (data.error) throw new CtError(data.error.code as any, data.error.message);
      return data;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT' && !(e instanceof SyntaxError)) throw e;
    }
    const alive = ownerAlive();
    if (Date.now() > deadline || !alive) {
      const requestFile = path.join(paths.requestsDir, `${file.requestId}.json`);
      // Withdraw the request; if it is already gone, the owner took it and its answer may still come.
      const withdrawn = fs.existsSync(requestFile);
      fs.rmSync(requestFile, { force: true });
      if (!alive && !withdrawn && fs.existsSync(reportFile)) continue; // its answer arrived just now: read it
      if (!alive) return 'owner-gone';
      throw new CtError(
        ErrorCodes.TIMEOUT,
        `The process running dispatch ${request.dispatchId} did not answer the cancel request within ${Math.round(timeoutMs / 1000)} s` +
          `${ownerNote ? ` (${ownerNote})` : ''}. Nothing is known to have been cancelled; try again, or cancel from the notebook that dispatched it.`,
      );
    }
    await new Promise((r) => setTimeout(r, wait));
  }
}

/** Watches the requests directory for requests about dispatches this process runs. */
export class CancelRequestWatcher {
  private watcher: fs.FSWatcher | undefined;
  private poll: NodeJS.Timeout | undefined;
  private busy = new Set<string>();

  constructor(
    private readonly paths: StorePaths,
    private readonly owns: (dispatchId: string) => boolean,
    private readonly handle: (req: CancelRequestFile) => Promise<CancelReportData>,
  ) {}

  start(): void {
    if (this.watcher || this.poll) return;
    fs.mkdirSync(this.paths.requestsDir, { recursive: true });
    fs.mkdirSync(this.paths.reportsDir, { recursive: true });
    try {
      this.watcher = fs.watch(this.paths.requestsDir, () => this.scan());
      this.watcher.unref();
    } catch {
      // No inotify: the poll below still finds requests.
    }
    this.poll = setInterval(() => this.scan(), 500);
    this.poll.unref();
    this.scan();
  }

  stop(): void {
    this.watcher?.close();
    this.watcher = undefined;
    if (this.poll) clearInterval(this.poll);
    this.poll = undefined;
  }

  private scan(): void {
    let names: string[];
    try {
      names = fs.readdirSync(this.paths.requestsDir).filter((n) => n.endsWith('.json') && !n.startsWith('.'));
    } catch {
      return;
    }
    for (const name of names) {
      if (this.busy.has(name)) continue;
      const file = path.join(this.paths.requestsDir, name);
      let req: CancelRequestFile;
      try {
        req = JSON.parse(fs.readFileSync(file, 'utf8'));
      } catch {
        continue;
      }
      if (!this.owns(req.dispatchId)) continue;
      this.busy.add(name);
      fs.rmSync(file, { force: true });
      const answer = (body: unknown) =>
        writeFileAtomicSync(path.join(this.paths.reportsDir, `${req.requestId}.json`), Buffer.from(JSON.stringify(body)));
      this.handle(req)
        .then((report) => answer(report))
        .catch((e: any) => answer({ error: { code: e?.code ?? ErrorCodes.INVALID_ARGUMENT, message: e?.message ?? String(e) } }))
        .finally(() => this.busy.delete(name));
    }
  }
}
