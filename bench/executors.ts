/**
 * Remote executor benchmarks against real daemons (private sshd and
 * single-node Slurm started by .ci/services/executors.sh, stopped afterwards):
 *
 * - SSH cancel latency: cancel request -> remote process group confirmed gone;
 * - Slurm cancel latency: cancel request -> job CANCELLED;
 * - submission overhead per task: execute() -> job handle stored;
 * - 200 Slurm tasks cancelled at once: number of scancel calls and time until all are CANCELLED;
 * - a 1,000-task Slurm sweep as one job array and as single jobs: submission time and sbatch calls,
 *   cancel of the whole sweep to all CANCELLED, scontrol calls per poll with 1,000 jobs watched;
 * - 200 trivial SSH tasks to one host at once: tasks/s end to end.
 *
 * Trial counts follow the issue (50) but each series stops at its time budget;
 * the row names say how many trials ran.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { CancelVerdict, Executor, JobHandle, TaskMetadata } from '../src/executors/executor';
import { JobExecutionContext } from '../src/executors/job-execution-context';
import type { TaskPayload } from '../src/executors/task-payload';
import { SSHExecutor, closeSSHConnections } from '../src/executors/ssh';
import { sshPool } from '../src/executors/ssh/connection-pool';
import { SSHHost } from '../src/executors/ssh/ssh-host';
import { SlurmExecutor } from '../src/executors/slurm';
import { slurmClusters } from '../src/executors/slurm/slurm-cluster';

import type { BenchRow } from './bench-util';

/** The dispatcher's execution context (JobExecutionContext), with the handle and when it arrived kept for the figures. */
class BenchContext extends JobExecutionContext {
  handle: JobHandle | undefined;
  handleAt = 0;
  constructor(
    metadata: TaskMetadata,
    private readonly executor: Executor<any, any>,
  ) {
    let ctx: BenchContext | undefined;
    super(metadata, {
      recordHandle(h) {
        ctx!.handle = h;
        ctx!.handleAt = performance.now();
      },
      killJob: (h) => executor.cancel(metadata, h),
    });
    ctx = this;
  }
  /** Cancel as the dispatcher does: the flag, then the executor's cancel once the job exists. */
  async cancel(): Promise<CancelVerdict> {
    this.requestCancel();
    return this.handle ? this.executor.cancel(this.metadata, this.handle) : false;
  }
}

let seq = 0;
function meta(name: string): TaskMetadata {
  seq++;
  return { dispatchId: `bench-${process.pid}-${seq}`, nodeId: 0, nodeIds: [0], name };
}
function payload(source: string, args: unknown[] = []): TaskPayload {
  return { version: 1, steps: [{ nodeId: 0, name: 'bench', source, args: args.map((value) => ({ value })) }] };
}
const SLEEP = `async function sleeper(ms) { await new Promise((r) => setTimeout(r, ms)); return ms; }`;

function percentile(values: number[], p: number): number {
  const s = [...values].sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  const i = Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1));
  return Math.round(s[i] * 10) / 10;
}

