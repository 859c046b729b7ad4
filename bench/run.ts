/**
 * `npm run bench [-- section ...]`: runs the benchmark sections and prints
 * one table. Sections: core, kernel, executors, browser, start, aws, cli, limits. A section whose
 * prerequisites are missing (a daemon, a browser) prints why and is skipped.
 */
import type { BenchRow } from './bench-util';

type Section = { name: string; load: () => Promise<() => Promise<BenchRow[]>> };

const sections: Section[] = [
  { name: 'core', load: async () => (await import('./core')).runCoreBenchmarks },
  { name: 'kernel', load: async () => (await import('./kernel')).runKernelBenchmarks },
  { name: 'executors', load: async () => (await import('./executors')).executorBenchmarks },
  { name: 'browser', load: async () => (await import('./browser')).runBrowserBenchmarks },
  { name: 'start', load: async () => (await import('./first-run')).runFirstRunBenchmarks },
  { name: 'aws', load: async () => (await import('./aws')).runAwsBenchmarks },
  { name: 'cli', load: async () => (await import('./cli')).runCliBenchmarks },
  { name: 'limits', load: async () => (await import('./limits')).runLimitBenchmarks },
];

function format(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  return Math.abs(v) >= 100 ? v.toFixed(0) : Math.abs(v) >= 10 ? v.toFixed(1) : v.toFixed(2);
}

async function main(): Promise<void> {
  const wanted = process.argv.slice(2);
  const chosen = sections.filter((s) => !wanted.length || wanted.includes(s.name));
  const all: Array<BenchRow & { section: string }> = [];
  for (const s of chosen) {
    process.stderr.write(`== ${s.name} ==\n`);
    try {
      const fn = await s.load();
      const rows = await fn();
      for (const r of rows) {
        all.push({ ...r, section: s.name });
        process.stderr.write(`  ${r.name}: ${format(r.value)} ${r.unit}${r.target ? ` (target ${r.target})` : ''}\n`);
      }
    } catch (e) {
      process.stderr.write(`  skipped: ${(e as Error).message}\n`);
    }
  }
  console.log('\n| section | figure | value | unit | target |\n|---|---|---|---|---|');
  for (const r of all) console.log(`| ${r.section} | ${r.name} | ${format(r.value)} | ${r.unit} | ${r.target ?? ''} |`);
  // Workers and servers started by sections must not keep us alive.
  process.exit(0);
}

void main();
