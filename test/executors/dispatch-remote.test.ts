/**
 * End to end: workflows dispatched with ct.dispatch onto the SSH and Slurm
 * executors (real sshd, real Slurm), cancelled with ct.cancel. The checks
 * look at this machine's process table and at scontrol.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as ct from '../../src';
import { SSHExecutor, closeSSHConnections } from '../../src/executors/ssh';
import { SlurmExecutor } from '../../src/executors/slurm';
import { usePrivateHome } from '../support/wait';
import { describeWithDaemons, killMatching, processesMatching, scontrolJob, services, waitFor } from './support/services';

usePrivateHome();
afterAll(async () => {
  await ct.shutdown();
  await closeSSHConnections();
});

/** Markers of this file's task processes; any left after a failed test are killed in afterAll. */
const markers = new Set<string>();
function marker(): string {
  const m = `${7000 + Math.floor(Math.random() * 900)}.${Math.floor(Math.random() * 1e5)}`;
  markers.add(m);
  return m;
}
afterAll(() => {
  for (const m of markers) killMatching(`sleep ${m}`);
});

/** A task that starts `sleep MARKER` and runs until killed. */
async function hang(m: string, _i?: number) {
  const cp = require('child_process');
  cp.spawn('sleep', [m], { stdio: 'ignore' });
  await new Promise(() => setInterval(() => undefined, 1000));
}
function add(a: number, b: number) {
  return a + b;
}
function after(x: unknown) {
  return `after(${String(x)})`;
}

/** A Slurm executor submitting on this machine, polling often. */
function localSlurmExecutor(): SlurmExecutor {
  return new SlurmExecutor({
    slurmConf: services().slurm.conf,
    remoteWorkDir: `${services().ssh.root.workDir}/slurm-e2e`,
    nodePath: process.execPath,
    pollIntervalMs: 100,
    maxPollIntervalMs: 1000,
  });
}

function sshExecutor(): SSHExecutor {
  const s = services().ssh;
  return new SSHExecutor({
    host: s.host,
    port: s.port,
    username: s.user.username,
    privateKeyPath: s.user.privateKeyPath,
    passphrase: s.user.passphrase,
    knownHostsFile: s.knownHostsFile,
    remoteWorkDir: s.user.workDir,
    pollIntervalMs: 100,
    maxPollIntervalMs: 500,
  });
}

