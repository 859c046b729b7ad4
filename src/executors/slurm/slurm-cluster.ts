/**
 * One Slurm cluster as reached from this process (locally, or through one SSH
 * login), shared by every SlurmExecutor that targets it:
 *
 * - a watcher that polls `scontrol show job -o` for all watched jobs at once,
 *   with an interval that backs off while nothing changes;
 * - a cancel batcher: cancels arriving within a few ms become one
 *   `scancel id1 id2 ...`, so cancelling many tasks sends one command.
 */
import * as path from 'node:path';
import { ErrorCodes, ExecutorError } from '../../errors';
import { Backoff, sleepUnlessAborted } from '../remote/backoff';
import { LocalHost } from '../remote/local-host';
import type { ExecResult, RemoteHost } from '../remote/remote-host';
import { shArgv, shq } from '../remote/shell-quote';
import { SSHHost } from '../ssh/ssh-host';
import { loginKey } from '../ssh/ssh-options';
import { isSlurmJobId, isTerminalSlurmState, parseScontrolJobs, parseSlurmConfig, type SlurmConfigInfo, type SlurmJobInfo } from './scontrol';
import type { ResolvedSlurmOptions } from './slurm-options';

/** Cancels that arrive within this window share one scancel. */
const CANCEL_BATCH_WINDOW_MS = 5;

/** A watched job's end: its last record, or `gone` when Slurm no longer knows it. */
export type JobEnd = { kind: 'terminal'; info: SlurmJobInfo } | { kind: 'gone' } | { kind: 'unreachable'; error: unknown };

/** How long polls may keep failing (slurmctld or the login node unreachable) before waits give up. */
const UNREACHABLE_AFTER_MS = 10 * 60 * 1000;

interface Watch {
  resolve: (end: JobEnd) => void;
  missing: number;
  state?: string;
  /** A cancel waits on this job: poll at the shortest interval until it ends. */
  urgent: boolean;
  /** Told each new state the job is seen in before it ends (PENDING, RUNNING, ...). */
  onState?: (state: string) => void;
}

export interface ClusterStats {
  scancelCalls: number;
  scancelJobIds: number;
  scontrolCalls: number;
}

export class SlurmCluster {
  readonly host: RemoteHost;
  readonly key: string;
  readonly stats: ClusterStats = { scancelCalls: 0, scancelJobIds: 0, scontrolCalls: 0 };
  private readonly watches = new Map<string, Watch[]>();
  private polling = false;
  private readonly backoff: Backoff;
  private wake = new AbortController();
  private pendingCancel: { ids: Set<string>; done: Promise<ExecResult> } | undefined;

  constructor(private readonly o: ResolvedSlurmOptions) {
    this.host = o.ssh ? new SSHHost(o.ssh) : new LocalHost();
    this.key = clusterKey(o);
    this.backoff = new Backoff(o.pollIntervalMs, o.maxPollIntervalMs);
  }

  describe(): string {
    return this.o.ssh ? `Slurm via ${loginKey(this.o.ssh)}` : 'Slurm (local)';
  }

  /** A Slurm client command by name, honouring `slurmBinDir`. */
  bin(name: 'sbatch' | 'scontrol' | 'scancel'): string {
    return this.o.slurmBinDir ? path.posix.join(this.o.slurmBinDir, name) : name;
  }

  private configInfo: Promise<SlurmConfigInfo> | undefined;
  /** The cluster's limits (`scontrol show config`), read once. */
  config(): Promise<SlurmConfigInfo> {
    this.configInfo ??= this.exec(`${shq(this.bin('scontrol'))} show config`, 60000).then((r) => {
      if (r.code !== 0) throw new ExecutorError(ErrorCodes.EXECUTOR_FAILED, `scontrol show config failed on ${this.describe()}: ${r.stderr.trim()}`);
      return parseSlurmConfig(r.stdout);
    });
    this.configInfo.catch(() => (this.configInfo = undefined));
    return this.configInfo;
  }

