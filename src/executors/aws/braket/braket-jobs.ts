/**
 * The two kinds of Braket work and their lifecycles: quantum tasks
 * (CreateQuantumTask / GetQuantumTask / CancelQuantumTask) and hybrid jobs
 * (CreateJob / GetJob / CancelJob). Each kind is cancelled through its own
 * API, never the other's, and a cancel is confirmed only by the terminal
 * state that follows it.
 */
import { createHash } from 'node:crypto';
import type { BraketClient } from '@aws-sdk/client-braket';
import type { CancelVerdictDetails, JobHandle, ResourceStatus } from '../../executor';
import { Backoff, sleepUnlessAborted } from '../../remote/backoff';
import { withThrottleRetry } from '../throttle';

export interface BraketWorkHandle extends JobHandle {
  mode: 'quantum-task' | 'hybrid-job';
  /** quantumTaskArn or jobArn. */
  arn: string;
  region: string;
}

export interface BraketState {
  status: string;
  failureReason?: string;
  /** Quantum tasks: where results.json is. */
  outputS3Bucket?: string;
  outputS3Directory?: string;
}

const TERMINAL = new Set(['COMPLETED', 'FAILED', 'CANCELLED']);
export const isTerminalBraket = (status: string): boolean => TERMINAL.has(status);

/** CREATED/QUEUED wait for the device (or the job's instance); RUNNING runs. */
export function resourceStatusOfBraket(status: string): ResourceStatus | undefined {
  if (status === 'CREATED' || status === 'QUEUED') return 'QUEUED';
  if (status === 'RUNNING') return 'RUNNING';
  return undefined;
}

export async function describeBraket(client: BraketClient, h: BraketWorkHandle): Promise<BraketState> {
  const sdk = await import('@aws-sdk/client-braket');
  if (h.mode === 'quantum-task') {
    const r = await withThrottleRetry(() => client.send(new sdk.GetQuantumTaskCommand({ quantumTaskArn: h.arn })));
    return { status: r.status!, failureReason: r.failureReason, outputS3Bucket: r.outputS3Bucket, outputS3Directory: r.outputS3Directory };
  }
  const r = await withThrottleRetry(() => client.send(new sdk.GetJobCommand({ jobArn: h.arn })));
  return { status: r.status!, failureReason: r.failureReason };
}

/** Poll until terminal, telling `onState` about each change; a wake-up signal polls at once. */
export async function waitForBraket(
  client: BraketClient,
  h: BraketWorkHandle,
  intervals: { pollIntervalMs: number; maxPollIntervalMs: number },
  onState: (s: BraketState) => void,
  wake: () => AbortSignal,
): Promise<BraketState> {
  const backoff = new Backoff(intervals.pollIntervalMs, intervals.maxPollIntervalMs);
  let last = '';
  for (;;) {
    const signal = wake();
    try {
      const s = await describeBraket(client, h);
      if (s.status !== last) {
        last = s.status;
        backoff.reset();
        onState(s);
      }
      if (isTerminalBraket(s.status)) return s;
    } catch {
      // A failed poll (network, outage) is retried: the task's fate is decided by AWS, not by our connection.
    }
    await sleepUnlessAborted(backoff.next(), signal);
  }
}

/** The same token for every cancel of one task: CancelQuantumTask is idempotent by it. */
const cancelToken = (arn: string) => createHash('sha256').update(`covalent-ts cancel ${arn}`).digest('hex').slice(0, 32);

/**
 * Cancel through the API of the work's kind, then follow it to a terminal
 * state. Work that completed before the cancel landed is `alreadyFinished`.
 */
export async function cancelBraket(
  client: BraketClient,
  h: BraketWorkHandle,
  options: { confirmTimeoutMs: number; pollIntervalMs: number },
): Promise<CancelVerdictDetails> {
  const sdk = await import('@aws-sdk/client-braket');
  const api = h.mode === 'quantum-task' ? 'CancelQuantumTask' : 'CancelJob';
  const story: string[] = [];
  let before: BraketState;
  try {
    before = await describeBraket(client, h);
  } catch (e) {
    if ((e as { name?: string }).name === 'ResourceNotFoundException') return { confirmed: true, detail: `Braket has no ${h.mode} ${h.arn}` };
    return { confirmed: false, detail: `could not reach Amazon Braket: ${(e as Error).name}: ${(e as Error).message}` };
  }
  if (isTerminalBraket(before.status)) {
    return before.status === 'CANCELLED'
      ? { confirmed: true, detail: `${h.mode} was already CANCELLED` }
      : { confirmed: true, detail: `${h.mode} had already ${before.status}`, alreadyFinished: true };
  }
  const started = before.status === 'RUNNING';
  story.push(`${h.mode} was ${before.status}`, api);
  try {
    await withThrottleRetry<unknown>(() =>
      h.mode === 'quantum-task'
        ? client.send(new sdk.CancelQuantumTaskCommand({ quantumTaskArn: h.arn, clientToken: cancelToken(h.arn) }))
        : client.send(new sdk.CancelJobCommand({ jobArn: h.arn })),
    );
  } catch (e) {
    // Refused because it finished meanwhile (ConflictException/ValidationException): the state below tells.
    if (!['ConflictException', 'ValidationException'].includes((e as { name?: string }).name ?? '')) {
      return { confirmed: false, detail: `${story.join('; ')} failed: ${(e as Error).name}: ${(e as Error).message}` };
    }
    story.push(`refused (${(e as Error).name})`);
  }
  const deadline = Date.now() + options.confirmTimeoutMs;
  for (;;) {
    let s: BraketState | undefined;
    try {
      s = await describeBraket(client, h);
    } catch (e) {
      if (Date.now() > deadline) return { confirmed: false, detail: `${story.join('; ')}; could not reach Amazon Braket: ${(e as Error).message}` };
    }
    if (s && s.status === 'CANCELLED') return { confirmed: true, detail: `${story.join('; ')}; CANCELLING; CANCELLED`, started };
    if (s && isTerminalBraket(s.status)) return { confirmed: true, detail: `${story.join('; ')}; it had ${s.status} first`, alreadyFinished: true };
    if (Date.now() > deadline) return { confirmed: false, detail: `${story.join('; ')}; still ${s?.status ?? 'unknown'} after ${Math.round(options.confirmTimeoutMs / 1000)} s` };
    await sleepUnlessAborted(options.pollIntervalMs);
  }
}
