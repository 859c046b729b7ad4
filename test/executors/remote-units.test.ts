/**
 * The pure pieces of the remote executors: quoting, known_hosts matching,
 * scontrol parsing, batch script rendering and option validation. Quoting is
 * checked by running the quoted text through a real /bin/sh.
 */
import { execFileSync, spawn } from 'node:child_process';
import { createHmac, generateKeyPairSync, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ErrorCodes } from '../../src/errors';
import { exportLines, shArgv, shq } from '../../src/executors/remote/shell-quote';
import { renderJobScript, sbatchCommand, slurmJobName } from '../../src/executors/slurm/sbatch-script';
import { isTerminalSlurmState, parseScontrolJobs, parseSlurmConfig } from '../../src/executors/slurm/scontrol';
import { scancelArgs } from '../../src/executors/slurm/slurm-cluster';
import { resolveSlurmOptions } from '../../src/executors/slurm/slurm-options';
import { fingerprintOf, hostKeyPolicy, knownKeysFor } from '../../src/executors/ssh/host-key';
import { killScript, launchScript, statusScript, TASK_MARKER_VAR, type TaskIdentity } from '../../src/executors/ssh/remote-process';
import { publicSSHOptions, resolveSSHOptions } from '../../src/executors/ssh/ssh-options';
import { combinedScript, ExecBatcher, splitCombined } from '../../src/executors/ssh/exec-batcher';
import { createExecutor } from '../../src/executors/registry';
import { Executor } from '../../src/executors/executor';
import { publicConfig } from '../../src/executors/secrets';
import '../../src/executors/ssh';
import '../../src/executors/slurm';

const HOSTILE = [`it's`, `a"b`, '; touch /tmp/ct-pwned-unit', '$(touch /tmp/ct-pwned-unit)', '`id`', 'line1\nline2', ' lead and trail ', '', '*', '~root', '-n', '\\', '$HOME'];

describe('shell quoting', () => {
  it.each(HOSTILE.map((s) => [JSON.stringify(s), s]))('%s survives /bin/sh as exactly one word', (_label, s) => {
    const out = execFileSync('/bin/sh', ['-c', `printf '%s\\0' ${shq(s)}`]);
    expect(out.toString('utf8')).toBe(`${s}\0`);
  });

  it('keeps every argv element separate', () => {
    const out = execFileSync('/bin/sh', ['-c', `printf '[%s]' ${shArgv(HOSTILE)}`]).toString('utf8');
    expect(out).toBe(HOSTILE.map((s) => `[${s}]`).join(''));
  });

  it('exports environment values verbatim and refuses bad names', () => {
    const out = execFileSync('/bin/sh', ['-c', `${exportLines({ A: HOSTILE.join('|') }).join('\n')}\nprintf '%s' "$A"`]).toString('utf8');
    expect(out).toBe(HOSTILE.join('|'));
    expect(() => exportLines({ 'A;B': 'x' })).toThrow();
  });

  it('refuses NUL bytes, which no shell word can hold', () => {
    expect(() => shq('a\0b')).toThrow();
  });
});

