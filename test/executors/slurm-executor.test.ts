/**
 * SlurmExecutor against a real single-node Slurm cluster (munge, slurmctld,
 * slurmd) started for this run, submitting on this machine and through sshd.
 * "Gone" is checked with `scontrol` and this machine's process table.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ErrorCodes, TaskCancelledError } from '../../src/errors';
import { createExecutor } from '../../src/executors/registry';
import { SlurmExecutor, type SlurmExecutorOptions } from '../../src/executors/slurm';
import { slurmClusters } from '../../src/executors/slurm/slurm-cluster';
import { closeSSHConnections } from '../../src/executors/ssh';
import { TestContext, metadata } from './support/context';
import { sourcePayload } from './support/payloads';

/** What cancel() says of a job Slurm had started: confirmed, with what it did and saw. */
const KILLED_WHILE_RUNNING = { confirmed: true, started: true, detail: expect.stringMatching(/^job was [A-Z]+; scancel; CANCELLED$/) };
import { describeWithDaemons, killMatching, processesMatching, scontrolJob, services, sh, slurmEnv, waitFor, type Login } from './support/services';

/** Starts `sleep MARKER` in the job and another one that escapes with setsid, then never returns. */
const SPAWN_TASK = `function spawner(marker) {
  const cp = require('child_process');
  cp.spawn('sleep', [marker], { stdio: 'ignore' });
  cp.spawn('setsid', ['sleep', marker + '1'], { stdio: 'ignore', detached: true });
  return new Promise(() => setInterval(() => {}, 1000));
}`;
const IGNORE_TERM_TASK = `function stubborn(marker) {
  process.on('SIGTERM', () => console.log('ignoring SIGTERM'));
  require('child_process').spawn('sh', ['-c', 'trap "" TERM; sleep ' + marker], { stdio: 'ignore' });
  return new Promise(() => setInterval(() => {}, 1000));
}`;

/** Markers of this file's task processes; any left after a failed test are killed in afterAll. */
const markers = new Set<string>();
function marker(): string {
  const m = `${8000 + Math.floor(Math.random() * 900)}.${Math.floor(Math.random() * 1e5)}`;
  markers.add(m);
  return m;
}
afterAll(() => {
  for (const m of markers) killMatching(`sleep ${m}`);
});

function localOptions(extra: Partial<SlurmExecutorOptions> = {}): SlurmExecutorOptions {
  return {
    slurmConf: services().slurm.conf,
    remoteWorkDir: `${services().ssh.root.workDir}/slurm`,
    nodePath: process.execPath,
    pollIntervalMs: 100,
    maxPollIntervalMs: 1000,
    cancelTimeoutMs: 60000,
    ...extra,
  };
}

function sshOptions(login: Login, extra: Partial<SlurmExecutorOptions> = {}): SlurmExecutorOptions {
  const s = services().ssh;
  return localOptions({
    ssh: { host: s.host, port: s.port, username: login.username, privateKeyPath: login.privateKeyPath, passphrase: login.passphrase, knownHostsFile: s.knownHostsFile },
    remoteWorkDir: `${login.workDir}/slurm`,
    ...extra,
  });
}

function state(jobId: string): string | undefined {
  return scontrolJob(jobId)?.JobState;
}

async function startAndWaitForHandle(ex: SlurmExecutor, source: string, args: unknown[], name = 'task') {
  const ctx = new TestContext(metadata(name), ex);
  const done = ex.execute(sourcePayload(source, args, name), ctx).then(
    (v) => ({ ok: true as const, v }),
    (e) => ({ ok: false as const, e }),
  );
  let settled: unknown;
  void done.then((r) => (settled = r));
  await waitFor('the job id', () => {
    if (settled) throw new Error(`the task ended before it had a job id: ${String((settled as any).e?.stack ?? JSON.stringify(settled))}`);
    return ctx.handle;
  });
  return { ctx, done, jobId: String(ctx.handle!.jobId) };
}

/** Occupy every CPU of the node so that the next job stays PENDING. */
function fillNode(): string {
  const id = sh(`sbatch --parsable --job-name=ct-test-blocker --cpus-per-task=${services().slurm.cpus} --output=/dev/null --wrap 'sleep 600'`, slurmEnv()).trim();
  return id;
}