async function until(what: string, probe: () => boolean | Promise<boolean>, timeoutMs = 60000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > end) throw new Error(`benchmark: timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

function repoRoot(): string {
  let d = __dirname;
  while (!fs.existsSync(path.join(d, 'package.json'))) d = path.dirname(d);
  return d;
}

export type ExecutorEnv = Env;
interface Env {
  dir: string;
  ssh: { host: string; port: number; knownHostsFile: string; root: { username: string; privateKeyPath: string; workDir: string } };
  slurm: { conf: string; cpus: number };
}

function jobState(conf: string, id: string): string {
  try {
    const out = execFileSync('scontrol', ['show', 'job', '-o', id], { env: { ...process.env, SLURM_CONF: conf }, encoding: 'utf8' });
    return /JobState=(\S+)/.exec(out)?.[1] ?? '';
  } catch {
    return '';
  }
}

async function timed<T>(budgetMs: number, trials: number, fn: (i: number) => Promise<T>): Promise<T[]> {
  const out: T[] = [];
  const end = Date.now() + budgetMs;
  for (let i = 0; i < trials && Date.now() < end; i++) out.push(await fn(i));
  return out;
}

async function sshBench(env: Env, rows: BenchRow[]): Promise<void> {
  const ex = new SSHExecutor({
    host: env.ssh.host,
    port: env.ssh.port,
    username: env.ssh.root.username,
    privateKeyPath: env.ssh.root.privateKeyPath,
    knownHostsFile: env.ssh.knownHostsFile,
    remoteWorkDir: env.ssh.root.workDir,
    pollIntervalMs: 100,
    maxPollIntervalMs: 1000,
  });
  // Warm up: connection and runner upload.
  await ex.execute(payload(SLEEP, [1]), new BenchContext(meta('warm'), ex));

  const submit = await timed(60000, 20, async () => {
    const ctx = new BenchContext(meta('submit'), ex);
    const t0 = performance.now();
    await ex.execute(payload(SLEEP, [1]), ctx);
    return ctx.handleAt - t0;
  });
  rows.push({ name: `ssh: submission overhead per task (execute -> handle stored), median of ${submit.length}`, value: percentile(submit, 50), unit: 'ms' });

  const lat = await timed(150000, 50, async () => {
    const ctx = new BenchContext(meta('cancel'), ex);
    const done = ex.execute(payload(SLEEP, [600000]), ctx).catch(() => undefined);
    await until('ssh handle', () => ctx.handle !== undefined);
    await new Promise((r) => setTimeout(r, 150)); // the runner is up
    const t0 = performance.now();
    const ok = await ctx.cancel();
    const dt = performance.now() - t0;
    if (!ok) throw new Error('ssh cancel not confirmed');
    await done;
    return dt;
  });
  rows.push({ name: `ssh: cancel latency (request -> remote processes gone), median of ${lat.length}`, value: percentile(lat, 50), unit: 'ms' });
  rows.push({ name: `ssh: cancel latency (request -> remote processes gone), p99 of ${lat.length}`, value: percentile(lat, 99), unit: 'ms' });
}

async function slurmBench(env: Env, rows: BenchRow[]): Promise<void> {
  const conf = env.slurm.conf;
  const ex = new SlurmExecutor({
    slurmConf: conf,
    remoteWorkDir: path.join(env.ssh.root.workDir, 'slurm-bench'),
    nodePath: process.execPath,
    pollIntervalMs: 100,
    maxPollIntervalMs: 2000,
  });
  await ex.execute(payload(SLEEP, [1]), new BenchContext(meta('warm'), ex));

  const submit = await timed(60000, 20, async () => {
    const ctx = new BenchContext(meta('submit'), ex);
    const t0 = performance.now();
    await ex.execute(payload(SLEEP, [1]), ctx);
    return ctx.handleAt - t0;
  });
  rows.push({ name: `slurm: submission overhead per task (execute -> job id stored), median of ${submit.length}`, value: percentile(submit, 50), unit: 'ms' });

  const lat = await timed(180000, 50, async () => {
    const ctx = new BenchContext(meta('cancel'), ex);
    const done = ex.execute(payload(SLEEP, [600000]), ctx).catch(() => undefined);
    await until('slurm job id', () => ctx.handle !== undefined);
    const id = String(ctx.handle!.jobId);
    await until('job RUNNING', () => jobState(conf, id) === 'RUNNING');
    const t0 = performance.now();
    const ok = await ctx.cancel(); // resolves once scontrol reports CANCELLED
    const dt = performance.now() - t0;
    if (!ok || jobState(conf, id) !== 'CANCELLED') throw new Error(`slurm cancel of ${id} not confirmed`);
    await done;
    return dt;
  });
  rows.push({ name: `slurm: cancel latency (request -> job CANCELLED), median of ${lat.length}`, value: percentile(lat, 50), unit: 'ms' });
  rows.push({ name: `slurm: cancel latency (request -> job CANCELLED), p99 of ${lat.length}`, value: percentile(lat, 99), unit: 'ms' });

  // 200 queued tasks cancelled at once.
  const blocker = execFileSync('sbatch', ['--parsable', `--cpus-per-task=${env.slurm.cpus}`, '--output=/dev/null', '--wrap', 'sleep 900'], {
    env: { ...process.env, SLURM_CONF: conf },
    encoding: 'utf8',
  }).trim();
  try {
    const N = 200;
    const ctxs: BenchContext[] = [];
    const dones: Promise<unknown>[] = [];
    const t0 = performance.now();
    for (let i = 0; i < N; i += 10) {
      const batch: BenchContext[] = [];
      for (let j = i; j < Math.min(N, i + 10); j++) {
        const ctx = new BenchContext(meta(`many${j}`), ex);
        batch.push(ctx);
        ctxs.push(ctx);
        dones.push(ex.execute(payload(SLEEP, [600000]), ctx).catch(() => undefined));
      }
      await until('batch submitted', () => batch.every((c) => c.handle !== undefined), 120000);
    }
    rows.push({ name: `slurm: submitting ${N} tasks (10 at a time), per task`, value: Math.round(((performance.now() - t0) / N) * 10) / 10, unit: 'ms' });
    const cluster = slurmClusters().find((c) => c.key.startsWith('local|'))!;
    const before = cluster.stats.scancelCalls;
    const c0 = performance.now();
    const results = await Promise.all(ctxs.map((c) => c.cancel()));
    const all = performance.now() - c0;
    if (!results.every(Boolean)) throw new Error('not every cancel was confirmed');
    const states = new Set(ctxs.map((c) => jobState(conf, String(c.handle!.jobId))));
    if (states.size !== 1 || !states.has('CANCELLED')) throw new Error(`after the batch cancel, states are ${[...states].join(', ')}`);
    rows.push({ name: `slurm: ${N} tasks cancelled at once, scancel commands sent`, value: cluster.stats.scancelCalls - before, unit: 'calls', target: '1' });
    rows.push({ name: `slurm: ${N} tasks cancelled at once, request -> all CANCELLED`, value: Math.round(all), unit: 'ms' });
    await Promise.all(dones);
  } finally {
    execFileSync('scancel', [blocker], { env: { ...process.env, SLURM_CONF: conf } });
  }
}

/** A slurmBinDir whose commands count their invocations (one line per call in <cmd>.log). */
function countingBin(parent: string): { dir: string; count: (cmd: string) => number } {
  const dir = fs.mkdtempSync(path.join(parent, 'bench-bin-'));
  for (const cmd of ['sbatch', 'scontrol', 'scancel']) {
    fs.writeFileSync(path.join(dir, `${cmd}.log`), '');
    fs.writeFileSync(path.join(dir, cmd), `#!/bin/sh\necho "$*" >> '${dir}/${cmd}.log'\nexec /usr/bin/${cmd} "$@"\n`, { mode: 0o755 });
  }
  return { dir, count: (cmd) => fs.readFileSync(path.join(dir, `${cmd}.log`), 'utf8').split('\n').filter(Boolean).length };
}