describe('remote process scripts', () => {
  const bootId = fs.readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
  const idOf = (pgid: number, startTime = '', marker = randomBytes(16).toString('hex')): TaskIdentity => ({ pgid, startTime, bootId, marker });
  const run = (script: string) => execFileSync('/bin/sh', ['-c', script]).toString().trim();
  const startTimeOf = (pid: number) => {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  };
  /** A session leader of its own (`sleep`), optionally carrying a task marker in its environment. */
  const sessionLeader = (env: NodeJS.ProcessEnv = {}) => {
    const child = spawn('sleep', ['600'], { detached: true, stdio: 'ignore', env: { ...process.env, ...env } });
    children.push(child);
    return child.pid!;
  };
  const children: ReturnType<typeof spawn>[] = [];
  afterAll(() => children.forEach((c) => c.kill('SIGKILL')));
  const alive = (pid: number) => {
    try {
      return !/^\S+ \(.*\) Z/.test(fs.readFileSync(`/proc/${pid}/stat`, 'utf8'));
    } catch {
      return false;
    }
  };

  it('quote the task directory and accept only integer process group ids and well-formed identities', () => {
    const dir = `/tmp/x'; touch /tmp/ct-pwned-unit; '`;
    for (const script of [statusScript({ taskDir: dir, identity: idOf(1234) }), killScript({ taskDir: dir, identity: idOf(1234), graceMs: 100, timeoutMs: 1000 })]) {
      expect(run(script)).toBe('GONE');
    }
    expect(fs.existsSync('/tmp/ct-pwned-unit')).toBe(false);
    execFileSync('/bin/sh', ['-n', '-c', launchScript({ taskDir: dir, runnerDir: '/r', nodePath: 'node', marker: 'ab'.repeat(8), env: { X: `'"` } })]);
    expect(() => statusScript({ taskDir: '/t', identity: idOf(1) })).toThrow();
    expect(() => killScript({ taskDir: '/t', identity: idOf(12.5), graceMs: 0, timeoutMs: 1 })).toThrow();
    expect(() => statusScript({ taskDir: '/t', identity: idOf(Number('1; reboot')) })).toThrow();
    expect(() => statusScript({ taskDir: '/t', identity: { ...idOf(1234), marker: `x'; reboot` } })).toThrow();
    expect(() => statusScript({ taskDir: '/t', identity: { ...idOf(1234), startTime: '1; reboot' } })).toThrow();
    expect(() => launchScript({ taskDir: '/t', runnerDir: '/r', nodePath: 'node', marker: '$(reboot)' })).toThrow();
  });

  it('launch the task as a session leader that records its own identity, and never start it twice', async () => {
    // A "runner" the launch line runs with /bin/sh as its node: it notes each run, then waits.
    const work = fs.mkdtempSync(path.join(os.tmpdir(), 'ct-launch-'));
    const runnerDir = path.join(work, 'runner');
    const taskDir = path.join(work, 'jobs', `d-0-${randomBytes(5).toString('hex')}`);
    fs.mkdirSync(runnerDir);
    fs.mkdirSync(taskDir, { recursive: true });
    fs.writeFileSync(path.join(runnerDir, 'remote-main.js'), `echo "$$" >> "$1/runs"; sleep 600\n`);
    const marker = randomBytes(16).toString('hex');
    const script = launchScript({ taskDir, runnerDir, nodePath: '/bin/sh', marker });
    const first = run(script);
    const [pgid, startTime, boot] = first.split(' ');
    try {
      const raw = fs.readFileSync(`/proc/${pgid}/stat`, 'utf8');
      const stat = raw.slice(raw.lastIndexOf(')') + 2).split(' '); // state ppid pgrp session ...
      expect(stat[2]).toBe(pgid); // its own process group
      expect(stat[3]).toBe(pgid); // and session
      expect(startTime).toBe(startTimeOf(Number(pgid)));
      expect(boot).toBe(bootId);
      expect(fs.readFileSync(`/proc/${pgid}/environ`, 'utf8').split('\0')).toContain(`${TASK_MARKER_VAR}=${marker}`);
      expect(fs.readFileSync(path.join(taskDir, 'pgid'), 'utf8').trim()).toBe(first);
      // Sent again (its answer was lost): the same identity, and no second run.
      expect(run(script)).toBe(first);
      // Claimed by an earlier start whose leader has not written its identity yet: wait for it.
      fs.renameSync(path.join(taskDir, 'pgid'), path.join(work, 'pgid'));
      const late = spawn('/bin/sh', ['-c', `sleep 0.3; mv ${shq(path.join(work, 'pgid'))} ${shq(path.join(taskDir, 'pgid'))}`]);
      expect(run(script)).toBe(first);
      await new Promise((r) => late.once('exit', r));
      execFileSync('sleep', ['0.3']);
      expect(fs.readFileSync(path.join(taskDir, 'runs'), 'utf8').trim().split('\n')).toHaveLength(1);
    } finally {
      run(killScript({ taskDir, identity: { pgid: Number(pgid), startTime, bootId, marker }, graceMs: 0, timeoutMs: 2000 }));
      fs.rmSync(work, { recursive: true });
    }
  });

  it('status of a directory with no task and no process is GONE, and kill of a foreign group does nothing', () => {
    expect(run(statusScript({ taskDir: '/nonexistent/ct', identity: idOf(999999) }))).toBe('GONE');
    // This process's session is not the task's: the kill script must not touch it.
    expect(run(killScript({ taskDir: '/nonexistent/ct', identity: idOf(process.pid), graceMs: 0, timeoutMs: 100 }))).toBe('GONE');
  });

  it('act on a session whose leader has the recorded start time, and kill it', () => {
    const pid = sessionLeader();
    const identity = idOf(pid, startTimeOf(pid));
    expect(run(statusScript({ taskDir: '/nonexistent/ct', identity }))).toBe('RUNNING');
    expect(run(killScript({ taskDir: '/nonexistent/ct', identity, graceMs: 1000, timeoutMs: 5000 }))).toBe('GONE');
    expect(alive(pid)).toBe(false);
  });

  it('never signal a reused pgid: another start time, or another boot, means another session', () => {
    const pid = sessionLeader();
    const later = String(Number(startTimeOf(pid)) - 1);
    for (const identity of [idOf(pid, later), { ...idOf(pid, startTimeOf(pid)), bootId: '00000000-0000-0000-0000-000000000000' }]) {
      expect(run(statusScript({ taskDir: '/nonexistent/ct', identity }))).toBe('GONE');
      expect(run(killScript({ taskDir: '/nonexistent/ct', identity, graceMs: 0, timeoutMs: 500 }))).toBe('GONE');
      expect(alive(pid)).toBe(true);
    }
  });

  it('find the task processes by their marker once the leader is gone', () => {
    const marker = randomBytes(16).toString('hex');
    const pid = sessionLeader({ [TASK_MARKER_VAR]: marker });
    const bystander = sessionLeader({ [TASK_MARKER_VAR]: randomBytes(16).toString('hex') });
    const identity = idOf(4_000_000, '1', marker); // the leader (a pid that cannot exist) is gone
    expect(run(statusScript({ taskDir: '/nonexistent/ct', identity }))).toBe('RUNNING');
    expect(run(killScript({ taskDir: '/nonexistent/ct', identity, graceMs: 1000, timeoutMs: 5000 }))).toBe('GONE');
    expect(alive(pid)).toBe(false);
    expect(alive(bystander)).toBe(true);
  });

  it('report a task whose exit code is written as FINISHED and leave an unrelated session with its pgid alone', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ct-task-'));
    fs.writeFileSync(path.join(dir, 'exit_code'), '0\n');
    const pid = sessionLeader();
    const identity = idOf(pid, String(Number(startTimeOf(pid)) - 5));
    expect(run(statusScript({ taskDir: dir, identity }))).toBe('DONE');
    expect(run(killScript({ taskDir: dir, identity, graceMs: 0, timeoutMs: 500, removeDir: true }))).toBe('FINISHED');
    expect(alive(pid)).toBe(true);
    expect(fs.existsSync(dir)).toBe(true);
    fs.rmSync(dir, { recursive: true });
  });
});

