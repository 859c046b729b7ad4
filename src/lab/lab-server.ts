import { spawn, spawnSync, type ChildProcess } from 'child_process';
import { randomBytes } from 'crypto';
import * as fs from 'fs';
import * as http from 'http';
import * as path from 'path';
import { install, LABEXTENSION_NAME } from '../cli/install';
import { ErrorCodes } from '../errors';
import { LabError } from './lab-error';
import { SESSION_ENV, processesOfSession, signalSession } from './process-sweep';
import { createSessionDir, removeStaleSessionDirs } from './session-dirs';

export { LABEXTENSION_NAME };

export interface LabServerOptions {
  port?: number;
  /** Served as the Jupyter root directory. */
  notebookDir: string;
  /** Empty string for no token (tests on loopback); a random token by default. */
  token?: string;
  /** For API-driven tests: jupyter_server's XSRF check off. */
  disableXsrf?: boolean;
  /** Keep the session's data dir after stop (debugging). */
  keepDataDir?: boolean;
  /** Where the server's log goes; default: a file in the session dir. */
  logFile?: string;
  /** How long to wait for the server to answer. */
  startTimeoutMs?: number;
  /** Extra environment for the server and its kernels. */
  env?: NodeJS.ProcessEnv;
}

export interface LabServer {
  /** Base URL, e.g. http://127.0.0.1:8888 (no trailing slash). */
  readonly baseUrl: string;
  readonly token: string;
  readonly port: number;
  /** The private Jupyter prefix holding our kernelspec and extension. */
  readonly prefix: string;
  readonly logFile: string;
  readonly frontend: 'jupyterlab' | 'host-app';
  readonly sessionId: string;
  readonly pid: number;
  /** URL of `/lab/tree/<relPath>` (with the token), or of `/lab`. */
  url(relPath?: string): string;
  /** Stop the server, its kernels and everything they started. */
  stop(): Promise<void>;
}

/** The covalent-ts package root (holds package.json, dist/, labextension/). */
export function packageRoot(): string {
  let dir = __dirname;
  for (let i = 0; i < 6; i++) {
    const pkg = path.join(dir, 'package.json');
    if (fs.existsSync(pkg) && JSON.parse(fs.readFileSync(pkg, 'utf8')).name === 'covalent-ts') {
      return dir;
    }
    dir = path.dirname(dir);
  }
  throw new LabError(ErrorCodes.LAB_NOT_BUILT, `Cannot find the covalent-ts package above ${__dirname}.`);
}

/**
 * The command that builds what the lab needs, as it works from this copy: in a
 * source checkout `build:lab` also installs the extension's own dependencies;
 * an installed package has no sources to build from.
 */
function buildAdvice(root: string): string {
  if (fs.existsSync(path.join(root, 'labextension', 'src'))) {
    return `run \`npm run build && npm run build:lab\` in ${root} (or \`npm start\`, which builds what changed), then try again.`;
  }
  return 'an installed package runs `covalent-ts lab` only with JupyterLab 4 installed (`jupyter-lab` on PATH); or run it from a source checkout (`npm ci && npm start`).';
}

/** A JupyterLab 4 `jupyter-lab` on PATH, if there is one. */
function realJupyterLab(): string | null {
  const probe = spawnSync('jupyter-lab', ['--version'], { encoding: 'utf8', timeout: 20000 });
  return probe.status === 0 && /^4\./.test(probe.stdout.trim()) ? 'jupyter-lab' : null;
}

function hostAppPaths(root: string): { serve: string; main: string } {
  const app = path.join(root, 'labextension', 'app');
  return { serve: path.join(app, 'serve.py'), main: path.join(app, 'build', 'static', 'main.js') };
}

/**
 * Install our kernelspec and prebuilt extension into a fresh prefix with the
 * same code as `install --prefix` (in this process: no second Node start-up on
 * every launch), so the lab sees exactly what users get.
 */