afterAll(async () => {
  await closeSSHConnections();
});

describeWithDaemons('SlurmExecutor', () => {
  const variants: [string, () => SlurmExecutorOptions][] = [
    ['locally', () => localOptions()],
    ['through SSH as a non-root user', () => sshOptions(services().ssh.user)],
  ];

  describe.each(variants)('submitting %s', (_label, opts) => {
    it('runs a task as a batch job with the requested resources and returns its result and output', async () => {
      const ex = new SlurmExecutor({
        ...opts(),
        partition: services().slurm.partition,
        timeLimit: 5,
        cpus: 1,
        memory: '100M',
        sbatchLines: ['--comment=ct-test-comment', '#SBATCH --nice=5'],
        setupLines: ['export FROM_SETUP="set up"'],
        env: { CT_GREETING: 'hello there' },
      });
      const ctx = new TestContext(metadata('mul'), ex);
      const src = `function mul(a, b) { console.log('multiplying'); return { product: a * b, setup: process.env.FROM_SETUP, greeting: process.env.CT_GREETING, job: process.env.SLURM_JOB_ID, user: require('os').userInfo().username }; }`;
      const out = await ex.execute(sourcePayload(src, [6, 7], 'mul'), ctx);
      const jobId = String(ctx.handle!.jobId);
      const username = opts().ssh?.username ?? 'root';
      expect(out.steps[0]).toEqual({ nodeId: 0, ok: true, value: { product: 42, setup: 'set up', greeting: 'hello there', job: jobId, user: username } });
      expect(out.stdout).toBe('multiplying\n');
      const rec = scontrolJob(jobId)!;
      expect(rec).toMatchObject({ JobState: 'COMPLETED', Partition: 'debug', TimeLimit: '00:05:00', Comment: 'ct-test-comment', Nice: '5' });
      expect(rec.UserId).toMatch(new RegExp(`^${username}\\(`));
      expect(rec.MinMemoryNode ?? rec.MinMemoryCPU).toBe('100M');
      expect(fs.readdirSync(`${opts().remoteWorkDir}/jobs`)).toEqual([]);
    });

    it('cancels a running job: scancel, the job ends CANCELLED and its processes (even a setsid escapee) are gone', async () => {
      const ex = new SlurmExecutor(opts());
      const m = marker();
      const { ctx, done, jobId } = await startAndWaitForHandle(ex, SPAWN_TASK, [m], 'spawner');
      await waitFor('the job to run', () => state(jobId) === 'RUNNING');
      await waitFor('the task processes', () => processesMatching(`sleep ${m}`).length === 2);

      expect(await ctx.requestCancel()).toEqual(KILLED_WHILE_RUNNING);
      expect(state(jobId)).toBe('CANCELLED');
      if (services().slurm.proctrack === 'proctrack/cgroup') {
        await waitFor('the setsid escapee to be killed too', () => processesMatching(`sleep ${m}`).length === 0, 10000);
      } else {
        expect(processesMatching(`sleep ${m}`).filter((l) => !l.includes(`${m}1`))).toEqual([]);
      }
      const r = await done;
      expect(r.ok).toBe(false);
      expect((r as any).e).toBeInstanceOf(TaskCancelledError);
      expect(fs.readdirSync(`${opts().remoteWorkDir}/jobs`)).toEqual([]);
    });

    it('cancels a job that is still queued (PENDING)', async () => {
      const blocker = fillNode();
      try {
        await waitFor('the blocker to run', () => state(blocker) === 'RUNNING');
        const ex = new SlurmExecutor(opts());
        const { ctx, done, jobId } = await startAndWaitForHandle(ex, `function never() { return 'ran'; }`, [], 'queued');
        await waitFor('the job to be PENDING', () => state(jobId) === 'PENDING');
        // Never started: the verdict says so (the node's outcome becomes aborted_before_start), with what was done.
        expect(await ctx.requestCancel()).toEqual({ confirmed: true, started: false, detail: 'job was PENDING; scancel; CANCELLED' });
        expect(state(jobId)).toBe('CANCELLED');
        expect(scontrolJob(jobId)!.RunTime).toBe('00:00:00');
        const r = await done;
        expect((r as any).e).toBeInstanceOf(TaskCancelledError);
      } finally {
        sh(`scancel ${blocker}`, slurmEnv());
        await waitFor('the blocker to end', () => state(blocker) !== 'RUNNING' && state(blocker) !== 'COMPLETING');
      }
    });
  });

  describe.each([0, 1])('on every process tracking plugin (cluster %i)', (k) => {
    const cluster = () => services().slurmClusters[k];
    it('a cancelled task whose grandchild ignores SIGTERM leaves no process behind', async () => {
      const ex = new SlurmExecutor(localOptions({ slurmConf: cluster().conf, cancelGraceMs: 1000 }));
      const m = marker();
      const { ctx, done, jobId } = await startAndWaitForHandle(ex, IGNORE_TERM_TASK, [m], `stubborn-${cluster().proctrack}`);
      await waitFor('the TERM-ignoring grandchild', () => processesMatching(`sleep ${m}`).length >= 1, 60000);
      expect(await ctx.requestCancel()).toEqual(KILLED_WHILE_RUNNING);
      expect(scontrolJob(jobId, cluster().conf)!.JobState).toBe('CANCELLED');
      // Slurm says CANCELLED: then nothing of the task runs, whatever the plugin (checked in /proc, twice).
      expect(processesMatching(`sleep ${m}`)).toEqual([]);
      await new Promise((r) => setTimeout(r, 1500));
      expect(processesMatching(`sleep ${m}`)).toEqual([]);
      expect((await done).ok).toBe(false);
    });
  });

  it('stops a job that ignores SIGTERM (Slurm KILLs after KillWait)', async () => {
    const ex = new SlurmExecutor(localOptions());
    const m = marker();
    const { ctx, done, jobId } = await startAndWaitForHandle(ex, IGNORE_TERM_TASK, [m], 'stubborn');
    await waitFor('the TERM-ignoring child', () => processesMatching(`sleep ${m}`).length >= 1);
    expect(await ctx.requestCancel()).toEqual(KILLED_WHILE_RUNNING);
    expect(state(jobId)).toBe('CANCELLED');
    await waitFor('the stubborn processes to be gone', () => processesMatching(`sleep ${m}`).length === 0, 20000);
    expect((await done).ok).toBe(false);
  });

  it('reports a job cancelled outside covalent-ts (scancel by the user) as CANCELLED, not FAILED', async () => {
    const ex = new SlurmExecutor(localOptions());
    const { ctx, done, jobId } = await startAndWaitForHandle(ex, `async function slow() { await new Promise((r) => setTimeout(r, 600000)); }`, [], 'slow');
    await waitFor('the job to run', () => state(jobId) === 'RUNNING');
    sh(`scancel ${jobId}`, slurmEnv());
    const r = await done;
    expect(r.ok).toBe(false);
    const e = (r as any).e;
    expect(e).toBeInstanceOf(TaskCancelledError);
    expect(e.code).toBe(ErrorCodes.TASK_CANCELLED);
    expect(e.details).toMatchObject({ jobId, external: true });
    expect(e.message).toContain('outside covalent-ts');
    expect(ctx.isCancelRequested()).toBe(false);
  });

  describe.each(variants)('cancelling many tasks at once %s', (label, opts) => {
    it('sends one scancel for all their job ids and waits until all are CANCELLED', async () => {
      const shimDir = fs.mkdtempSync(path.join(services().dir, 'shim-'));
      const log = path.join(shimDir, 'scancel.log');
      fs.writeFileSync(path.join(shimDir, 'scancel'), `#!/bin/sh\necho "$*" >> '${log}'\nexec /usr/bin/scancel "$@"\n`, { mode: 0o755 });
      for (const other of ['sbatch', 'scontrol']) fs.symlinkSync(`/usr/bin/${other}`, path.join(shimDir, other));
      fs.writeFileSync(log, '');
      fs.chmodSync(log, 0o666);
      fs.chmodSync(shimDir, 0o755);
      // The shim records every scancel invocation, locally or over SSH.
      const ex = new SlurmExecutor({ ...opts(), slurmBinDir: shimDir, pollIntervalMs: 150 });
      const blocker = fillNode();
      try {
        const jobs = [];
        for (let i = 0; i < 6; i++) jobs.push(await startAndWaitForHandle(ex, `function never() { return 'ran'; }`, [], `many${i}`));
        const ids = jobs.map((j) => j.jobId);
        await waitFor('all jobs queued', () => ids.every((id) => state(id) === 'PENDING'));
        // The executor says so too: each node would show QUEUED.
        await waitFor('every job reported QUEUED', () => jobs.every((j) => j.ctx.statuses[0] === 'QUEUED'));
        // The dispatcher cancels every task in the same tick.
        const results = await Promise.all(jobs.map((j) => j.ctx.requestCancel()));
        // Never started: the verdict says so, and why (the outcome becomes aborted_before_start).
        expect(results).toEqual(ids.map(() => ({ confirmed: true, started: false, detail: 'job was PENDING; scancel; CANCELLED' })));
        expect(jobs.map((j) => j.ctx.statuses.includes('RUNNING'))).toEqual(ids.map(() => false));
        const calls = fs.readFileSync(log, 'utf8').trim().split('\n');
        expect(calls).toHaveLength(1);
        expect(calls[0].split(' ').sort()).toEqual([...ids].sort());
        expect(ids.map(state)).toEqual(ids.map(() => 'CANCELLED'));
        for (const j of jobs) expect((await j.done).ok).toBe(false);
      } finally {
        sh(`scancel ${blocker}`, slurmEnv());
        await waitFor('the blocker to end', () => state(blocker) !== 'RUNNING' && state(blocker) !== 'COMPLETING');
      }
      void label;
    });
  });

  describe('cancel at every step', () => {
    it.each(['serialize', 'upload', 'provision', 'run'])('a cancel seen at the "%s" check submits nothing', async (step) => {
      const ex = new SlurmExecutor(localOptions());
      const name = `step-${step}-${Date.now()}`;
      const ctx = new TestContext(metadata(name), ex, {
        onStep: (s, c) => {
          if (s === step) c.markCancelRequested();
        },
      });
      await expect(ex.execute(sourcePayload(`function f() { return 1; }`, [], name), ctx)).rejects.toBeInstanceOf(TaskCancelledError);
      expect(ctx.handle).toBeUndefined();
      expect(sh(`scontrol show job -o | grep -c -- ${name} || true`, slurmEnv()).trim()).toBe('0');
      expect(fs.readdirSync(`${localOptions().remoteWorkDir}/jobs`).filter((d) => d.startsWith(ctx.metadata.dispatchId))).toEqual([]);
    });

    it('a cancel racing the stored job id cancels the just-submitted job', async () => {
      const ex = new SlurmExecutor(localOptions());
      const ctx = new TestContext(metadata('race'), ex, {
        beforeHandleStored: (_h, c) => c.markCancelRequested(),
      });
      await expect(ex.execute(sourcePayload(`async function slow() { await new Promise((r) => setTimeout(r, 600000)); }`, [], 'race'), ctx)).rejects.toBeInstanceOf(TaskCancelledError);
      expect(ctx.cancelResults).toEqual([expect.objectContaining({ confirmed: true, detail: expect.stringMatching(/scancel; CANCELLED$/) })]);
      expect(state(String(ctx.handle!.jobId))).toBe('CANCELLED');
    });

    it('a failure to store the job id leaves no job behind: cleanup cancels it', async () => {
      const ex = new SlurmExecutor(localOptions());
      let jobId = '';
      const ctx = new TestContext(metadata('store-fails'), ex, {
        beforeHandleStored: (h) => {
          jobId = String(h.jobId);
          throw new Error('disk full');
        },
      });
      await expect(ex.execute(sourcePayload(`async function slow() { await new Promise((r) => setTimeout(r, 600000)); }`, [], 'store-fails'), ctx)).rejects.toThrow('disk full');
      expect(state(jobId)).toBe('CANCELLED');
    });

    it('cancelling twice, or after the job completed, is safe and says the job had already finished', async () => {
      const ex = new SlurmExecutor(localOptions());
      const ctx = new TestContext(metadata('twice'), ex);
      await ex.execute(sourcePayload(`function f() { return 1; }`), ctx);
      expect(await ex.cancel(ctx.metadata, ctx.handle!)).toBe('already_finished');
      expect(await ex.cancel(ctx.metadata, ctx.handle!)).toBe('already_finished');
      expect(state(String(ctx.handle!.jobId))).toBe('COMPLETED');
    });
  });

  it('cancels from an executor rebuilt from the stored configuration (another process), over SSH', async () => {
    const ex = new SlurmExecutor(sshOptions(services().ssh.root));
    const config = JSON.parse(JSON.stringify(ex.toConfig()));
    expect(JSON.stringify(config)).not.toMatch(/PRIVATE KEY/);
    const { ctx, done, jobId } = await startAndWaitForHandle(ex, `async function slow() { await new Promise((r) => setTimeout(r, 600000)); }`, [], 'slow');
    await waitFor('the job to run', () => state(jobId) === 'RUNNING');
    await closeSSHConnections();
    expect(await ctx.requestCancel(createExecutor(config))).toEqual(KILLED_WHILE_RUNNING);
    expect(state(jobId)).toBe('CANCELLED');
    expect((await done).ok).toBe(false);
  });

  it('keeps hostile task names, dispatch ids, paths and env values as data', async () => {
    const canary = `${services().dir}/pwned-slurm-${Date.now()}`;
    const evil = `x'; touch ${canary}; echo '$(touch ${canary})\`touch ${canary}\`\n"; touch ${canary}; #`;
    const workDir = `${services().ssh.user.workDir}/sl'urm $(touch ${canary}) dir`;
    for (const options of [localOptions({ remoteWorkDir: workDir.replace(services().ssh.user.workDir, services().ssh.root.workDir) }), sshOptions(services().ssh.user, { remoteWorkDir: workDir })]) {
      const ex = new SlurmExecutor({ ...options, env: { CT_EVIL: evil } });
      const meta = { dispatchId: `d-${evil}`, nodeId: 4, nodeIds: [4], name: evil };
      const out = await ex.execute(sourcePayload(`function echo(x) { return [x, process.env.CT_EVIL]; }`, [evil], evil, 4), new TestContext(meta, ex));
      expect(out.steps[0]).toEqual({ nodeId: 4, ok: true, value: [evil, evil] });
      expect(fs.existsSync(canary)).toBe(false);
    }
  });

  it('rejects options that cannot be passed to sbatch safely', () => {
    expect(() => new SlurmExecutor({ partition: 'debug; rm -rf /' })).toThrow(/"partition"/);
    expect(() => new SlurmExecutor({ timeLimit: '1:00; echo' })).toThrow(/"timeLimit"/);
    expect(() => new SlurmExecutor({ memory: '1G$(id)' })).toThrow(/"memory"/);
    expect(() => new SlurmExecutor({ sbatchLines: ['--x=1\n#SBATCH --y'] })).toThrow(/single-line/);
    expect(() => new SlurmExecutor({ sbatchLines: ['echo hi'] })).toThrow(/sbatch options/);
    expect(() => new SlurmExecutor({ env: { 'X Y': '1' } })).toThrow(/not a valid variable name/);
  });

  it('polls with one scontrol call per round for all watched jobs, backing off while nothing changes', async () => {
    const ex = new SlurmExecutor(localOptions({ pollIntervalMs: 50, maxPollIntervalMs: 2000 }));
    const cluster = slurmClusters().find((c) => c.key.includes('|50|2000'));
    const before = cluster?.stats.scontrolCalls ?? 0;
    const t0 = Date.now();
    const ctxs = [0, 1, 2].map((i) => new TestContext(metadata(`poll${i}`), ex));
    await Promise.all(ctxs.map((c, i) => ex.execute(sourcePayload(`async function wait() { await new Promise((r) => setTimeout(r, 6000)); return 1; }`, [], `poll${i}`), c)));
    const elapsed = Date.now() - t0;
    const calls = slurmClusters().find((c) => c.key.includes('|50|2000'))!.stats.scontrolCalls - before;
    // Without backoff and sharing, 3 jobs polled every 50 ms would need > 3 * elapsed / 50 calls.
    expect(calls).toBeLessThan(elapsed / 50 / 2);
    expect(calls).toBeGreaterThan(2);
  });
});
