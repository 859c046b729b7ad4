/**
 * Many short scripts for one connection in one exec. Each exec costs a
 * server session (about 200 ms on sshd here, and at most MaxSessions at
 * once), so task launches and status checks that arrive within a few
 * milliseconds of each other share one: every script runs in a subshell of
 * its own (its `exit` ends only that subshell), its output (stdout and
 * stderr together) is followed by a line holding a random nonce, its index
 * and its exit status, so outputs cannot be mixed up or forged by a script.
 *
 * An exec can die part way (its shell killed, its channel closed by the
 * server): the scripts it did not answer have no status line. Scripts sent
 * as `idempotent` (safe to run again: status checks, task launches, which
 * never start a task twice) are then sent again in a later exec; the others
 * are answered with code null, which means "unknown", never "failed".
 */
import { randomBytes } from 'node:crypto';
import type { ExecResult } from '../remote/remote-host';

/** Scripts per exec, and their total size (one `sh -c` argument must stay under Linux's 128 KiB). */
const MAX_ITEMS = 40;
const MAX_BYTES = 96 * 1024;
/** Sends of an idempotent script whose answer was lost with its exec. */
const MAX_ATTEMPTS = 3;
/** How long the first script of a batch waits for others. */
const GATHER_MS = 5;
/** Combined execs under way at once; scripts arriving meanwhile wait and go together in the next. */
const MAX_IN_FLIGHT = 2;

export interface BatchedExecOptions {
  timeoutMs?: number;
  /** Running the script again is harmless: resend it when an exec dies before answering it. */
  idempotent?: boolean;
}

interface Item {
  script: string;
  timeoutMs?: number;
  idempotent: boolean;
  attempts: number;
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
  /**
   * Execs sent and scripts run through them; execs that ended without answering every
   * script, and scripts sent again because of that (for tests and benchmarks).
   */
  readonly stats = { execs: 0, scripts: 0, died: 0, resent: 0 };

  constructor(private readonly run: RunScript) {}

  exec(script: string, options: BatchedExecOptions = {}): Promise<ExecResult> {
    return new Promise<ExecResult>((resolve, reject) => {
      this.queue.push({ script, timeoutMs: options.timeoutMs, idempotent: options.idempotent === true, attempts: 0, resolve, reject });
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
    for (const b of batch) b.attempts++;
    try {
      const r = await this.run(combinedScript(batch.map((b) => b.script), nonce), { timeoutMs });
      const answers = splitCombined(r.stdout, batch.length, nonce);
      const unanswered = batch.filter((_, i) => answers[i].code === null);
      if (unanswered.length > 0) this.stats.died++;
      const resend = unanswered.filter((b) => b.idempotent && b.attempts < MAX_ATTEMPTS);
      this.stats.resent += resend.length;
      // First in the queue: they have waited longest.
      this.queue.unshift(...resend);
      batch.forEach((b, i) => {
        if (resend.includes(b)) return;
        if (answers[i].code !== null) return b.resolve(answers[i]);
        const how = r.signal ? `signal ${r.signal}` : `exit status ${r.code ?? 'unknown'}`;
        b.resolve({ ...answers[i], stderr: `the exec running this script ended (${how}) before the script's answer came back, ${b.attempts} time(s): its outcome is unknown. ${r.stderr}`.trim() });
      });
    } catch (e) {
      for (const b of batch) b.reject(e);
    } finally {
      this.inFlight--;
      if (this.queue.length > 0) this.flush();
    }
  }
}