/** A 1,000-task sweep, queued behind a job that fills the node: submitted, watched, then cancelled. */
async function sweepBench(env: Env, rows: BenchRow[]): Promise<void> {
  const conf = env.slurm.conf;
  const N = 1000;
  const blocker = execFileSync('sbatch', ['--parsable', `--cpus-per-task=${env.slurm.cpus}`, '--output=/dev/null', '--wrap', 'sleep 900'], {
    env: { ...process.env, SLURM_CONF: conf },
    encoding: 'utf8',
  }).trim();
  try {
    for (const array of [true, false]) {
      const bin = countingBin(env.dir);
      const label = array ? 'job array' : 'single jobs (array: false)';
      const ex = new SlurmExecutor({
        slurmConf: conf, slurmBinDir: bin.dir, array, nodePath: process.execPath,
        remoteWorkDir: path.join(env.ssh.root.workDir, `sweep-bench-${array ? 'array' : 'single'}`),
        pollIntervalMs: 200, maxPollIntervalMs: 1000,
      });
      const ctxs: BenchContext[] = [];
      const dones: Promise<unknown>[] = [];
      const t0 = performance.now();
      // One synchronous loop, as the dispatcher starts a fan-out.
      for (let i = 0; i < N; i++) {
        const ctx = new BenchContext({ ...meta('sweep'), dispatchId: `sweep-${array}-${process.pid}` }, ex);
        ctxs.push(ctx);
        dones.push(ex.execute(payload(SLEEP, [600000]), ctx).catch(() => undefined));
      }
      await until('every task submitted', () => ctxs.every((c) => c.handle !== undefined), 600000);
      rows.push({ name: `slurm: ${N}-task sweep as ${label}: submission, request -> every job id stored`, value: Math.round(performance.now() - t0), unit: 'ms' });
      rows.push({ name: `slurm: ${N}-task sweep as ${label}: sbatch calls`, value: bin.count('sbatch'), unit: 'calls', target: array ? '1' : undefined });
      const cluster = slurmClusters().find((c) => c.key.includes(bin.dir))!;
      const polls0 = cluster.stats.scontrolCalls;
      const calls0 = bin.count('scontrol');
      await new Promise((r) => setTimeout(r, 5000));
      const polls = cluster.stats.scontrolCalls - polls0;
      rows.push({ name: `slurm: ${N} jobs watched (${label}): scontrol calls per poll`, value: Math.round(((bin.count('scontrol') - calls0) / Math.max(1, polls)) * 100) / 100, unit: 'calls', target: '1' });
      const c0 = performance.now();
      const results = await Promise.all(ctxs.map((c) => c.cancel()));
      const all = performance.now() - c0;
      if (!results.every(Boolean)) throw new Error('not every cancel of the sweep was confirmed');
      rows.push({ name: `slurm: cancel of the ${N}-task sweep (${label}), request -> all CANCELLED`, value: Math.round(all), unit: 'ms' });
      rows.push({ name: `slurm: cancel of the ${N}-task sweep (${label}), scancel calls`, value: bin.count('scancel'), unit: 'calls', target: '1' });
      await Promise.all(dones);
    }
  } finally {
    execFileSync('scancel', [blocker], { env: { ...process.env, SLURM_CONF: conf } });
  }
}