describe('batched execs', () => {
  const sh = (script: string) => execFileSync('/bin/sh', ['-c', script], { encoding: 'utf8' });

  it('runs each script in its own subshell and gives each its own output and exit status', () => {
    const nonce = 'ct-0123456789abcdef';
    const scripts = [`echo one; exit 3`, `printf 'a\\nb\\n'; echo err >&2`, `cd /nonexistent-dir || exit 97`, `echo; echo ${nonce} 0 0; echo last`];
    const r = splitCombined(sh(combinedScript(scripts, nonce)), scripts.length, nonce);
    expect(r.map((x) => x.code)).toEqual([3, 0, 97, 0]);
    expect(r[0].stdout).toBe('one\n');
    expect(r[1].stdout).toBe('a\nb\nerr\n');
    expect(r[2].stdout).toContain('nonexistent-dir');
    // A status line out of order (here a script's own output) is taken as output.
    expect(r[3].stdout).toBe(`\n${nonce} 0 0\nlast\n`);
  });

  it('answers scripts with no status line (the exec died) with code null', () => {
    expect(splitCombined('one\n', 2, 'ct-x').map((x) => x.code)).toEqual([null, null]);
  });

  it('sends scripts arriving together in one exec and answers each', async () => {
    const sent: string[] = [];
    const b = new ExecBatcher(async (script) => {
      sent.push(script);
      return { code: 0, stdout: sh(script), stderr: '' };
    });
    const answers = await Promise.all(Array.from({ length: 50 }, (_, i) => b.exec(`echo ${i}; exit ${i % 3}`)));
    expect(answers.map((a) => [a.stdout, a.code])).toEqual(Array.from({ length: 50 }, (_, i) => [`${i}\n`, i % 3]));
    expect(sent.length).toBe(2); // 40 scripts at most per exec
  });

  it('resends idempotent scripts an exec died before answering, and answers the others as unknown (code null)', async () => {
    let calls = 0;
    const b = new ExecBatcher(async (script) => {
      calls++;
      // The first exec dies after its first script: the shell is killed, no further status lines.
      const out = sh(script);
      return calls === 1 ? { code: null, signal: 'KILL', stdout: out.slice(0, out.indexOf('\n', out.indexOf(' 0 0')) + 1), stderr: '' } : { code: 0, stdout: out, stderr: '' };
    });
    const [first, again, notAgain] = await Promise.all([b.exec('echo a', { idempotent: true }), b.exec('echo b', { idempotent: true }), b.exec('echo c')]);
    expect([first.code, first.stdout]).toEqual([0, 'a\n']);
    expect([again.code, again.stdout]).toEqual([0, 'b\n']);
    expect(notAgain.code).toBeNull();
    expect(notAgain.stderr).toContain('unknown');
    expect(b.stats).toMatchObject({ execs: 2, died: 1, resent: 1 });
  });
});

