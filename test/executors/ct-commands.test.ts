/**
 * The `covalent-ts` command against real SSH tasks (real sshd on loopback):
 * `logs` of a task that ran remotely, and `cancel --identity` of a dispatch
 * orphaned by a dead process whose SSH key is encrypted and was never stored.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as lib from '../../src';
import { tempDir } from '../support/wait';
import { ct, cli, owner, root } from '../cli/support/cli';
import { describeWithDaemons, killMatching, processesMatching, services, waitFor } from './support/services';

const markers: string[] = [];
afterAll(() => markers.forEach((m) => killMatching(`sleep ${m}`)));

/** The owner's executor options (as JS source): the key's passphrase is given in memory, never stored. */
function sshOptions(): string {
  const s = services().ssh;
  return JSON.stringify({
    host: s.host, port: s.port, username: s.user.username, privateKeyPath: s.user.privateKeyPath, passphrase: s.user.passphrase,
    knownHostsFile: s.knownHostsFile, remoteWorkDir: s.user.workDir, pollIntervalMs: 100, maxPollIntervalMs: 500,
  });
}
const executorLib = JSON.stringify(`${root}/dist/src/executors/ssh/index.js`);

/** A dispatch whose task runs `sleep MARKER` over SSH, orphaned: its owner was SIGKILLed. */
async function orphanedSSHDispatch(home: string): Promise<{ id: string; m: string }> {
  const m = `${7000 + Math.floor(Math.random() * 900)}.${Math.floor(Math.random() * 1e5)}`;
  markers.push(m);
  const o = await owner(
    home,
    `const { SSHExecutor } = require(${executorLib});
     const hang = ct.electron(async function hang(mm) {
       require('child_process').spawn('sleep', [mm], { stdio: 'ignore' });
       await new Promise(() => setInterval(() => undefined, 1000));
     }, { executor: new SSHExecutor(${sshOptions()}) });
     const id = await ct.dispatch(ct.lattice((mm) => hang(mm), { name: 'orphan over ssh' }))(${JSON.stringify(m)});
     for (;;) { const r = await ct.getResult(id); if (r.nodes[0].jobHandle) break; await new Promise((res) => setTimeout(res, 50)); }
     await ct.getDispatcher().flush();
     emit(id);
     await new Promise(() => {});`,
  );
  await waitFor('the remote task to run', () => processesMatching(`sleep ${m}`).length > 0);
  o.proc.kill('SIGKILL');
  await o.exited;
  return { id: o.out[0] as string, m };
}