/**
 * CPU used on the SSH host's side (sshd, its sessions, the launch shells and the task processes),
 * whatever else loads the machine: the test sshd is moved into a cgroup v1 `cpuacct` group of its own,
 * which every process it starts inherits. Undefined where that is not possible (no root, no cgroup v1).
 */
function hostCpuMeter(env: Env): { ms: () => number; close: () => void } | undefined {
  const root = '/sys/fs/cgroup/cpuacct';
  try {
    const pid = fs.readFileSync(path.join(env.dir, 'ssh', 'sshd.pid'), 'utf8').trim();
    const group = path.join(root, `ct-bench-${process.pid}`);
    fs.mkdirSync(group);
    fs.writeFileSync(path.join(group, 'tasks'), pid);
    return {
      ms: () => Number(fs.readFileSync(path.join(group, 'cpuacct.usage'), 'utf8')) / 1e6,
      close: () => {
        fs.writeFileSync(path.join(root, 'tasks'), pid);
        for (let i = 0; i < 50; i++) {
          try {
            return fs.rmdirSync(group); // busy until the group's last process has ended
          } catch {
            execFileSync('sleep', ['0.1']);
          }
        }
      },
    };
  } catch {
    return undefined;
  }
}

/** 200 trivial tasks to one host at once, over the shared connection. */
async function sshSweepBench(env: Env, rows: BenchRow[]): Promise<void> {
  await closeSSHConnections(); // a connection of its own: its channel counts are this sweep's
  const meter = hostCpuMeter(env); // before the connection opens: its sshd session joins the group
  const ex = new SSHExecutor({
    host: env.ssh.host, port: env.ssh.port, username: env.ssh.root.username, privateKeyPath: env.ssh.root.privateKeyPath,
    knownHostsFile: env.ssh.knownHostsFile, remoteWorkDir: env.ssh.root.workDir, pollIntervalMs: 100, maxPollIntervalMs: 1000,
  });
  await ex.execute(payload(SLEEP, [1]), new BenchContext(meta('warm'), ex));
  const N = 200;
  const host0 = meter?.ms() ?? 0;
  const client0 = process.cpuUsage();
  const t0 = performance.now();
  const ctxs = Array.from({ length: N }, () => new BenchContext(meta('ssh-sweep'), ex));
  await Promise.all(ctxs.map((c) => ex.execute(payload(`function one() { return 1; }`), c)));
  const s = (performance.now() - t0) / 1000;
  const client = process.cpuUsage(client0);
  rows.push({ name: `ssh: ${N} trivial tasks on one host, end to end`, value: Math.round((N / s) * 10) / 10, unit: 'tasks/s', target: '>= 50' });
  // Where the CPU goes (the host is this 2-core machine, so CPU per task bounds tasks/s).
  rows.push({ name: `ssh: ${N} trivial tasks, CPU per task in the dispatching process`, value: Math.round(((client.user + client.system) / 1000 / N) * 10) / 10, unit: 'ms' });
  if (meter) {
    await new Promise((r) => setTimeout(r, 500)); // the last tasks' processes end
    rows.push({ name: `ssh: ${N} trivial tasks, CPU per task on the host (sshd, launch shells, the task's node process)`, value: Math.round(((meter.ms() - host0) / N) * 10) / 10, unit: 'ms' });
  }
  const starts = 10;
  const r = await new SSHHost(ex.ssh).exec(`i=0; while [ $i -lt ${starts} ]; do node -e 0; i=$((i + 1)); done; times`);
  const [cu, cs] = (r.stdout.trim().split('\n')[1] ?? '').split(/\s+/).map((t) => { const m = /^(\d+)m([\d.]+)s$/.exec(t); return m ? Number(m[1]) * 60000 + Number(m[2]) * 1000 : NaN; });
  rows.push({ name: `ssh: one \`node -e 0\` start on the host, CPU (user + system, mean of ${starts})`, value: Math.round(((cu + cs) / starts) * 10) / 10, unit: 'ms' });
  const submit = ctxs.map((c) => c.handleAt - t0).sort((a, b) => a - b);
  rows.push({ name: `ssh: ${N} tasks at once, request -> last handle stored, per task`, value: Math.round((submit[submit.length - 1] / N) * 10) / 10, unit: 'ms', target: '< 30' });
  const conn = await sshPool().get(ex.ssh);
  rows.push({ name: `ssh: ${N} tasks at once, exec channels opened (warm-up task included)`, value: conn.channels.execs, unit: 'execs' });
  rows.push({ name: `ssh: ${N} tasks at once, most channels open at once (sshd MaxSessions 10)`, value: conn.channels.peak, unit: 'channels', target: '<= 10' });
  await closeSSHConnections(); // its sshd session leaves the CPU meter's group, which can then go
  meter?.close();
}