describe('known_hosts', () => {
  const { publicKey } = generateKeyPairSync('ed25519');
  // The SSH wire blob of an ed25519 key: string "ssh-ed25519" + string key.
  const raw = publicKey.export({ format: 'der', type: 'spki' }).subarray(-32);
  const str = (b: Buffer) => Buffer.concat([Buffer.from([0, 0, 0, b.length]), b]);
  const blob = Buffer.concat([str(Buffer.from('ssh-ed25519')), str(raw)]);
  const b64 = blob.toString('base64');

  it('matches plain, bracketed-port, wildcard and hashed host entries', () => {
    expect(knownKeysFor(`example.org ssh-ed25519 ${b64}\n`, 'example.org', 22)).toHaveLength(1);
    expect(knownKeysFor(`[example.org]:2222 ssh-ed25519 ${b64}\n`, 'example.org', 2222)).toHaveLength(1);
    expect(knownKeysFor(`[example.org]:2222 ssh-ed25519 ${b64}\n`, 'example.org', 22)).toHaveLength(0);
    expect(knownKeysFor(`example.org ssh-ed25519 ${b64}\n`, 'example.org', 2222)).toHaveLength(0);
    expect(knownKeysFor(`*.example.org,!bad.example.org ssh-ed25519 ${b64}\n`, 'a.example.org', 22)).toHaveLength(1);
    expect(knownKeysFor(`*.example.org,!bad.example.org ssh-ed25519 ${b64}\n`, 'bad.example.org', 22)).toHaveLength(0);
    const salt = Buffer.from('0123456789abcdef0123');
    const hash = createHmac('sha1', salt).update('[10.0.0.5]:2200').digest('base64');
    expect(knownKeysFor(`|1|${salt.toString('base64')}|${hash} ssh-ed25519 ${b64}\n`, '10.0.0.5', 2200)).toHaveLength(1);
    expect(knownKeysFor(`# comment\n\n@cert-authority * ssh-ed25519 ${b64}\n`, 'x', 22)).toHaveLength(0);
  });

  it('accepts the listed key, refuses another with HOST_KEY_MISMATCH and a revoked one, and an unknown host with HOST_KEY_UNKNOWN', () => {
    const fs = require('node:fs') as typeof import('node:fs');
    const dir = fs.mkdtempSync(require('node:path').join(require('node:os').tmpdir(), 'ct-kh-'));
    const file = `${dir}/known_hosts`;
    fs.writeFileSync(file, `h1 ssh-ed25519 ${b64}\n@revoked h2 ssh-ed25519 ${b64}\n`);
    expect(hostKeyPolicy({ host: 'h1', port: 22, knownHostsFile: file }).check(blob)).toBeUndefined();
    expect(hostKeyPolicy({ host: 'h1', port: 22, knownHostsFile: file }).algorithms).toEqual(['ssh-ed25519']);
    const other = Buffer.from(blob);
    other[other.length - 1] ^= 1;
    expect(hostKeyPolicy({ host: 'h1', port: 22, knownHostsFile: file }).check(other)?.code).toBe(ErrorCodes.HOST_KEY_MISMATCH);
    expect(hostKeyPolicy({ host: 'h2', port: 22, knownHostsFile: file }).check(blob)?.code).toBe(ErrorCodes.HOST_KEY_MISMATCH);
    expect(hostKeyPolicy({ host: 'h3', port: 22, knownHostsFile: file }).check(blob)?.code).toBe(ErrorCodes.HOST_KEY_UNKNOWN);
    const pinned = hostKeyPolicy({ host: 'h3', port: 22, hostKeyFingerprints: [fingerprintOf(blob)] });
    expect(pinned.check(blob)).toBeUndefined();
    expect(pinned.check(other)?.code).toBe(ErrorCodes.HOST_KEY_MISMATCH);
    fs.rmSync(dir, { recursive: true });
  });

  it('computes fingerprints as ssh-keygen prints them', () => {
    expect(fingerprintOf(blob)).toMatch(/^SHA256:[A-Za-z0-9+/]{43}$/);
  });
});

