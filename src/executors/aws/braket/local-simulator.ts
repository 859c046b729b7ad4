/**
 * Runs quantum programs on the local state-vector simulator in a worker
 * process (local-simulator-main). Its handle names the worker by its process
 * identity, so a cancel from any process on this host can kill it, and never
 * kills a process that merely reuses the pid.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ErrorCodes, ExecutorError, TaskFailedError } from '../../../errors';
import { identityOfPid, processLiveness } from '../../../process/process-identity';
import type { CancelVerdictDetails, JobHandle } from '../../executor';
import type { GateModelTaskResult } from './braket-result';
import type { SimulatorRequest } from './local-simulator-main';
import type { QuantumProgram } from './quantum-program';

export interface LocalSimulatorHandle extends JobHandle {
  mode: 'local';
  taskId: string;
  host: string;
  pid: number;
  startTime: string | null;
}

function workerScript(): string {
  const beside = path.join(__dirname, 'local-simulator-main.js');
  if (fs.existsSync(beside)) return beside;
  // Under ts-jest the library runs from sources; the worker runs the compiled copy.
  const built = path.resolve(__dirname, '../../../../dist/src/executors/aws/braket/local-simulator-main.js');
  if (fs.existsSync(built)) return built;
  throw new TaskFailedError(`The local simulator's worker script is missing (looked for ${beside} and ${built}). Run "npm run build".`);
}

export interface LocalRun {
  handle: LocalSimulatorHandle;
  result: Promise<GateModelTaskResult>;
}

export function startLocalSimulation(program: QuantumProgram): LocalRun {
  const taskId = `local:${randomUUID()}`;
  const child: ChildProcess = fork(workerScript(), [], { stdio: ['ignore', 'ignore', 'pipe', 'ipc'], serialization: 'json' });
  const id = identityOfPid(child.pid!);
  const handle: LocalSimulatorHandle = { mode: 'local', taskId, host: id?.host ?? '', pid: child.pid!, startTime: id?.startTime ?? null };
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += d));
  const result = new Promise<GateModelTaskResult>((resolve, reject) => {
    let answer: { ok: boolean; result?: GateModelTaskResult; error?: { name: string; message: string } } | undefined;
    child.on('message', (m: any) => (answer = m));
    child.on('exit', (code, signal) => {
      if (answer?.ok) resolve(answer.result!);
      else if (answer) reject(new TaskFailedError(`${answer.error!.name}: ${answer.error!.message}`));
      else reject(new ExecutorError(ErrorCodes.EXECUTOR_FAILED, `The local simulator exited (${signal ?? `code ${code}`}) without a result.${stderr ? ` ${stderr.trim()}` : ''}`, { details: { signal, code } }));
    });
  });
  const req: SimulatorRequest = { taskId, source: program.source, inputs: program.inputs, shots: program.shots };
  child.send(req);
  return { handle, result };
}

/** Kill the worker if it is still the one recorded; confirmed once it is gone. */
export async function killLocalSimulation(h: LocalSimulatorHandle): Promise<CancelVerdictDetails> {
  const recorded = { host: h.host || null, pid: h.pid, startTime: h.startTime };
  const before = processLiveness(recorded);
  if (before === 'unknown') return { confirmed: false, detail: `the simulator ran on host ${h.host}, which this machine cannot check` };
  if (before === 'gone') return { confirmed: true, detail: 'the local simulator had already exited', started: true };
  try {
    process.kill(h.pid, 'SIGKILL');
  } catch {
    // exited meanwhile
  }
  for (let i = 0; i < 200 && processLiveness(recorded) === 'alive'; i++) await new Promise((r) => setTimeout(r, 10));
  const gone = processLiveness(recorded) !== 'alive';
  return gone
    ? { confirmed: true, detail: `SIGKILL to the local simulator (pid ${h.pid}); it is gone`, started: true }
    : { confirmed: false, detail: `the local simulator (pid ${h.pid}) survived SIGKILL for 2 s` };
}
