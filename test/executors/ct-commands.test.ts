/**
 * The `covalent-ts` command against real SSH tasks (real sshd on loopback):
 * `logs` of a task that ran remotely, and `cancel --identity` of a dispatch
 * orphaned by a dead process whose SSH key is encrypted and was never stored.
 */
import { spawn } from 'node:child_process';
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
    const m = `${7000 + Math.floor(Math.random() * 900)}.${Math.floor(Math.random() * 1e5)}`;
    markers.push(m);
    const o = await owner(
      home,
      `const { SSHExecutor } = require(${executorLib});
       const ex = new SSHExecutor(${sshOptions()});
       const hang = ct.electron(async function hang(mm) {
         require('child_process').spawn('sleep', [mm], { stdio: 'ignore' });
         await new Promise(() => setInterval(() => undefined, 1000));
       }, { executor: ex });
       const id = await ct.dispatch(ct.lattice((mm) => hang(mm), { name: 'orphan over ssh' }))(${JSON.stringify(m)});
       for (;;) { const r = await ct.getResult(id); if (r.nodes[0].jobHandle) break; await new Promise((res) => setTimeout(res, 50)); }
       await ct.getDispatcher().flush();
       emit(id);
       await new Promise(() => {});`,
    );
    const id = o.out[0] as string;
    await waitFor('the remote task to run', () => processesMatching(`sleep ${m}`).length > 0);
    o.proc.kill('SIGKILL');
    await o.exited;

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
});
