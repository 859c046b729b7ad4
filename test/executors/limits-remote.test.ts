/**
 * Time limits on remote executors (real sshd, real Slurm): the dispatcher
 * cancels the task through its normal cancel path, the work really stops,
 * and Slurm is told the limit itself (`--time`).
 */
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
const markers = new Set<string>();
function marker(): string {
  const m = `${8000 + Math.floor(Math.random() * 900)}.${Math.floor(Math.random() * 1e5)}`;
  markers.add(m);
  return m;
}
afterAll(() => {
  for (const m of markers) killMatching(`sleep ${m}`);
});

/** Starts `sleep MARKER` and runs until killed. */
async function hang(m: string) {
  const cp = require('child_process');
  cp.spawn('sleep', [m], { stdio: 'ignore' });
  await new Promise(() => setInterval(() => undefined, 1000));
}

function sshExecutor(): SSHExecutor {
  const s = services().ssh;
  return new SSHExecutor({
    host: s.host, port: s.port, username: s.user.username, privateKeyPath: s.user.privateKeyPath, passphrase: s.user.passphrase,
    knownHostsFile: s.knownHostsFile, remoteWorkDir: s.user.workDir, pollIntervalMs: 100, maxPollIntervalMs: 500,
  });
}
function slurmExecutor(): SlurmExecutor {
  return new SlurmExecutor({
    slurmConf: services().slurm.conf, remoteWorkDir: `${services().ssh.root.workDir}/slurm-limits`, nodePath: process.execPath,
    pollIntervalMs: 100, maxPollIntervalMs: 1000,
  });
}

describeWithDaemons('time limits on remote executors', () => {
  it.each([
    ['SSH', sshExecutor],
    ['Slurm', slurmExecutor],
  ])("cancel a %s task past its timeLimit: its processes are gone, reason 'time limit' recorded", async (label, make) => {
    const m = marker();
    const limited = ct.electron(hang, { executor: make(), timeLimit: '10s' });
    const id = await ct.dispatch(ct.lattice((mm: string) => limited(mm), { name: `limit-${label}` }))(m);
    await waitFor('the task to run', () => processesMatching(`sleep ${m}`).length > 0, 90_000);
    const res = await ct.getResult(id, { wait: 120_000 });
    expect(res.nodes[0]).toMatchObject({ status: 'CANCELLED', cancelReason: 'time limit', cancelSource: 'limit', cancelOutcome: 'killed' });
    await waitFor('the task processes to be gone', () => processesMatching(`sleep ${m}`).length === 0, 30_000);
    // What a fresh process reads: the store file once this process's pending writes are on disk.
    await ct.getDispatcher().flush();
    const stored = (await ct.getDispatcher().getStore()).readDispatch(id)!;
    expect(stored.nodes[0]).toMatchObject({ cancelReason: 'time limit', cancelSource: 'limit' });
    if (label === 'Slurm') {
      // Slurm was told the limit too (whole minutes): it would end the job even without this process.
      const job = scontrolJob(String((res.nodes[0].jobHandle as any).jobId), services().slurm.conf);
      expect(job?.TimeLimit).toBe('00:01:00');
      expect(job?.JobState).toBe('CANCELLED');
    }
  });
});