function installInto(root: string, prefix: string): void {
  const kernel = path.join(root, 'dist', 'kernel', 'main.js');
  const prebuilt = path.join(root, 'labextension', 'prebuilt', 'package.json');
  if (!fs.existsSync(kernel) || !fs.existsSync(prebuilt)) {
    throw new LabError(ErrorCodes.LAB_NOT_BUILT, `covalent-ts is not built: ${buildAdvice(root)}`);
  }
  try {
    install({ prefix }, root);
  } catch (e) {
    throw new LabError(ErrorCodes.LAB_START_FAILED, `\`covalent-ts install --prefix\` failed: ${(e as Error).message}`, { cause: e });
  }
  const ext = path.join(prefix, 'share', 'jupyter', 'labextensions', LABEXTENSION_NAME, 'package.json');
  if (!fs.existsSync(ext)) {
    throw new LabError(ErrorCodes.LAB_START_FAILED, `The install did not place the lab extension at ${path.dirname(ext)}.`);
  }
}

function get(url: string, token: string): Promise<number> {
  return new Promise(resolve => {
    const req = http.get(url, { headers: token ? { Authorization: `token ${token}` } : {}, timeout: 2000 }, res => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', () => resolve(0));
    req.on('timeout', () => {
      req.destroy();
      resolve(0);
    });
  });
}

function post(url: string, token: string): Promise<number> {
  return new Promise(resolve => {
    const req = http.request(url, { method: 'POST', headers: token ? { Authorization: `token ${token}` } : {}, timeout: 3000 }, res => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', () => resolve(0));
    req.on('timeout', () => {
      req.destroy();
      resolve(0);
    });
    req.end();
  });
}

const sleep = (ms: number) => new Promise(r => setTimeout(r, ms));

function exited(child: ChildProcess, ms: number): Promise<boolean> {
  if (child.exitCode !== null || child.signalCode !== null) {
    return Promise.resolve(true);
  }
  return new Promise(resolve => {
    const t = setTimeout(() => resolve(false), ms);
    child.once('exit', () => {
      clearTimeout(t);
      resolve(true);
    });
  });
}

/**
 * Start a Jupyter server on 127.0.0.1 with our kernel and extension installed in
 * a private prefix: the real `jupyter lab` when JupyterLab 4 is installed,
 * otherwise our host app served by Debian's jupyter_server + jupyterlab_server.
 */
export async function startLabServer(options: LabServerOptions): Promise<LabServer> {
  const root = packageRoot();
  const port = options.port ?? 8888;
  const token = options.token ?? randomBytes(24).toString('hex');
  const sessionId = randomBytes(8).toString('hex');
  removeStaleSessionDirs();
  const session = createSessionDir();
  const prefix = path.join(session, 'prefix');
  const dataDir = path.join(prefix, 'share', 'jupyter');
  const logFile = options.logFile ?? path.join(session, 'server.log');
  const notebookDir = path.resolve(options.notebookDir);
  const cleanup = () => {
    if (!options.keepDataDir) {
      fs.rmSync(session, { recursive: true, force: true });
    }
  };

  let command: string;
  let args: string[];
  let frontend: LabServer['frontend'];
  try {
    installInto(root, prefix);
    const real = realJupyterLab();
    if (real) {
      command = real;
      args = [];
      frontend = 'jupyterlab';
    } else {
      const app = hostAppPaths(root);
      if (!fs.existsSync(app.main)) {
        throw new LabError(ErrorCodes.LAB_NOT_BUILT, `JupyterLab 4 (\`jupyter-lab\`) is not installed and the JupyterLab host app is not built: ${buildAdvice(root)}`);
      }
      command = '/usr/bin/python3';
      args = [app.serve];
      frontend = 'host-app';
    }
  } catch (e) {
    cleanup();
    throw e;
  }
  args.push(
    '--ServerApp.ip=127.0.0.1',
    `--ServerApp.port=${port}`,
    '--ServerApp.port_retries=0',
    '--ServerApp.open_browser=False',
    `--ServerApp.root_dir=${notebookDir}`,
    '--ServerApp.password=',
    ...(process.getuid?.() === 0 ? ['--ServerApp.allow_root=True'] : []),
    ...(options.disableXsrf ? ['--ServerApp.disable_check_xsrf=True'] : [])
  );
  for (const d of ['runtime', 'config', 'settings', 'workspaces']) {
    fs.mkdirSync(path.join(session, d), { recursive: true, mode: 0o700 });
  }
  // The token never goes on a command line (/proc/<pid>/cmdline is world-readable):
  // jupyter_server reads it from a file only this user can open.
  const tokenFile = path.join(session, 'token');
  fs.writeFileSync(tokenFile, token, { mode: 0o600 });
  // An inherited JUPYTER_TOKEN would take precedence over the file.
  const { JUPYTER_TOKEN: _inherited, ...parentEnv } = process.env;
  const env: NodeJS.ProcessEnv = {
    ...parentEnv,
    ...options.env,
    JUPYTER_TOKEN_FILE: tokenFile,
    // Only our prefix: the user's other kernels and extensions stay out of this session.
    JUPYTER_PATH: dataDir,
    JUPYTER_DATA_DIR: dataDir,
    JUPYTER_CONFIG_DIR: path.join(session, 'config'),
    JUPYTER_RUNTIME_DIR: path.join(session, 'runtime'),
    JUPYTERLAB_SETTINGS_DIR: path.join(session, 'settings'),
    JUPYTERLAB_WORKSPACES_DIR: path.join(session, 'workspaces'),
    [SESSION_ENV]: sessionId,
    // The host app's server dies with us even if we are SIGKILLed (serve.py: PR_SET_PDEATHSIG).
    COVALENT_TS_LAB_LAUNCHER: String(process.pid)
  };
  // The server logs its URL with the token: private to this user.
  const log = fs.openSync(logFile, 'a', 0o600);
  // Its own process group, so a terminal's Ctrl-C reaches only us and we stop
  // the server in order (kernels first) instead of racing it.
  const child = spawn(command, args, { cwd: notebookDir, env, detached: true, stdio: ['ignore', log, log] });
  fs.closeSync(log);
  const baseUrl = `http://127.0.0.1:${port}`;

  let stopped: Promise<void> | null = null;
  const stop = (): Promise<void> => {
    stopped ??= (async () => {
      if (child.exitCode === null && child.signalCode === null) {
        // Orderly: the server shuts its kernels down and exits.
        await post(`${baseUrl}/api/shutdown`, token);
        if (!(await exited(child, 8000))) {
          try {
            process.kill(-child.pid!, 'SIGTERM');
          } catch {
            /* already gone */
          }
          if (!(await exited(child, 4000))) {
            try {
              process.kill(-child.pid!, 'SIGKILL');
            } catch {
              /* already gone */
            }
            await exited(child, 2000);
          }
        }
      }
      // Whatever still carries the session mark (a kernel that ignored the
      // shutdown, a task it started) is ended too.
      if (signalSession(sessionId, 'SIGTERM') > 0) {
        for (let i = 0; i < 20 && processesOfSession(sessionId).length; i++) {
          await sleep(100);
        }
        signalSession(sessionId, 'SIGKILL');
      }
      cleanup();
    })();
    return stopped;
  };

  const deadline = Date.now() + (options.startTimeoutMs ?? 60000);
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      const tail = fs.existsSync(logFile) ? fs.readFileSync(logFile, 'utf8').slice(-2000) : '';
      await stop();
      throw new LabError(ErrorCodes.LAB_START_FAILED, `The Jupyter server exited during start-up (is port ${port} free?):\n${tail}`);
    }
    if ((await get(`${baseUrl}/api/status`, token)) === 200) {
      break;
    }
    if (Date.now() > deadline) {
      await stop();
      throw new LabError(ErrorCodes.LAB_START_FAILED, `The Jupyter server did not answer on ${baseUrl} in time; see ${logFile}.`);
    }
    await sleep(150);
  }

  const query = token ? `?token=${token}` : '';
  return {
    baseUrl,
    token,
    port,
    prefix,
    logFile,
    frontend,
    sessionId,
    pid: child.pid!,
    url: (relPath?: string) =>
      relPath
        ? `${baseUrl}/lab/tree/${relPath.split(path.sep).map(encodeURIComponent).join('/')}${query}`
        : `${baseUrl}/lab${query}`,
    stop
  };
}
