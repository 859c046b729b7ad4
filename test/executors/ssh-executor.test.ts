/**
 * SSHExecutor against a real sshd on 127.0.0.1 (root and a non-root user).
 * Every check of "the work is gone" looks at this machine's process table.
 */
import * as fs from 'node:fs';
import { ErrorCodes, TaskCancelledError } from '../../src/errors';
import { createExecutor } from '../../src/executors/registry';
import { closeSSHConnections, forgetSSHCredentials, provideSSHCredentials, SSHExecutor, type SSHExecutorOptions } from '../../src/executors/ssh';
import { sshPool } from '../../src/executors/ssh/connection-pool';
import { TestContext, metadata } from './support/context';
import { sourcePayload } from './support/payloads';
import { describeWithDaemons, killMatching, processesMatching, services, waitFor, type Login } from './support/services';

const SLEEP_TASK = `async function sleeper(ms) { await new Promise((r) => setTimeout(r, ms)); return 'woke'; }`;
/** Starts a child `sleep MARKER` in the task's process group, then never returns. */
const SPAWN_TASK = `function spawner(marker) {
  const cp = require('child_process');
  cp.spawn('sleep', [marker], { stdio: 'ignore' });
  return new Promise(() => setInterval(() => {}, 1000));
}`;
const IGNORE_TERM_TASK = `function stubborn(marker) {
  process.on('SIGTERM', () => console.log('ignoring SIGTERM'));
  const cp = require('child_process');
  cp.spawn('sh', ['-c', 'trap "" TERM; sleep ' + marker], { stdio: 'ignore' });
  return new Promise(() => setInterval(() => {}, 1000));
}`;

/** The task's own processes (runner and its shell), not the executor's cleanup commands. */
function taskProcesses(dispatchId: string): string[] {
  return processesMatching(dispatchId).filter((l) => l.includes('remote-main.js'));
}

/** Markers of this file's task processes; any left after a failed test are killed in afterAll. */
const markers = new Set<string>();
function marker(): string {
  const m = `${9000 + Math.floor(Math.random() * 900)}.${Math.floor(Math.random() * 1e6)}`;
  markers.add(m);
  return m;
}
afterAll(() => {
  for (const m of markers) killMatching(`sleep ${m}`);
});

/**
 * Each test has a remote work dir of its own under the login's: other test files dispatch to the
 * login's work dir at the same time, and a job dir they leave there for a moment must not be taken
 * for one this test failed to remove.
 */
let testWorkDir = '';
let testCount = 0;
beforeEach(() => {
  testWorkDir = `ssh-executor-${process.pid}-${++testCount}`;
});
function workDirOf(login: Login): string {
  return `${login.workDir}/${testWorkDir}`;
}

function optionsFor(login: Login, extra: Partial<SSHExecutorOptions> = {}): SSHExecutorOptions {
  const s = services().ssh;
  return {
    host: s.host,
    port: s.port,
    username: login.username,
    privateKeyPath: login.privateKeyPath,
    passphrase: login.passphrase,
    knownHostsFile: s.knownHostsFile,
    remoteWorkDir: workDirOf(login),
    pollIntervalMs: 100,
    maxPollIntervalMs: 500,
    cancelGraceMs: 1500,
    ...extra,
  };
}

function jobDirs(login: Login): string[] {
  const d = `${workDirOf(login)}/jobs`;
  return fs.existsSync(d) ? fs.readdirSync(d) : [];
}

async function startAndWaitRunning(ex: SSHExecutor, source: string, args: unknown[], name = 'task') {
  const ctx = new TestContext(metadata(name), ex);
  const done = ex.execute(sourcePayload(source, args, name), ctx).then(
    (v) => ({ ok: true as const, v }),
    (e) => ({ ok: false as const, e }),
  );
  let settled: unknown;
  void done.then((r) => (settled = r));
  await waitFor('the job handle', () => {
    if (settled) throw new Error(`the task ended before it had a handle: ${JSON.stringify(settled)} ${String((settled as any).e?.stack)}`);
    return ctx.handle;
  }, 60000, 20);
  return { ctx, done };
}

afterAll(async () => {
  await closeSSHConnections();
});