describeWithDaemons('dispatching to remote executors', () => {
  it('runs a workflow whose tasks run over SSH and returns the result', async () => {
    const ex = sshExecutor();
    const addRemote = ct.electron(add, { executor: ex });
    const addStored = ct.electron(add, { executor: ex.toConfig() });
    const wf = ct.lattice((a: number, b: number) => addStored(addRemote(a, b), 10));
    const id = await ct.dispatch(wf)(1, 2);
    const res = await ct.getResult(id, { wait: true });
    expect(res.status).toBe('COMPLETED');
    expect(res.result).toBe(13);
  });

  it('ct.cancel kills a task running over SSH (non-root) and cancels what depends on it', async () => {
    const m = marker();
    const remoteHang = ct.electron(hang, { executor: sshExecutor() });
    const next = ct.electron(after, { executor: 'inline' });
    const wf = ct.lattice((mm: string) => next(remoteHang(mm)));
    const id = await ct.dispatch(wf)(m);
    await waitFor('the remote task to run', () => processesMatching(`sleep ${m}`).length === 1, 60000);

    const report = await ct.cancel(id);

    expect(processesMatching(`sleep ${m}`)).toEqual([]);
    expect(report.confirmed).toBe(true);
    expect(report.tasks.map((t) => [t.nodeId, t.outcome, t.statusAfter])).toEqual([
      [0, 'killed', 'CANCELLED'],
      [1, 'aborted_before_start', 'CANCELLED'],
    ]);
    const res = await ct.getResult(id, { wait: true });
    expect(res.status).toBe('CANCELLED');
    const stored = JSON.stringify(res);
    expect(stored).not.toContain(services().ssh.user.passphrase!);
    expect(stored).not.toContain('PRIVATE KEY');
  });

  it('ct.cancel of a wide Slurm workflow sends one scancel and every job ends CANCELLED (running and queued)', async () => {
    const shimDir = fs.mkdtempSync(path.join(services().dir, 'shim-e2e-'));
    const log = path.join(shimDir, 'scancel.log');
    fs.writeFileSync(path.join(shimDir, 'scancel'), `#!/bin/sh\necho "$*" >> '${log}'\nexec /usr/bin/scancel "$@"\n`, { mode: 0o755 });
    for (const other of ['sbatch', 'scontrol']) fs.symlinkSync(`/usr/bin/${other}`, path.join(shimDir, other));
    fs.writeFileSync(log, '');
    const ex = new SlurmExecutor({
      slurmConf: services().slurm.conf,
      slurmBinDir: shimDir,
      array: false, // one job per task: the scancel names each (job arrays: slurm-sweep.test.ts)
      remoteWorkDir: `${services().ssh.root.workDir}/slurm-e2e`,
      nodePath: process.execPath,
      pollIntervalMs: 100,
      maxPollIntervalMs: 1000,
    });
    const m = marker();
    const remoteHang = ct.electron(hang, { executor: ex });
    const width = 5; // 2 CPUs: two run, three wait in the queue
    const wf = ct.lattice((mm: string) => [0, 1, 2, 3, 4].slice(0, width).map((i) => remoteHang(mm, i)));
    const id = await ct.dispatch(wf)(m);
    const jobIds = await waitFor('every task to have a Slurm job', async () => {
      const r = await ct.getResult(id);
      const ids = r.nodes.map((n: any) => (n.jobHandle ? String((typeof n.jobHandle === 'string' ? JSON.parse(n.jobHandle) : n.jobHandle).jobId) : undefined));
      return ids.length === width && ids.every(Boolean) ? (ids as string[]) : undefined;
    }, 60000);
    await waitFor('two jobs to run', () => processesMatching(`sleep ${m}`).length === 2, 60000);
    expect(jobIds.map((j) => scontrolJob(j)!.JobState).sort()).toEqual(['PENDING', 'PENDING', 'PENDING', 'RUNNING', 'RUNNING']);

    const report = await ct.cancel(id);

    expect(report.confirmed).toBe(true);
    const calls = fs.readFileSync(log, 'utf8').trim().split('\n');
    expect(calls).toHaveLength(1);
    expect(calls[0].split(' ').sort()).toEqual([...jobIds].sort());
    expect(jobIds.map((j) => scontrolJob(j)!.JobState)).toEqual(jobIds.map(() => 'CANCELLED'));
    expect(processesMatching(`sleep ${m}`)).toEqual([]);
    expect((await ct.getResult(id, { wait: true })).status).toBe('CANCELLED');
  });

  it('a Slurm job cancelled outside covalent-ts (scancel by the user) ends CANCELLED, not FAILED', async () => {
    const ex = localSlurmExecutor();
    const m = marker();
    const remoteHang = ct.electron(hang, { executor: ex });
    const next = ct.electron(after, { executor: 'inline' });
    const id = await ct.dispatch(ct.lattice((mm: string) => next(remoteHang(mm))))(m);
    const jobId = await waitFor('the Slurm job id', async () => {
      const h = (await ct.getResult(id)).nodes[0] as any;
      return h.jobHandle ? String((typeof h.jobHandle === 'string' ? JSON.parse(h.jobHandle) : h.jobHandle).jobId) : undefined;
    }, 60000);
    await waitFor('the job to run', () => processesMatching(`sleep ${m}`).length === 1, 60000);

    require('node:child_process').execFileSync('scancel', [jobId], { env: { ...process.env, SLURM_CONF: services().slurm.conf } });

    const res = await ct.getResult(id, { wait: true });
    expect(res.nodes.map((n) => n.status)).toEqual(['CANCELLED', 'CANCELLED']);
    expect(res.status).toBe('CANCELLED');
    expect(scontrolJob(jobId)!.JobState).toBe('CANCELLED');
    expect(processesMatching(`sleep ${m}`)).toEqual([]);
    // It ran, and the executor's explanation is kept: not "aborted before start", not a bare CANCELLED.
    expect(res.nodes[0]).toMatchObject({ cancelOutcome: 'killed', cancelRequested: false });
    expect(res.nodes[0].cancelDetail).toBe(`Slurm job ${jobId} was cancelled outside covalent-ts (for example with scancel) while it ran.`);
  });

  it('a Slurm job that never left the queue shows QUEUED, and cancelled it ends CANCELLED as aborted_before_start with the executor\'s detail', async () => {
    const ex = localSlurmExecutor();
    const slurm = (args: string[]) => require('node:child_process').execFileSync(args[0], args.slice(1), { env: { ...process.env, SLURM_CONF: services().slurm.conf }, encoding: 'utf8' }) as string;
    // Every CPU of the one node taken: the task's job waits in the queue.
    const blocker = slurm(['sbatch', '--parsable', '--job-name=ct-test-blocker', `--cpus-per-task=${services().slurm.cpus}`, '--output=/dev/null', '--wrap', 'sleep 600']).trim();
    try {
      await waitFor('the blocker to run', () => scontrolJob(blocker)?.JobState === 'RUNNING', 60000);
      const m = marker();
      const id = await ct.dispatch(ct.lattice((mm: string) => ct.electron(hang, { executor: ex })(mm)))(m);
      const node = await waitFor('the node to show QUEUED', async () => {
        const n = (await ct.getResult(id)).nodes[0];
        return n.status === 'QUEUED' ? n : undefined;
      }, 60000);
      const jobId = String((node.jobHandle as { jobId: string }).jobId);
      expect(scontrolJob(jobId)!.JobState).toBe('PENDING');

      const report = await ct.cancel(id);

      expect(report.confirmed).toBe(true);
      expect(report.tasks).toEqual([expect.objectContaining({
        nodeId: 0, statusBefore: 'QUEUED', statusAfter: 'CANCELLED', outcome: 'aborted_before_start', detail: 'job was PENDING; scancel; CANCELLED',
      })]);
      const res = await ct.getResult(id, { wait: true });
      expect(res.status).toBe('CANCELLED');
      expect(res.nodes[0]).toMatchObject({ status: 'CANCELLED', cancelOutcome: 'aborted_before_start', cancelDetail: 'job was PENDING; scancel; CANCELLED' });
      expect(scontrolJob(jobId)!.JobState).toBe('CANCELLED');
      expect(processesMatching(`sleep ${m}`)).toEqual([]);
    } finally {
      slurm(['scancel', blocker]);
    }
  });
});