describe('SSH options', () => {
  it('keep secrets out of the stored form', () => {
    const o = resolveSSHOptions({ host: 'h', username: 'u', privateKey: '-----BEGIN OPENSSH PRIVATE KEY-----\nabc', passphrase: 'hunter2' });
    const stored = JSON.stringify(publicSSHOptions(o));
    expect(stored).not.toContain('hunter2');
    expect(stored).not.toContain('PRIVATE KEY');
    expect(JSON.parse(stored)).toEqual({ host: 'h', port: 22, username: 'u' });
  });

  it('explain what is wrong', () => {
    expect(() => resolveSSHOptions({ username: 'u' })).toThrow(/"host" is required/);
    expect(() => resolveSSHOptions({ host: 'h' })).toThrow(/"username" is required/);
    expect(() => resolveSSHOptions({ host: 'h', username: 'u', port: 70000 })).toThrow(/at most 65535/);
    expect(() => resolveSSHOptions({ host: 'h', username: 'u', hostKeyFingerprint: 'abc' })).toThrow(/SHA256:/);
    expect(() => resolveSSHOptions({ host: 'h', username: 'u', privateKey: 'k', privateKeyPath: '/k' })).toThrow(/not both/);
  });

  it('rebuild through the registry from a stored configuration', () => {
    const ex = createExecutor({ type: 'ssh', options: { host: 'h', username: 'u', privateKeyPath: '/nonexistent' } });
    expect(ex.type).toBe('ssh');
    expect(ex.toConfig()).toEqual({ type: 'ssh', options: { host: 'h', port: 22, username: 'u', privateKeyPath: '/nonexistent', remoteWorkDir: '~/.covalent-ts', nodePath: 'node' } });
    expect(ex.durableJobHandles).toBe(true);
    const sl = createExecutor({ type: 'slurm', options: { partition: 'debug', ssh: { host: 'h', username: 'u', passphrase: 'pw' } } });
    expect(JSON.stringify(sl.toConfig())).not.toContain('pw"');
    expect(sl.label()).toBe('slurm(u@h)');
  });
});