  /** Arrays submitted from this process, by array job id, and the elements already cancelled: a cancel of every element names the array. */
  private readonly arrays = new Map<string, ArrayRecord>();
  registerArray(arrayJobId: string, count: number): void {
    this.arrays.set(arrayJobId, { count, cancelled: new Set() });
  }

  /** Run a script with SLURM_CONF set when configured. */
  exec(script: string, timeoutMs = 120000): Promise<ExecResult> {
    const prefix = this.o.slurmConf ? `SLURM_CONF=${shq(this.o.slurmConf)}; export SLURM_CONF\n` : '';
    return this.host.exec(prefix + script, { timeoutMs });
  }

  /** Resolve when the job is terminal (or unknown to Slurm); `onState` hears of each state seen before. */
  waitForEnd(jobId: string, options: { urgent?: boolean; onState?: (state: string) => void } = {}): Promise<JobEnd> {
    return new Promise<JobEnd>((resolve) => {
      const list = this.watches.get(jobId) ?? [];
      list.push({ resolve, missing: 0, urgent: options.urgent ?? false, onState: options.onState, state: list[0]?.state });
      this.watches.set(jobId, list);
      this.nudge();
      if (!this.polling) void this.pollLoop();
    });
  }

  /** Poll soon and with short intervals again (something is expected to change). */
  nudge(): void {
    this.backoff.reset();
    this.wake.abort();
  }

  private async pollLoop(): Promise<void> {
    this.polling = true;
    let failingSince: number | undefined;
    try {
      while (this.watches.size > 0) {
        this.wake = new AbortController();
        let changed = false;
        try {
          changed = await this.pollOnce();
          failingSince = undefined;
        } catch (e) {
          // Transient (connection, slurmctld busy): keep the watches and retry, for a while.
          failingSince ??= Date.now();
          if (Date.now() - failingSince > UNREACHABLE_AFTER_MS) {
            for (const id of [...this.watches.keys()]) this.settle(id, { kind: 'unreachable', error: e });
            break;
          }
        }
        if (changed) this.backoff.reset();
        if (this.watches.size === 0) break;
        const urgent = [...this.watches.values()].some((list) => list.some((w) => w.urgent));
        await sleepUnlessAborted(urgent ? this.o.pollIntervalMs : this.backoff.next(), this.wake.signal);
      }
    } finally {
      this.polling = false;
    }
  }

  /** One `scontrol show job -o` for every watched job (and array element), whatever their number; returns whether anything changed. */
  private async pollOnce(): Promise<boolean> {
    const ids = [...this.watches.keys()];
    this.stats.scontrolCalls++;
    const r = await this.exec(`${shq(this.bin('scontrol'))} show job -o`, 60000);
    const text = r.stdout + '\n' + r.stderr;
    if (r.code !== 0 || /slurm_load_jobs error|Unable to contact|Connection refused|Socket timed out/i.test(text)) {
      throw new ExecutorError(ErrorCodes.EXECUTOR_FAILED, `scontrol could not list the jobs on ${this.describe()}: ${text.trim()}`);
    }
    const jobs = parseScontrolJobs(r.stdout);
    let changed = false;
    for (const id of ids) {
      const list = this.watches.get(id)!;
      const info = jobs.get(id);
      if (info && isTerminalSlurmState(info.state)) {
        this.settle(id, { kind: 'terminal', info });
        changed = true;
      } else if (!info) {
        // Absent from a successful answer: the record expired (or never existed).
        if (++list[0].missing >= 2) {
          this.settle(id, { kind: 'gone' });
          changed = true;
        }
      } else {
        for (const w of list) {
          if (w.state === info.state) continue;
          w.state = info.state;
          w.onState?.(info.state);
          changed = true;
        }
      }
    }
    return changed;
  }

