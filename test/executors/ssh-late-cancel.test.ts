/**
 * A late cancel never hits a reused process group. The dispatching process
 * dies while its SSH task runs; the task finishes by itself; then an
 * unrelated session leader gets the same pid (forced with the kernel's
 * ns_last_pid, as a busy host would do by chance). `covalent-ts cancel`
 * must say the task had already finished and leave that process alone.
 * Real sshd, root and a non-root login; the owner and the CLI are separate
 * Node processes using the built library.
 */
import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { processRunning, tempDir } from '../support/wait';
import { describeWithDaemons, services, waitFor, type Login } from './support/services';

const run = promisify(execFile);
const root = path.resolve(__dirname, '../..');
const lib = path.join(root, 'dist/src/index.js');
const cli = path.join(root, 'dist/src/cli/main.js');

const spawned: ChildProcess[] = [];
afterAll(() => spawned.forEach((c) => c.kill('SIGKILL')));

/** A copy of the login's key without its passphrase, so the CLI (another process) can log in unprompted. */
function unencryptedKey(login: Login): string {
  const file = path.join(tempDir('ct-key-'), 'id');
  fs.copyFileSync(login.privateKeyPath, file);
  fs.chmodSync(file, 0o600);
  if (login.passphrase) execFileSync('ssh-keygen', ['-q', '-p', '-P', login.passphrase, '-N', '', '-f', file]);
  return file;
}

/**
 * Start `sleep 600` as a session leader whose pid is exactly `pid`, as user
 * `uid`: set the kernel's last pid just below it and fork. Other processes
 * of a busy machine may fork in between and take the pid first: wait until
 * that process has ended (most are short-lived), then retry.
 */
async function sessionLeaderWithPid(pid: number, uid: number, gid: number): Promise<ChildProcess> {
  for (let attempt = 0; attempt < 200; attempt++) {
    await waitFor(`pid ${pid} to be free again`, () => !fs.existsSync(`/proc/${pid}`), 30000, 5);
    fs.writeFileSync('/proc/sys/kernel/ns_last_pid', String(pid - 1));
    const child = spawn('sleep', ['600'], { detached: true, stdio: 'ignore', uid, gid });
    spawned.push(child);
    if (child.pid === pid) return child;
    child.kill('SIGKILL');
  }
  throw new Error(`could not start a process with pid ${pid}`);
}

function ownerScript(options: Record<string, unknown>, taskMs: number): string {
  const file = path.join(tempDir('ct-owner-'), 'owner.js');
  fs.writeFileSync(
    file,
    `const ct = require(${JSON.stringify(lib)});
(async () => {
  const ex = new ct.SSHExecutor(${JSON.stringify(options)});
  const finishes = ct.electron(async function finishes(ms) { await new Promise((r) => setTimeout(r, ms)); return 'finished by itself'; }, { executor: ex });
  const id = await ct.dispatch(ct.lattice((ms) => finishes(ms)))(${taskMs});
  for (;;) {
    const node = (await ct.getResult(id)).nodes[0];
    if (node.jobHandle) { console.log(JSON.stringify({ id, handle: node.jobHandle })); break; }
    await new Promise((r) => setTimeout(r, 20));
  }
  await new Promise(() => {});
})().catch((e) => { console.error(e); process.exit(1); });
`,
  );
  return file;
}

describeWithDaemons('a late SSH cancel after the owner died', () => {
  it.each(['root', 'non-root'] as const)('as %s: reports already_finished and leaves the process that reused the pgid alone', async (who) => {
    const s = services().ssh;
    const login = who === 'root' ? s.root : s.user;
    const home = tempDir('ct-home-');
    const options = {
      host: s.host,
      port: s.port,
      username: login.username,
      privateKeyPath: unencryptedKey(login),
      knownHostsFile: s.knownHostsFile,
      // Its own directory: the finished task's directory stays (it holds the result nobody collected).
      remoteWorkDir: `${login.workDir}/late-cancel`,
      pollIntervalMs: 100,
    };
    // Given: a dispatch whose SSH task runs, and whose process is SIGKILLed.
    const owner = spawn(process.execPath, [ownerScript(options, 1500)], { env: { ...process.env, CT_HOME: home }, stdio: ['ignore', 'pipe', 'inherit'] });
    spawned.push(owner);
    let out = '';
    owner.stdout!.on('data', (d) => (out += d));
    const { id, handle } = await waitFor('the task handle', () => (out.includes('\n') ? JSON.parse(out.split('\n')[0]) : undefined), 60000, 20);
    expect(handle).toMatchObject({ username: login.username, pgid: expect.any(Number), startTime: expect.stringMatching(/^\d+$/), marker: expect.any(String) });
    owner.kill('SIGKILL');
    await waitFor('the owner to die', () => owner.exitCode !== null || owner.signalCode !== null);

    // The task finishes by itself: its exit code is written, its session is gone.
    await waitFor('the task to finish by itself', () => fs.existsSync(path.join(handle.remoteDir, 'exit_code')), 60000);
    await waitFor('the task session to be gone', () => !fs.existsSync(`/proc/${handle.pgid}`), 30000);

    // An unrelated session leader of the same user gets the same pid (= pgid).
    const uid = Number(execFileSync('id', ['-u', login.username], { encoding: 'utf8' }).trim());
    const gid = Number(execFileSync('id', ['-g', login.username], { encoding: 'utf8' }).trim());
    const bystander = await sessionLeaderWithPid(handle.pgid, uid, gid);
    expect(fs.readFileSync(`/proc/${bystander.pid}/stat`, 'utf8').split(') ')[1].split(' ')[3]).toBe(String(handle.pgid)); // its pgid

    // When: the dispatch is cancelled from a terminal.
    const { stdout } = await run(process.execPath, [cli, 'cancel', id, '--json'], { env: { ...process.env, CT_HOME: home } });

    // Then: the task is reported as having finished, and the bystander is untouched.
    const report = JSON.parse(stdout);
    expect(report.tasks).toHaveLength(1);
    expect(report.tasks[0]).toMatchObject({ nodeId: 0, outcome: 'already_finished' });
    expect(report.confirmed).toBe(true);
    await new Promise((r) => setTimeout(r, 300));
    expect(processRunning(bystander.pid!)).toBe(true);
    bystander.kill('SIGKILL');
  });
});