describe('secrets in configurations', () => {
  const PEM = '-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----\n';

  it('are left out at any depth, by name or by value; references to them stay', () => {
    const config = {
      type: 'slurm',
      options: {
        partition: 'gpu',
        ssh: { host: 'h', username: 'u', privateKey: PEM, passphrase: 'hunter2', privateKeyPath: '~/.ssh/id', agent: true },
        env: { API_TOKEN: 'tok', OMP_NUM_THREADS: '4', KEY_COPY: PEM },
        nested: [{ password: 'pw', client_secret: 's', keep: 1 }, Buffer.from('raw key bytes')],
        passwordFile: '/run/secrets/pw',
      },
    };
    expect(publicConfig(config)).toEqual({
      type: 'slurm',
      options: {
        partition: 'gpu',
        ssh: { host: 'h', username: 'u', privateKeyPath: '~/.ssh/id', agent: true },
        env: { OMP_NUM_THREADS: '4' },
        nested: [{ keep: 1 }],
        passwordFile: '/run/secrets/pw',
      },
    });
    expect(config.options.ssh.passphrase).toBe('hunter2'); // the caller's object is not changed
  });

  it('never reach the stored form of a plugin, even when its publicOptions forgets to drop them', () => {
    class Careless extends Executor {
      readonly type = 'careless';
      protected publicOptions() {
        return { queue: 'q', apiKey: 'k-123', credentials: { user: 'u', password: 'p' } };
      }
      protected async run(): Promise<never> {
        throw new Error('not run');
      }
      async cancel() {
        return true;
      }
    }
    const ex = new Careless();
    expect(ex.toConfig()).toEqual({ type: 'careless', options: { queue: 'q' } });
    expect(JSON.stringify(ex)).toBe('{"type":"careless","options":{"queue":"q"}}');
    expect(require('node:util').inspect(ex)).not.toContain('k-123');
  });
});

describe('cancel handles', () => {
  it('are refused when they name another login or cluster than the executor', async () => {
    const ssh = createExecutor({ type: 'ssh', options: { host: 'h', username: 'u', privateKeyPath: '/nonexistent' } });
    const meta = { dispatchId: 'd', nodeId: 0, nodeIds: [0], name: 'n' };
    await expect(ssh.cancel(meta, { host: 'evil.example', port: 22, username: 'u', pgid: 1234, remoteDir: '/x/jobs/a-0-0123456789' })).rejects.toMatchObject({
      code: ErrorCodes.INVALID_ARGUMENT,
    });
    await expect(ssh.cancel(meta, { nope: true })).rejects.toMatchObject({ code: ErrorCodes.INVALID_ARGUMENT });
    const slurm = createExecutor({ type: 'slurm', options: {} });
    await expect(slurm.cancel(meta, { jobId: '12; reboot', submittedVia: 'local', remoteDir: '/x' })).rejects.toMatchObject({ code: ErrorCodes.INVALID_ARGUMENT });
    await expect(slurm.cancel(meta, { jobId: '12', submittedVia: 'u@other:22', remoteDir: '/x' })).rejects.toMatchObject({ code: ErrorCodes.INVALID_ARGUMENT });
  });
});

