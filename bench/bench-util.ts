import * as fs from 'node:fs';

/** One figure of a benchmark table. */
export interface BenchRow {
  name: string;
  value: number;
  unit: string;
  /** The target from the issue, if there is one, e.g. "<= 20". */
  target?: string;
}

export function percentile(sorted: number[], p: number): number {
  if (!sorted.length) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i];
}

export function stats(samples: number[]): { median: number; p99: number; max: number } {
  const s = [...samples].sort((a, b) => a - b);
  return { median: percentile(s, 50), p99: percentile(s, 99), max: s[s.length - 1] };
}

/** Resident memory (MB) of this process and all its descendants, from /proc. */
export function treeRssMb(root = process.pid): number {
  const children = new Map<number, number[]>();
  const rss = new Map<number, number>();
  for (const name of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const status = fs.readFileSync(`/proc/${name}/status`, 'utf8');
      const ppid = Number(/PPid:\s+(\d+)/.exec(status)?.[1]);
      const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
      rss.set(Number(name), kb);
      if (!children.has(ppid)) children.set(ppid, []);
      children.get(ppid)!.push(Number(name));
    } catch {
      /* exited */
    }
  }
  let total = 0;
  const stack = [root];
  while (stack.length) {
    const pid = stack.pop()!;
    total += rss.get(pid) ?? 0;
    stack.push(...(children.get(pid) ?? []));
  }
  return total / 1024;
}

/** Sample `measure` every `everyMs` until stopped; returns the peak. */
export function peakSampler(measure: () => number, everyMs = 50): { stop(): number } {
  let peak = measure();
  const timer = setInterval(() => (peak = Math.max(peak, measure())), everyMs);
  return {
    stop() {
      clearInterval(timer);
      return Math.max(peak, measure());
    },
  };
}
