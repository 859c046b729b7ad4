/**
 * Where remote tasks live and how they are laid out, shared by the SSH and
 * Slurm executors:
 *
 *     WORK_DIR/runners/<hash>/remote-main.js ...   content-addressed runner cache
 *     WORK_DIR/jobs/<dispatch>-<node>-<rand>/      one directory per task
 *         payload.bin task.json                    uploaded
 *         stdout stderr exit_code output.bin pgid  written by the task
 */
import { randomBytes } from 'node:crypto';
import * as path from 'node:path';
import { ErrorCodes, ExecutorError } from '../../errors';
import type { TaskMetadata } from '../executor';
import type { TaskOutput, TaskPayload } from '../task-payload';
import { decodeOutput, encodePayload } from '../runner/payload-codec';
import { TaskFiles } from '../runner/remote-main';
import type { RemoteHost } from './remote-host';
import { runnerFiles } from './runner-files';
import { shArgv, shq } from './shell-quote';

export { TaskFiles };

/** Turn `~/x`, `x` (home-relative) or `/abs/x` into an absolute path on the host. */
export async function resolveWorkDir(host: RemoteHost, workDir: string): Promise<string> {
  if (workDir.startsWith('/')) return path.posix.normalize(workDir);
  const home = await host.homeDir();
  const rel = workDir === '~' ? '' : workDir.startsWith('~/') ? workDir.slice(2) : workDir;
  return path.posix.join(home, rel);
}

const installedRunners = new Map<string, Promise<string>>();

/** Upload the runner once per host and version (concurrent callers share one upload); returns its directory. */
export function ensureRunner(host: RemoteHost, workDir: string): Promise<string> {
  const runner = runnerFiles();
  const dir = path.posix.join(workDir, 'runners', runner.hash);
  const key = `${host.describe()}\0${dir}`;
  let p = installedRunners.get(key);
  if (!p) {
    p = installRunner(host, dir);
    installedRunners.set(key, p);
    p.catch(() => installedRunners.delete(key));
  }
  return p;
}

async function installRunner(host: RemoteHost, dir: string): Promise<string> {
  const runner = runnerFiles();
  if (!(await host.exists(path.posix.join(dir, runner.main)))) {
    // Write into a private temporary directory, then rename: a concurrent
    // upload of the same version never sees a half-written runner.
    const tmp = `${dir}.tmp-${randomBytes(6).toString('hex')}`;
    await host.mkdirp(tmp);
    for (const f of runner.files) await host.writeFile(path.posix.join(tmp, f.name), f.content, 0o644);
    try {
      await host.rename(tmp, dir);
    } catch (e) {
      if (!(await host.exists(path.posix.join(dir, runner.main)))) throw e;
      await host.removeTree(tmp);
    }
  }
  return dir;
}

const madeParents = new Map<string, Promise<void>>();

/**
 * Create a task directory's parent (WORK_DIR/jobs) once per host and process,
 * concurrent callers sharing it: each task's directory is then one SFTP mkdir,
 * not a shell round trip for missing parents. (Should the parent vanish later,
 * mkdirp still creates it.)
 */
function ensureParentOnce(host: RemoteHost, dir: string): Promise<void> {
  const key = `${host.describe()}\0${dir}`;
  let p = madeParents.get(key);
  if (!p) {
    p = host.mkdirp(dir);
    madeParents.set(key, p);
    p.catch(() => madeParents.delete(key));
  }
  return p;
}

function safePart(s: string, max: number): string {
  return s.replace(/[^A-Za-z0-9_.-]/g, '_').slice(0, max) || 'x';
}

export function newTaskDir(workDir: string, meta: TaskMetadata): string {
  const name = `${safePart(meta.dispatchId, 40)}-${meta.nodeId}-${randomBytes(5).toString('hex')}`;
  return path.posix.join(workDir, 'jobs', name);
}

/** Create the task directory and upload the payload (as data, never through a shell). */
export async function stageTask(host: RemoteHost, taskDir: string, payload: TaskPayload, meta: TaskMetadata): Promise<void> {
  await ensureParentOnce(host, path.posix.dirname(taskDir));
  await host.mkdirp(taskDir);
  await host.writeFile(path.posix.join(taskDir, TaskFiles.payload), encodePayload(payload), 0o600);
  await host.writeFile(path.posix.join(taskDir, TaskFiles.task), JSON.stringify({ dispatchId: meta.dispatchId }), 0o600);
}

/**
 * The shell lines that run the task and record its exit code; their output
 * goes wherever the caller redirects it. Everything variable is quoted.
 */
export function runnerLines(opts: { nodePath: string; runnerDir: string; taskDir: string }): string[] {
  const main = path.posix.join(opts.runnerDir, runnerFiles().main);
  const exitFile = shq(path.posix.join(opts.taskDir, TaskFiles.exitCode));
  const exitTmp = shq(path.posix.join(opts.taskDir, `${TaskFiles.exitCode}.tmp`));
  return [
    `${shArgv([opts.nodePath, main, opts.taskDir])} </dev/null`,
    `ct_rc=$?`,
    `echo "$ct_rc" > ${exitTmp} && mv -f ${exitTmp} ${exitFile}`,
    `exit "$ct_rc"`,
  ];
}

/** Remove a task directory, refusing anything outside WORK_DIR/jobs/. */
export async function removeTaskDir(host: RemoteHost, workDir: string, taskDir: string): Promise<void> {
  const jobs = path.posix.join(workDir, 'jobs') + '/';
  const norm = path.posix.normalize(taskDir);
  if (!norm.startsWith(jobs) || norm.length <= jobs.length || norm.includes('/../')) {
    throw new ExecutorError(ErrorCodes.EXECUTOR_FAILED, `Refusing to remove ${taskDir}: it is not a task directory under ${jobs}.`);
  }
  await host.removeTree(norm);
}

export interface TaskFilesRead {
  exitCode: number | undefined;
  output: TaskOutput | undefined;
  stdout: string;
  stderr: string;
}

export async function readTaskFiles(host: RemoteHost, taskDir: string): Promise<TaskFilesRead> {
  const [exit, out, stdout, stderr] = await Promise.all([
    host.readFile(path.posix.join(taskDir, TaskFiles.exitCode)),
    host.readFile(path.posix.join(taskDir, TaskFiles.output)),
    host.readFile(path.posix.join(taskDir, TaskFiles.stdout)),
    host.readFile(path.posix.join(taskDir, TaskFiles.stderr)),
  ]);
  const code = exit === undefined ? undefined : Number.parseInt(exit.toString('utf8').trim(), 10);
  return {
    exitCode: code === undefined || Number.isNaN(code) ? undefined : code,
    output: out === undefined ? undefined : decodeOutput(out),
    stdout: stdout?.toString('utf8') ?? '',
    stderr: stderr?.toString('utf8') ?? '',
  };
}

/** Turn the files a finished task left into its output, or explain why there is none. */
export function taskOutputFrom(files: TaskFilesRead, where: string): TaskOutput {
  if (files.output && files.exitCode === 0) {
    return { ...files.output, stdout: files.stdout, stderr: files.stderr };
  }
  const tail = files.stderr.trim().split('\n').slice(-15).join('\n');
  throw new ExecutorError(
    ErrorCodes.EXECUTOR_FAILED,
    `The task runner on ${where} ended with exit code ${files.exitCode ?? 'unknown'} and no result.` +
      (tail ? ` Its stderr ends with:\n${tail}` : ' Check that the remote node path points at Node.js 20 or later.'),
    { details: { exitCode: files.exitCode ?? null, stdout: files.stdout, stderr: files.stderr } },
  );
}