describeWithDaemons('covalent-ts with SSH tasks', () => {
  it('logs: prints what a task printed on the remote host', async () => {
    const home = tempDir('ct-home-');
    const o = await owner(
      home,
      `const { SSHExecutor } = require(${executorLib});
       const ex = new SSHExecutor(${sshOptions()});
       const remote = ct.electron(function remote(x) { console.log('hello from ' + require('os').userInfo().username); console.error('err ' + x); return x; }, { executor: ex });
       const id = await ct.dispatch(ct.lattice(() => remote(7), { name: 'remote logs' }))();
       const r = await ct.getResult(id, { wait: true });
       await ct.shutdown();
       emit([id, r.status]);`,
    );
    await o.exited;
    const [id, status] = o.out[0] as [string, string];
    expect(status).toBe('COMPLETED');
    const r = ct(home, ['logs', id, '--task', '0']);
    expect(r.status).toBe(0);
    expect(r.stdout).toBe(`hello from ${services().ssh.user.username}\n`);
    expect(r.stderr).toBe('err 7\n');
  });

  it('cancel of an orphan with an encrypted key: refused without a terminal, done with --identity and the passphrase typed at a prompt', async () => {
    const home = tempDir('ct-home-');
    const { id, m } = await orphanedSSHDispatch(home);

    const refused = ct(home, ['cancel', id]);
    expect(refused.status).toBe(2);
    expect(refused.stderr).toMatch(/--identity FILE.*ssh-agent.*terminal.*Nothing was cancelled.*\[CT_CREDENTIALS_REQUIRED\]/);
    expect(processesMatching(`sleep ${m}`).length).toBeGreaterThan(0);
    expect(JSON.parse(ct(home, ['status', id, '--json']).stdout).nodes[0].status).toBe('RUNNING');

    // In a terminal: the passphrase is typed at a hidden prompt, never on the command line.
    const command = [process.execPath, cli, 'cancel', id, '--identity', services().ssh.user.privateKeyPath, '--json'].map((a) => `'${a}'`).join(' ');
    const term = spawn('script', ['-qefc', command, '/dev/null'], { env: { ...process.env, CT_HOME: home, TERM: 'xterm', NO_COLOR: '1' }, stdio: ['pipe', 'pipe', 'inherit'] });
    let stdout = '';
    term.stdout.on('data', (d) => {
      stdout += d;
      // Typed once asked, as a person would: echo is off by then.
      if (/Passphrase for/.test(stdout) && !term.stdin.writableEnded) term.stdin.end(`${services().ssh.user.passphrase}\n`);
    });
    const status = await new Promise<number | null>((r) => term.on('exit', r));
    const done = { status, stdout };
    expect(done.status).toBe(0);
    expect(done.stdout).toMatch(/Passphrase for .*id_user/);
    expect(done.stdout).not.toContain(services().ssh.user.passphrase);
    const report = JSON.parse(done.stdout.slice(done.stdout.indexOf('{')));
    expect(report.tasks[0]).toMatchObject({ nodeId: 0, outcome: 'killed', statusAfter: 'CANCELLED' });
    await waitFor('the remote task to be gone', () => processesMatching(`sleep ${m}`).length === 0);
  });
  it('cancel --abandon of an orphan whose kill cannot be confirmed: ends CANCELLED, recorded as kill_unconfirmed and abandoned, exit 3', async () => {
    const home = tempDir('ct-home-');
    const { id, m } = await orphanedSSHDispatch(home);

    // No key, no terminal: the kill cannot be made, and the user gives up on it explicitly.
    const r = ct(home, ['cancel', id, '--abandon', '--json']);
    expect(r.status).toBe(3);
    const task = JSON.parse(r.stdout).tasks[0];
    expect(task).toMatchObject({ nodeId: 0, outcome: 'kill_unconfirmed', statusAfter: 'CANCELLED' });
    expect(task.detail).toMatch(/abandoned by .+@.+ \(covalent-ts cancel --abandon\) at .*: the job may still be running/);
    const view = JSON.parse(ct(home, ['status', id, '--json']).stdout);
    expect(view.dispatch.status).toBe('CANCELLED');
    expect(view.nodes[0]).toMatchObject({ status: 'CANCELLED', cancelOutcome: 'kill_unconfirmed' });
    // Honest: nothing claims the remote process was stopped, and it was not.
    expect(processesMatching(`sleep ${m}`).length).toBeGreaterThan(0);
  });

  it('an orphan cancel whose kill cannot be confirmed leaves the node CANCELLING (kill_unconfirmed) and the dispatch running; a retry with ct.provideSSHCredentials kills it, reports killed, and the dispatch ends CANCELLED (rule 7)', async () => {
    const home = tempDir('ct-home-');
    const { id, m } = await orphanedSSHDispatch(home);
    const s = services().ssh;
    // This process has neither the key's passphrase nor an agent: the executor rebuilt from the store cannot log in.
    lib.forgetSSHCredentials({ host: s.host, port: s.port, username: s.user.username });
    const d = new lib.Dispatcher({ home });
    try {
      const first = await d.cancel(id);

      expect(first.confirmed).toBe(false);
      expect(first.tasks).toEqual([expect.objectContaining({ nodeId: 0, outcome: 'kill_unconfirmed', statusBefore: 'RUNNING', statusAfter: 'CANCELLING' })]);
      expect(first.tasks[0].detail).toMatch(/provideSSHCredentials/);
      // Never claimed stopped: it still runs, the node says so, and the dispatch cannot have ended.
      expect(processesMatching(`sleep ${m}`).length).toBeGreaterThan(0);
      const between = JSON.parse(ct(home, ['status', id, '--json']).stdout);
      expect(between.nodes[0]).toMatchObject({ status: 'CANCELLING', cancelOutcome: 'kill_unconfirmed' });
      expect(between.dispatch.status).toBe('RUNNING');

      lib.provideSSHCredentials({ host: s.host, port: s.port, username: s.user.username }, { privateKey: fs.readFileSync(s.user.privateKeyPath, 'utf8'), passphrase: s.user.passphrase });
      const retry = await d.cancel(id);

      expect(retry.confirmed).toBe(true);
      expect(retry.tasks).toEqual([expect.objectContaining({ nodeId: 0, outcome: 'killed', statusBefore: 'CANCELLING', statusAfter: 'CANCELLED' })]);
      await waitFor('the remote task to be gone', () => processesMatching(`sleep ${m}`).length === 0);
      const after = JSON.parse(ct(home, ['status', id, '--json']).stdout);
      expect(after.nodes[0]).toMatchObject({ status: 'CANCELLED', cancelOutcome: 'killed' });
      // Rule 7: every node is terminal, so the dispatch is too, for every reader.
      expect(after.dispatch.status).toBe('CANCELLED');
      expect((await d.getResult(id)).status).toBe('CANCELLED');
      // And the passphrase given in memory reached no record.
      expect(JSON.stringify(after)).not.toContain(s.user.passphrase!);
    } finally {
      lib.forgetSSHCredentials({ host: s.host, port: s.port, username: s.user.username });
      await d.close();
    }
  });
});