describe('scontrol show job -o parsing', () => {
  const out = [
    'JobId=12 JobName=ct-0-a UserId=root(0) GroupId=root(0) Priority=1 JobState=RUNNING Reason=None Dependency=(null) ExitCode=0:0 RunTime=00:00:01 Command=/tmp/a JobState=FAKE WorkDir=/tmp/x JobState=FAKE',
    'JobId=13 JobName=ct-1-b UserId=u(1000) JobState=CANCELLED Reason=None ExitCode=0:15',
    'JobId=14 JobName=ct-2-c JobState=PENDING Reason=Resources ExitCode=0:0',
    'JobId=16 JobName=q JobState=CANCELLED Reason=None ExitCode=0:0 NodeList=(null) BatchHost=',
    'JobId=17 JobName=r JobState=CANCELLED Reason=None ExitCode=0:15 NodeList=localhost BatchHost=localhost',
    'JobId=15 JobName=x JobState=COMPLETING+ Reason=None ExitCode=1:0',
    'slurm_load_jobs error: Invalid job id specified',
    '',
  ].join('\n');

  it('reads state, reason and exit code of every job, from the first occurrence of each field', () => {
    const jobs = parseScontrolJobs(out);
    expect([...jobs.keys()]).toEqual(['12', '13', '14', '16', '17', '15']);
    expect(jobs.get('12')).toEqual({ jobId: '12', state: 'RUNNING', reason: 'None', exitCode: 0, exitSignal: 0 });
    expect(jobs.get('13')).toMatchObject({ state: 'CANCELLED', exitSignal: 15 });
    expect(jobs.get('14')).toMatchObject({ state: 'PENDING', reason: 'Resources' });
    expect(jobs.get('15')).toMatchObject({ state: 'COMPLETING', exitCode: 1 });
    // Whether Slurm ever gave the job a node: a job cancelled while PENDING never started.
    expect(jobs.get('16')).toMatchObject({ state: 'CANCELLED', started: false });
    expect(jobs.get('17')).toMatchObject({ state: 'CANCELLED', started: true });
    expect(jobs.get('14')!.started).toBeUndefined();
  });

  it('knows which states are terminal', () => {
    expect(['COMPLETED', 'CANCELLED', 'FAILED', 'TIMEOUT', 'OUT_OF_MEMORY', 'NODE_FAIL'].every(isTerminalSlurmState)).toBe(true);
    expect(['PENDING', 'RUNNING', 'COMPLETING', 'SUSPENDED', 'CONFIGURING'].some(isTerminalSlurmState)).toBe(false);
  });
});

