/**
 * Many short scripts for one connection in one exec. Each exec costs a
 * server session (about 200 ms on sshd here, and at most MaxSessions at
 * once), so task launches and status checks that arrive within a few
 * milliseconds of each other share one: every script runs in a subshell of
 * its own (its `exit` ends only that subshell), its output (stdout and
 * stderr together) is followed by a line holding a random nonce, its index
 * and its exit status, so outputs cannot be mixed up or forged by a script.
 */
import { randomBytes } from 'node:crypto';
import type { ExecResult } from '../remote/remote-host';

/** Scripts per exec, and their total size (one `sh -c` argument must stay under Linux's 128 KiB). */
const MAX_ITEMS = 40;
const MAX_BYTES = 96 * 1024;
/** How long the first script of a batch waits for others. */
const GATHER_MS = 5;
/** Combined execs under way at once; scripts arriving meanwhile wait and go together in the next. */
const MAX_IN_FLIGHT = 2;

interface Item {
  script: string;
  timeoutMs?: number;
  resolve: (r: ExecResult) => void;
  reject: (e: unknown) => void;
}

/** Runs one combined script (quoting it is the runner's job). */
export type RunScript = (script: string, options: { timeoutMs?: number }) => Promise<ExecResult>;

/** Combine scripts into one; the answer of script i is the text before the line `NONCE i STATUS`. */
export function combinedScript(scripts: string[], nonce: string): string {
  return scripts.map((s, i) => `( ${s}\n) </dev/null 2>&1; printf '\\n%s %d %d\\n' ${nonce} ${i} "$?"`).join('\n');
}

/** Split the combined output; a script with no status line (the exec died) gets code null. */
export function splitCombined(stdout: string, count: number, nonce: string): ExecResult[] {
  const results: ExecResult[] = Array.from({ length: count }, () => ({ code: null, stdout: '', stderr: '' }));
  const marker = new RegExp(`\\n${nonce} (\\d+) (\\d+)\\n`, 'g');
  let from = 0;
  let next = 0;
  for (let m = marker.exec(stdout); m && next < count; m = marker.exec(stdout)) {
    // Status lines come in script order: a line naming another index is some script's output.
    if (Number(m[1]) !== next) continue;
    results[next++] = { code: Number(m[2]), stdout: stdout.slice(from, m.index), stderr: '' };
    from = m.index + m[0].length;
  }
  return results;
}

export class ExecBatcher {
  private queue: Item[] = [];
  private timer: NodeJS.Timeout | undefined;
  private inFlight = 0;
  /** Execs sent and scripts run through them (for tests and benchmarks). */
  readonly stats = { execs: 0, scripts: 0 };

  constructor(private readonly run: RunScript) {}

  exec(script: string, options: { timeoutMs?: number } = {}): Promise<ExecResult> {
    return new Promise<ExecResult>((resolve, reject) => {
      this.queue.push({ script, timeoutMs: options.timeoutMs, resolve, reject });
      if (this.inFlight < MAX_IN_FLIGHT) this.timer ??= setTimeout(() => this.flush(), GATHER_MS);
    });
  }

  private flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    while (this.queue.length > 0 && this.inFlight < MAX_IN_FLIGHT) {
      const batch: Item[] = [];
      let bytes = 0;
      while (this.queue.length > 0 && batch.length < MAX_ITEMS && (batch.length === 0 || bytes + this.queue[0].script.length <= MAX_BYTES)) {
        const item = this.queue.shift()!;
        bytes += item.script.length;
        batch.push(item);
      }
      void this.send(batch);
    }
  }

  private async send(batch: Item[]): Promise<void> {
    const nonce = `ct-${randomBytes(8).toString('hex')}`;
    const timeouts = batch.map((b) => b.timeoutMs);
    const timeoutMs = timeouts.every((t) => t !== undefined) ? Math.max(...(timeouts as number[])) : undefined;
    this.stats.execs++;
    this.stats.scripts += batch.length;
    this.inFlight++;
    try {
      const r = await this.run(combinedScript(batch.map((b) => b.script), nonce), { timeoutMs });
      const answers = splitCombined(r.stdout, batch.length, nonce);
      batch.forEach((b, i) => b.resolve(answers[i].code === null ? { ...answers[i], stderr: r.stderr || `the combined exec ended with ${r.code ?? r.signal}` } : answers[i]));
    } catch (e) {
      for (const b of batch) b.reject(e);
    } finally {
      this.inFlight--;
      if (this.queue.length > 0) this.flush();
    }
  }
}