describeWithDaemons('SSHExecutor', () => {
  const logins = () => [
    ['root', services().ssh.root],
    ['non-root', services().ssh.user],
  ] as const;

  describe.each(['root', 'non-root'] as const)('as %s', (who) => {
    const login = () => (who === 'root' ? services().ssh.root : services().ssh.user);

    it('runs a task remotely and returns its value, stdout and stderr, then removes the task directory', async () => {
      const ex = new SSHExecutor(optionsFor(login()));
      const ctx = new TestContext(metadata('add'), ex);
      const src = `function add(a, b) { console.log('adding', a, b); console.error('to stderr'); return { sum: a + b, when: new Date(0), user: process.env.USER || require('os').userInfo().username }; }`;
      const out = await ex.execute(sourcePayload(src, [2, 3], 'add'), ctx);
      expect(out.steps).toEqual([{ nodeId: 0, ok: true, value: { sum: 5, when: new Date(0), user: login().username } }]);
      expect(out.stdout).toBe('adding 2 3\n');
      expect(out.stderr).toBe('to stderr\n');
      expect(ctx.steps).toEqual(['serialize', 'upload', 'upload', 'provision', 'run', 'run', 'fetch']);
      expect(ctx.handle).toMatchObject({ host: '127.0.0.1', port: services().ssh.port, username: login().username, pgid: expect.any(Number) });
      expect(jobDirs(login())).toEqual([]);
    });

    it('cancels a running task: TERM kills its whole process group and the processes are gone', async () => {
      const ex = new SSHExecutor(optionsFor(login()));
      const m = marker();
      const { ctx, done } = await startAndWaitRunning(ex, SPAWN_TASK, [m], 'spawner');
      await waitFor('the child sleep to run', () => processesMatching(`sleep ${m}`).length === 1);
      expect(taskProcesses(ctx.metadata.dispatchId).length).toBeGreaterThan(0);

      expect(await ctx.requestCancel()).toBe(true);
      expect(processesMatching(`sleep ${m}`)).toEqual([]);
      expect(taskProcesses(ctx.metadata.dispatchId)).toEqual([]);
      const r = await done;
      expect(r.ok).toBe(false);
      expect((r as any).e).toBeInstanceOf(TaskCancelledError);
      expect(jobDirs(login())).toEqual([]);
    });

    it('stops a task that ignores SIGTERM with SIGKILL after the grace period', async () => {
      const ex = new SSHExecutor(optionsFor(login(), { cancelGraceMs: 1000 }));
      const m = marker();
      const { ctx, done } = await startAndWaitRunning(ex, IGNORE_TERM_TASK, [m], 'stubborn');
      await waitFor('the TERM-ignoring child', () => processesMatching(`sleep ${m}`).length >= 1);
      const t0 = Date.now();
      expect(await ctx.requestCancel()).toBe(true);
      expect(Date.now() - t0).toBeGreaterThanOrEqual(900);
      expect(processesMatching(`sleep ${m}`)).toEqual([]);
      expect(taskProcesses(ctx.metadata.dispatchId)).toEqual([]);
      expect((await done).ok).toBe(false);
    });

    it('cancels from another executor rebuilt from the stored configuration after the connection dropped', async () => {
      const ex = new SSHExecutor(optionsFor(login()));
      const m = marker();
      const { ctx, done } = await startAndWaitRunning(ex, SPAWN_TASK, [m], 'spawner');
      await waitFor('the child sleep to run', () => processesMatching(`sleep ${m}`).length === 1);

      await sshPool().dropAll(); // the network fails; the detached task runs on
      await new Promise((r) => setTimeout(r, 300));
      expect(processesMatching(`sleep ${m}`).length).toBe(1);

      const config = JSON.parse(JSON.stringify(ex.toConfig()));
      const rebuilt = createExecutor(config);
      expect(await ctx.requestCancel(rebuilt)).toBe(true);
      expect(processesMatching(`sleep ${m}`)).toEqual([]);
      expect(taskProcesses(ctx.metadata.dispatchId)).toEqual([]);
      expect((await done).ok).toBe(false);
    });
  });

  it('keeps running across a dropped connection and returns the result after reconnecting', async () => {
    const ex = new SSHExecutor(optionsFor(services().ssh.root));
    const { ctx, done } = await startAndWaitRunning(ex, SLEEP_TASK, [1500], 'sleeper');
    await sshPool().dropAll();
    const r = await done;
    expect(r.ok && r.v.steps[0]).toEqual({ nodeId: 0, ok: true, value: 'woke' });
    expect(ctx.cancelResults).toEqual([]);
  });

  it('runs 200 tasks on one host over one connection within the server session limit, launches and status checks batched', async () => {
    await closeSSHConnections(); // a connection of its own, so its channel counts are this sweep's
    const ex = new SSHExecutor(optionsFor(services().ssh.root));
    const N = 200;
    const outs = await Promise.all(
      Array.from({ length: N }, (_, i) => ex.execute(sourcePayload(`function twice(x) { return 2 * x; }`, [i], 'twice', i), new TestContext(metadata('twice', i), ex))),
    );
    expect(outs.map((o) => o.steps[0].value)).toEqual(Array.from({ length: N }, (_, i) => 2 * i));
    const conn = await sshPool().get(ex.ssh);
    // sshd runs with MaxSessions 10: exec and SFTP channels open at once on the connection never exceed it.
    expect(conn.channels.peak).toBeGreaterThan(0);
    expect(conn.channels.peak).toBeLessThanOrEqual(10);
    // One exec per task start would be N execs; launches and status checks go to one script server.
    expect(conn.channels.execs).toBeLessThan(N / 2);
    expect(conn.batchStats()).toMatchObject({ servers: 1, died: 0 });
    expect(jobDirs(services().ssh.root)).toEqual([]);
  }, 300000);

  it('resends what a killed batched exec or script server did not answer: every task starts exactly once and completes', async () => {
    await closeSSHConnections(); // a connection of its own, so its batch counts are this sweep's
    const login = services().ssh.root;
    const runs = fs.mkdtempSync(`${login.workDir}/runs-`);
    // A node path of this test's own names its script server in the process table.
    const nodePath = `${runs}/node`;
    fs.symlinkSync(process.execPath, nodePath);
    const ex = new SSHExecutor(optionsFor(login, { nodePath }));
    const N = 80;
    // Each run of a task appends its pid to a file of its own: two lines would be a second start.
    const once = `function once(dir, i) { require('fs').appendFileSync(dir + '/' + i, process.pid + '\\n'); return i; }`;
    const cmdline = (pid: string) => {
      try {
        return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
      } catch {
        return [];
      }
    };
    // The shell of a combined script launching this sweep's tasks (not its item subshells, which share
    // its command line and have it as their parent), and this test's script server.
    const isBatchShell = (pid: string) => {
      const cmd = cmdline(pid).join(' ');
      return cmd.includes(testWorkDir) && cmd.includes('nohup setsid') && cmd.includes('%s %d %d');
    };
    const isServer = (pid: string) => {
      const argv = cmdline(pid);
      return argv[0] === nodePath && argv[1] === '-e' && argv[2]?.includes('covalent-ts script server');
    };
    const parentOf = (pid: string) => fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ')[1];
    const killed = { batchShell: 0, server: 0 };
    let hunting = true;
    // While the sweep starts, SIGKILL one combined script's shell, then the script server.
    const hunt = (async () => {
      while (hunting && (killed.batchShell === 0 || killed.server === 0)) {
        for (const pid of fs.readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
          try {
            if (killed.batchShell === 0 && isBatchShell(pid) && !isBatchShell(parentOf(pid))) {
              process.kill(Number(pid), 'SIGKILL');
              killed.batchShell++;
            } else if (killed.batchShell > 0 && killed.server === 0 && isServer(pid)) {
              process.kill(Number(pid), 'SIGKILL');
              killed.server++;
            }
          } catch {
            /* gone meanwhile */
          }
        }
        await new Promise((r) => setTimeout(r, 2));
      }
    })();
    const outs = await Promise.all(
      Array.from({ length: N }, (_, i) => ex.execute(sourcePayload(once, [runs, i], 'once', i), new TestContext(metadata('once', i), ex))),
    );
    hunting = false;
    await hunt;
    expect(killed).toEqual({ batchShell: 1, server: 1 });
    expect(outs.map((o) => o.steps[0].value)).toEqual(Array.from({ length: N }, (_, i) => i));
    for (let i = 0; i < N; i++) expect(fs.readFileSync(`${runs}/${i}`, 'utf8').trim().split('\n')).toHaveLength(1);
    const stats = (await sshPool().get(ex.ssh)).batchStats();
    expect(stats.died).toBeGreaterThan(0);
    expect(stats.resent).toBeGreaterThan(0);
    expect(stats.servers).toBeGreaterThanOrEqual(2); // started again after it was killed
    expect(jobDirs(login)).toEqual([]);
    fs.rmSync(runs, { recursive: true });
  }, 300000);

  it('a task outlives its connection\'s script server: killed while tasks run, they run on, one finishes and one is cancelled', async () => {
    await closeSSHConnections();
    const login = services().ssh.root;
    const dir = fs.mkdtempSync(`${login.workDir}/server-`);
    const nodePath = `${dir}/node`; // names this test's script server in the process table
    fs.symlinkSync(process.execPath, nodePath);
    const ex = new SSHExecutor(optionsFor(login, { nodePath }));
    const m = marker();
    const sleeper = await startAndWaitRunning(ex, SLEEP_TASK, [3000], 'sleeper');
    const spawner = await startAndWaitRunning(ex, SPAWN_TASK, [m], 'spawner');
    await waitFor('the child sleep to run', () => processesMatching(`sleep ${m}`).length === 1);
    const servers = () =>
      fs.readdirSync('/proc').filter((pid) => {
        try {
          const argv = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
          return argv[0] === nodePath && argv[1] === '-e';
        } catch {
          return false;
        }
      });
    expect(servers()).toHaveLength(1);
    process.kill(Number(servers()[0]), 'SIGKILL');
    await waitFor('the script server to be gone', () => servers().length === 0);
    await new Promise((r) => setTimeout(r, 300));
    expect(processesMatching(`sleep ${m}`)).toHaveLength(1); // the tasks run on

    const r = await sleeper.done;
    expect(r.ok && r.v.steps[0]).toEqual({ nodeId: 0, ok: true, value: 'woke' });
    expect(await spawner.ctx.requestCancel()).toBe(true);
    expect(processesMatching(`sleep ${m}`)).toEqual([]);
    expect(taskProcesses(spawner.ctx.metadata.dispatchId)).toEqual([]);
    expect((await spawner.done).ok).toBe(false);
    expect((await sshPool().get(ex.ssh)).batchStats().servers).toBe(2); // started again for the later scripts
    fs.rmSync(dir, { recursive: true });
  });

  it('gives tasks ct.taskContext() on the remote host', async () => {
    const ex = new SSHExecutor(optionsFor(services().ssh.user));
    const meta = metadata('ctx', 7);
    const ctx = new TestContext(meta, ex);
    const src = `function ctx() { const c = ct.taskContext(); return [c.dispatchId, c.nodeId, c.name, c.signal.aborted]; }`;
    const out = await ex.execute(sourcePayload(src, [], 'ctx', 7), ctx);
    expect(out.steps[0]).toEqual({ nodeId: 7, ok: true, value: [meta.dispatchId, 7, 'ctx', false] });
  });

  it('reports a task that throws as a failed step, not as an executor error', async () => {
    const ex = new SSHExecutor(optionsFor(services().ssh.root));
    const out = await ex.execute(sourcePayload(`function boom() { throw new RangeError('bad input'); }`, [], 'boom'), new TestContext(metadata('boom'), ex));
    expect(out.steps[0]).toMatchObject({ ok: false, error: { name: 'RangeError', message: 'bad input' } });
  });

  it('fails with a clear error when the remote node path is wrong', async () => {
    const ex = new SSHExecutor(optionsFor(services().ssh.root, { nodePath: '/nonexistent/node' }));
    await expect(ex.execute(sourcePayload(SLEEP_TASK, [1]), new TestContext(metadata(), ex))).rejects.toMatchObject({
      code: ErrorCodes.EXECUTOR_FAILED,
      message: expect.stringContaining('/nonexistent/node'),
    });
  });

  describe('cancel at every step', () => {
    it.each(['serialize', 'upload', 'provision', 'run'])('a cancel seen at the "%s" check starts nothing remotely', async (step) => {
      const login = services().ssh.root;
      const ex = new SSHExecutor(optionsFor(login));
      const ctx = new TestContext(metadata(`at-${step}`), ex, {
        onStep: (s, c) => {
          if (s === step) c.markCancelRequested();
        },
      });
      await expect(ex.execute(sourcePayload(SLEEP_TASK, [60000], 'sleeper'), ctx)).rejects.toBeInstanceOf(TaskCancelledError);
      expect(ctx.handle).toBeUndefined();
      expect(taskProcesses(ctx.metadata.dispatchId)).toEqual([]);
      expect(jobDirs(login).filter((d) => d.startsWith(ctx.metadata.dispatchId))).toEqual([]);
    });

    it('a cancel between upload and submission (after the upload finished) stops before starting', async () => {
      const login = services().ssh.root;
      const ex = new SSHExecutor(optionsFor(login));
      let uploads = 0;
      const ctx = new TestContext(metadata('between'), ex, {
        onStep: (s, c) => {
          // The second "upload" check comes after the runner is in place; the
          // "provision" check comes after the payload is uploaded.
          if (s === 'upload' && ++uploads === 2) return;
          if (s === 'provision') c.markCancelRequested();
        },
      });
      await expect(ex.execute(sourcePayload(SLEEP_TASK, [60000], 'sleeper'), ctx)).rejects.toBeInstanceOf(TaskCancelledError);
      expect(ctx.handle).toBeUndefined();
      expect(taskProcesses(ctx.metadata.dispatchId)).toEqual([]);
      expect(jobDirs(login).filter((d) => d.startsWith(ctx.metadata.dispatchId))).toEqual([]);
    });

    it('a cancel racing the stored handle still kills the just-started task', async () => {
      const ex = new SSHExecutor(optionsFor(services().ssh.user));
      const m = marker();
      const ctx = new TestContext(metadata('race'), ex, {
        beforeHandleStored: async (_h, c) => {
          await waitFor('the child sleep to run', () => processesMatching(`sleep ${m}`).length === 1);
          c.markCancelRequested(); // arrives before the handle is in the store
        },
      });
      await expect(ex.execute(sourcePayload(SPAWN_TASK, [m], 'spawner'), ctx)).rejects.toBeInstanceOf(TaskCancelledError);
      expect(ctx.cancelResults).toEqual([true]);
      expect(processesMatching(`sleep ${m}`)).toEqual([]);
      expect(taskProcesses(ctx.metadata.dispatchId)).toEqual([]);
    });

    it('a failure to store the handle leaves nothing running: cleanup stops the started task', async () => {
      const ex = new SSHExecutor(optionsFor(services().ssh.root));
      const m = marker();
      const ctx = new TestContext(metadata('store-fails'), ex, {
        beforeHandleStored: async () => {
          await waitFor('the child sleep to run', () => processesMatching(`sleep ${m}`).length === 1);
          throw new Error('disk full');
        },
      });
      await expect(ex.execute(sourcePayload(SPAWN_TASK, [m], 'spawner'), ctx)).rejects.toThrow('disk full');
      expect(processesMatching(`sleep ${m}`)).toEqual([]);
      expect(taskProcesses(ctx.metadata.dispatchId)).toEqual([]);
      expect(jobDirs(services().ssh.root).filter((d) => d.startsWith(ctx.metadata.dispatchId))).toEqual([]);
    });

    it('cancelling twice, or after the task ended, is safe and answers true', async () => {
      const ex = new SSHExecutor(optionsFor(services().ssh.root));
      const ctx = new TestContext(metadata('twice'), ex);
      await ex.execute(sourcePayload(SLEEP_TASK, [10], 'sleeper'), ctx);
      expect(await ex.cancel(ctx.metadata, ctx.handle!)).toBe(true);
      expect(await ex.cancel(ctx.metadata, ctx.handle!)).toBe(true);
    });
  });

  describe('hostile input stays data', () => {
    it('task names, dispatch ids, env values and paths with quotes, ;, $() and newlines run without side effects', async () => {
      const login = services().ssh.root;
      const canary = `${services().dir}/pwned-${Date.now()}`;
      const evil = `x'; touch ${canary}; echo '$(touch ${canary})\`touch ${canary}\`\n"; touch ${canary}; #`;
      const workDir = `${login.workDir}/we'ird $(touch ${canary}) dir`;
      const ex = new SSHExecutor(optionsFor(login, { remoteWorkDir: workDir, env: { CT_EVIL: evil } }));
      const meta = { dispatchId: `d-${evil}`, nodeId: 3, nodeIds: [3], name: evil };
      const ctx = new TestContext(meta, ex);
      const out = await ex.execute(sourcePayload(`function echo(x) { return [x, process.env.CT_EVIL]; }`, [evil], evil, 3), ctx);
      expect(out.steps[0]).toEqual({ nodeId: 3, ok: true, value: [evil, evil] });
      expect(fs.existsSync(canary)).toBe(false);
      expect(fs.readdirSync(`${workDir}/jobs`)).toEqual([]);

      // and a cancel of such a task
      const m = marker();
      const ctx2 = new TestContext({ ...meta, dispatchId: `e-${evil}` }, ex);
      const done = ex.execute(sourcePayload(SPAWN_TASK, [m], evil, 3), ctx2).catch((e) => e);
      await waitFor('the handle', () => ctx2.handle);
      await waitFor('the child sleep to run', () => processesMatching(`sleep ${m}`).length === 1);
      expect(await ctx2.requestCancel()).toBe(true);
      expect(processesMatching(`sleep ${m}`)).toEqual([]);
      expect(await done).toBeInstanceOf(TaskCancelledError);
      expect(fs.existsSync(canary)).toBe(false);
    });

    it('rejects option values that cannot be passed safely', () => {
      const o = optionsFor(services().ssh.root);
      expect(() => new SSHExecutor({ ...o, env: { 'A;B': 'x' } })).toThrow(/not a valid variable name/);
      expect(() => new SSHExecutor({ ...o, host: '-oProxyCommand=touch /tmp/x' })).toThrow(/not a host name/);
      expect(() => new SSHExecutor({ ...o, nodePath: 'node\nrm -rf /' })).toThrow(/single-line/);
    });
  });

  describe('host key verification', () => {
    it('accepts the pinned fingerprint of the real host key', async () => {
      const fp = require('node:child_process').execFileSync('ssh-keygen', ['-lf', services().ssh.hostPublicKeyFile], { encoding: 'utf8' }).split(' ')[1];
      const ex = new SSHExecutor(optionsFor(services().ssh.root, { knownHostsFile: undefined, hostKeyFingerprint: fp, reuseConnection: false }));
      const out = await ex.execute(sourcePayload(`function one() { return 1; }`), new TestContext(metadata(), ex));
      expect(out.steps[0]).toMatchObject({ ok: true, value: 1 });
    });

    it('refuses a server whose key differs from the pinned fingerprint, with a clear error', async () => {
      const wrong = 'SHA256:' + 'A'.repeat(43);
      const ex = new SSHExecutor(optionsFor(services().ssh.root, { knownHostsFile: undefined, hostKeyFingerprint: wrong, reuseConnection: false }));
      const ctx = new TestContext(metadata(), ex);
      await expect(ex.execute(sourcePayload(`function one() { return 1; }`), ctx)).rejects.toMatchObject({
        code: ErrorCodes.HOST_KEY_MISMATCH,
        message: expect.stringMatching(/Host key mismatch.*pinned fingerprint is SHA256:A{43}/),
      });
      expect(ctx.handle).toBeUndefined();
    });

    it('refuses a server whose key differs from known_hosts', async () => {
      const s = services().ssh;
      const other = `${s.knownHostsFile}.other`;
      const keyFile = `${services().dir}/other-host-key`;
      require('node:child_process').execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', keyFile]);
      fs.writeFileSync(other, `[127.0.0.1]:${s.port} ${fs.readFileSync(`${keyFile}.pub`, 'utf8').split(' ').slice(0, 2).join(' ')}\n`);
      const ex = new SSHExecutor(optionsFor(s.root, { knownHostsFile: other, reuseConnection: false }));
      await expect(ex.execute(sourcePayload(`function one() { return 1; }`), new TestContext(metadata(), ex))).rejects.toMatchObject({
        code: ErrorCodes.HOST_KEY_MISMATCH,
      });
    });

    it('refuses a host that is not in known_hosts and says how to add it', async () => {
      const s = services().ssh;
      const empty = `${services().dir}/empty_known_hosts`;
      fs.writeFileSync(empty, '# nothing\n');
      const ex = new SSHExecutor(optionsFor(s.root, { knownHostsFile: empty, reuseConnection: false }));
      await expect(ex.execute(sourcePayload(`function one() { return 1; }`), new TestContext(metadata(), ex))).rejects.toMatchObject({
        code: ErrorCodes.HOST_KEY_UNKNOWN,
        message: expect.stringContaining('ssh-keyscan'),
      });
    });

    it('matches hashed known_hosts entries', async () => {
      const s = services().ssh;
      const hashed = `${services().dir}/hashed_known_hosts`;
      fs.copyFileSync(s.knownHostsFile, hashed);
      require('node:child_process').execFileSync('ssh-keygen', ['-H', '-f', hashed], { stdio: 'ignore' });
      expect(fs.readFileSync(hashed, 'utf8')).toMatch(/^\|1\|/);
      const ex = new SSHExecutor(optionsFor(s.root, { knownHostsFile: hashed, reuseConnection: false }));
      const out = await ex.execute(sourcePayload(`function one() { return 1; }`), new TestContext(metadata(), ex));
      expect(out.steps[0]).toMatchObject({ ok: true, value: 1 });
    });
  });

  describe('secrets', () => {
    it('stores no key contents or passphrase, and a rebuilt executor asks for them clearly', async () => {
      const s = services().ssh;
      const keyText = fs.readFileSync(s.user.privateKeyPath, 'utf8');
      const ex = new SSHExecutor({ ...optionsFor(s.user), privateKeyPath: undefined, privateKey: keyText, passphrase: s.user.passphrase });
      const stored = JSON.stringify(ex.toConfig());
      expect(stored).not.toContain(s.user.passphrase!);
      expect(stored).not.toContain('PRIVATE KEY');
      expect(stored).not.toContain(keyText.split('\n')[1]);

      const m = marker();
      const { ctx, done } = await startAndWaitRunning(ex, SPAWN_TASK, [m], 'spawner');
      // Another process: the in-memory credentials are not there.
      forgetSSHCredentials({ host: s.host, port: s.port, username: s.user.username });
      await closeSSHConnections(); // as in a new process: no pooled connection either
      const rebuilt = createExecutor(JSON.parse(stored));
      await expect(rebuilt.cancel(ctx.metadata, ctx.handle!)).rejects.toMatchObject({
        code: ErrorCodes.CREDENTIALS_REQUIRED,
        message: expect.stringContaining('provideSSHCredentials'),
      });
      provideSSHCredentials({ host: s.host, port: s.port, username: s.user.username }, { privateKey: keyText, passphrase: s.user.passphrase });
      expect(await ctx.requestCancel(rebuilt)).toBe(true);
      expect(processesMatching(`sleep ${m}`)).toEqual([]);
      await done;
    });

    it('a key file with a passphrase needs the passphrase again in another process', async () => {
      const s = services().ssh;
      const ex = new SSHExecutor(optionsFor(s.user));
      const stored = JSON.parse(JSON.stringify(ex.toConfig()));
      expect(stored.options.privateKeyPath).toBe(s.user.privateKeyPath);
      expect(JSON.stringify(stored)).not.toContain(s.user.passphrase!);
      forgetSSHCredentials({ host: s.host, port: s.port, username: s.user.username });
      await closeSSHConnections();
      const rebuilt = createExecutor(stored);
      await expect(rebuilt.cancel(metadata(), { host: s.host, port: s.port, username: s.user.username, pgid: 99999, startTime: '1', bootId: fs.readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim(), marker: 'ab'.repeat(8), remoteDir: '/nonexistent' })).rejects.toMatchObject({
        code: ErrorCodes.CREDENTIALS_REQUIRED,
        message: expect.stringMatching(/encrypted/),
      });
    });
  });

  it('lists no secret in notebook-visible logs', async () => {
    const s = services().ssh;
    const ex = new SSHExecutor(optionsFor(s.user));
    const ctx = new TestContext(metadata(), ex);
    await ex.execute(sourcePayload(`function one() { console.log('hello'); return 1; }`), ctx);
    expect(JSON.stringify(ctx.logs)).not.toContain(s.user.passphrase!);
    expect(ctx.logs).toEqual([{ stream: 'stdout', text: 'hello\n' }]);
  });

  void logins;
});