describe('batch script', () => {
  it('puts #SBATCH lines first, then set-up lines, env and the quoted runner; sbatch arguments are quoted', () => {
    const o = resolveSlurmOptions({ partition: 'gpu', timeLimit: '1:00:00', cpus: 4, memory: '8G', sbatchLines: ['--gres=gpu:1', '#SBATCH --qos=high'], setupLines: ['module load node/20'], env: { A: `x'y` }, nodePath: '/opt/node bin/node' });
    const dir = `/w/jobs/d'x`;
    const script = renderJobScript(o, '/w/runners/abc', { kind: 'single', taskDir: dir });
    const lines = script.split('\n');
    expect(lines.slice(0, 3)).toEqual(['#!/bin/bash', '#SBATCH --gres=gpu:1', '#SBATCH --qos=high']);
    expect(script).toContain('module load node/20');
    expect(script).toContain(`export A='x'\\''y'`);
    expect(script).toContain(`ct_dir='/w/jobs/d'\\''x'`);
    expect(script).toContain(`setsid '/opt/node bin/node' /w/runners/abc/remote-main.js "$ct_dir"`);
    execFileSync('/bin/bash', ['-n', '-c', script]);
    execFileSync('/bin/bash', ['-n', '-c', renderJobScript(o, '/w/runners/abc', { kind: 'array', dir: `/w/jobs/array-'1` })]);
    const cmd = sbatchCommand(o, dir, slurmJobName(`evil'; rm -rf / #`, 3), 'sbatch');
    expect(cmd).toBe(
      `sbatch --parsable --job-name=ct-3-evil___rm_-rf____ '--chdir=/w/jobs/d'\\''x' '--output=/w/jobs/d'\\''x/slurm.log' --partition=gpu --time=1:00:00 --cpus-per-task=4 --mem=8G '/w/jobs/d'\\''x/job.sh'`,
    );
    expect(sbatchCommand({ ...o, partition: undefined, timeLimit: undefined, cpus: undefined, memory: undefined }, '/w/a', 'n', 'sbatch', { count: 500, parallelism: 10 })).toBe(
      `sbatch --parsable --job-name=n --chdir=/w/a --output=/w/a/slurm-%a.log --array=0-499%10 /w/a/job.sh`,
    );
  });

  it('runs the task in its own process group, forwards TERM to it and KILLs what ignores TERM after the grace', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ct-job-'));
    const runner = path.join(dir, 'runner');
    fs.mkdirSync(runner);
    // A stand-in for the task runner: a grandchild that ignores TERM, in the runner's group.
    fs.writeFileSync(path.join(runner, 'remote-main.js'), `require('child_process').spawn('sh', ['-c', 'trap "" TERM; echo $$ > ' + process.argv[2] + '/grandchild; exec sleep 600'], { stdio: 'ignore' }); setInterval(() => {}, 1000);`);
    const o = resolveSlurmOptions({ nodePath: process.execPath, cancelGraceMs: 500 });
    fs.writeFileSync(path.join(dir, 'job.sh'), renderJobScript(o, runner, { kind: 'single', taskDir: dir }));
    const job = spawn('/bin/bash', [path.join(dir, 'job.sh')], { stdio: 'ignore' });
    return (async () => {
      const deadline = Date.now() + 20000;
      while (!fs.existsSync(path.join(dir, 'grandchild')) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      const grandchild = Number(fs.readFileSync(path.join(dir, 'grandchild'), 'utf8'));
      const pgidOf = (pid: number) => fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ')[2];
      expect(pgidOf(grandchild)).not.toBe(pgidOf(job.pid!)); // its own group
      const exited = new Promise<number | null>((r) => job.on('exit', (code, sig) => r(code ?? (sig ? 128 : null))));
      job.kill('SIGTERM'); // what Slurm sends on scancel
      expect(await exited).toBe(143);
      expect(fs.existsSync(`/proc/${grandchild}`)).toBe(false);
      fs.rmSync(dir, { recursive: true, force: true });
    })();
  });
});

describe('scancel arguments', () => {
  it('name array elements compactly, and a whole array by its id', () => {
    const arrays = new Map([['77', { count: 5, cancelled: new Set<number>() }]]);
    expect(scancelArgs(['12', '77_1', '77_0', '77_3', '80_5', '80_6', '80_7', '80_9'], arrays)).toEqual(['12', '77_[0-1,3]', '80_[5-7,9]']);
    // The rest of the array later: every element is cancelled now, so the array is named.
    expect(scancelArgs(['77_4', '77_2'], arrays)).toEqual(['77']);
  });

  it('expand the array records of scontrol, pending ranges included', () => {
    const jobs = parseScontrolJobs(
      [
        'JobId=101 ArrayJobId=100 ArrayTaskId=1 JobName=a JobState=RUNNING Reason=None ExitCode=0:0',
        'JobId=100 ArrayJobId=100 ArrayTaskId=2-4,7%2 JobName=a JobState=PENDING Reason=JobArrayTaskLimit ExitCode=0:0',
        'JobId=102 ArrayJobId=100 ArrayTaskId=0 JobName=a JobState=FAILED Reason=NonZeroExitCode ExitCode=1:0',
      ].join('\n'),
    );
    expect([...jobs.keys()].sort()).toEqual(['100_0', '100_1', '100_2', '100_3', '100_4', '100_7']);
    expect(jobs.get('100_3')).toMatchObject({ state: 'PENDING', reason: 'JobArrayTaskLimit' });
    expect(jobs.get('100_0')).toMatchObject({ state: 'FAILED', exitCode: 1 });
    expect(parseSlurmConfig('KillWait                = 5 sec\nMaxArraySize            = 1001\n')).toEqual({ maxArraySize: 1001, killWaitS: 5 });
  });
});