  private settle(id: string, end: JobEnd): void {
    const list = this.watches.get(id) ?? [];
    this.watches.delete(id);
    for (const w of list) w.resolve(end);
  }

  /** The state a watched job was last seen in (undefined: not watched, or not polled yet). */
  lastState(jobId: string): string | undefined {
    return this.watches.get(jobId)?.[0]?.state;
  }

  /**
   * Ask Slurm to cancel a job. Calls within a few milliseconds of each other
   * (e.g. a dispatcher cancelling many tasks in the same tick) are sent as
   * one `scancel`.
   */
  requestCancel(jobId: string): Promise<ExecResult> {
    if (!isSlurmJobId(jobId)) throw new TypeError(`Not a Slurm job id: ${jobId}`);
    if (!this.pendingCancel) {
      const ids = new Set<string>();
      const done = new Promise<ExecResult>((resolve, reject) => {
        setTimeout(() => {
          this.pendingCancel = undefined;
          this.stats.scancelCalls++;
          this.stats.scancelJobIds += ids.size;
          this.exec(shArgv([this.bin('scancel'), ...scancelArgs(ids, this.arrays)]), 60000).then(resolve, reject);
        }, CANCEL_BATCH_WINDOW_MS);
      });
      this.pendingCancel = { ids, done };
    }
    this.pendingCancel.ids.add(jobId);
    return this.pendingCancel.done;
  }
}

/**
 * scancel's arguments for these ids: plain jobs as they are, the elements
 * of one array as `A_[0-4,7]`, and an array whose every element is
 * cancelled as its id `A` alone.
 */
export interface ArrayRecord {
  count: number;
  cancelled: Set<number>;
}

export function scancelArgs(ids: Iterable<string>, arrays: ReadonlyMap<string, ArrayRecord> = new Map()): string[] {
  const plain: string[] = [];
  const elements = new Map<string, number[]>();
  for (const id of ids) {
    const [a, i] = id.split('_');
    if (i === undefined) plain.push(a);
    else (elements.get(a) ?? elements.set(a, []).get(a)!).push(Number(i));
  }
  const out = [...plain];
  for (const [a, list] of elements) {
    const idx = [...new Set(list)].sort((x, y) => x - y);
    const known = arrays.get(a);
    if (known) {
      for (const i of idx) if (i < known.count) known.cancelled.add(i);
      if (known.cancelled.size === known.count) {
        out.push(a); // every element: the array itself
        continue;
      }
    }
    const ranges: string[] = [];
    for (let k = 0; k < idx.length; ) {
      let e = k;
      while (e + 1 < idx.length && idx[e + 1] === idx[e] + 1) e++;
      ranges.push(e === k ? String(idx[k]) : `${idx[k]}-${idx[e]}`);
      k = e + 1;
    }
    out.push(`${a}_[${ranges.join(',')}]`);
  }
  return out;
}

export function clusterKey(o: ResolvedSlurmOptions): string {
  return `${o.ssh ? `ssh:${loginKey(o.ssh)}` : 'local'}|${o.slurmConf ?? ''}|${o.slurmBinDir ?? ''}|${o.pollIntervalMs}|${o.maxPollIntervalMs}`;
}

const CLUSTERS_KEY = Symbol.for('covalent-ts.slurmClusters');
/** The process-wide cluster object for these options. */
export function slurmCluster(o: ResolvedSlurmOptions): SlurmCluster {
  const g = globalThis as any;
  const map: Map<string, SlurmCluster> = (g[CLUSTERS_KEY] ??= new Map());
  const key = clusterKey(o);
  let c = map.get(key);
  if (!c) {
    c = new SlurmCluster(o);
    map.set(key, c);
  }
  return c;
}

/** Test and benchmark helper: scancel counts of every cluster object in this process. */
export function slurmClusters(): SlurmCluster[] {
  const g = globalThis as any;
  return [...((g[CLUSTERS_KEY] as Map<string, SlurmCluster>) ?? new Map()).values()];
}