/** Run the executor benchmarks; starts and stops the daemons unless CT_EXECUTOR_SERVICES names a running set. */
export async function executorBenchmarks(): Promise<BenchRow[]> {
  const rows: BenchRow[] = [];
  await withExecutorServices(async (env) => {
    const only = process.env.CT_BENCH_EXECUTORS?.split(',');
    if (!only || only.includes('ssh')) await sshBench(env, rows);
    if (!only || only.includes('ssh-sweep')) await sshSweepBench(env, rows);
    if (!only || only.includes('slurm')) await slurmBench(env, rows);
    if (!only || only.includes('sweep')) await sweepBench(env, rows);
  });
  return rows;
}

/** Run `fn` with the test sshd and Slurm (started here unless CT_EXECUTOR_SERVICES names running ones). */
export async function withExecutorServices(fn: (env: ExecutorEnv) => Promise<void>): Promise<void> {
  const script = path.join(repoRoot(), '.ci', 'services', 'executors.sh');
  let dir: string | undefined;
  let envFile = process.env.CT_EXECUTOR_SERVICES;
  if (!envFile || !fs.existsSync(envFile)) {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ct-bench-'));
    execFileSync('bash', [script, 'start', dir], { stdio: ['ignore', 'ignore', 'inherit'] });
    envFile = path.join(dir, 'env.json');
  }
  try {
    await fn(JSON.parse(fs.readFileSync(envFile, 'utf8')) as Env);
  } finally {
    await closeSSHConnections();
    if (dir) execFileSync('bash', [script, 'stop', dir], { stdio: ['ignore', 'ignore', 'inherit'] });
  }
}

if (require.main === module) {
  executorBenchmarks().then(
    (rows) => {
      for (const r of rows) console.log(`${r.name}: ${r.value} ${r.unit}`);
      process.exit(0);
    },
    (e) => {
      console.error(e);
      process.exit(1);
    },
  );
}
