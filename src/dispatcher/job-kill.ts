import { toCancelVerdict, type JobHandle, type TaskMetadata } from '../executors/executor';
import { Status, isTerminal } from '../workflow/status';
import { outcomeOfStop } from './cancel-outcome';
import type { DispatchRun } from './dispatch-run';
import type { JobState, KillResult } from './run-state';

/**
 * Stopping one job of a running dispatch: ask its executor once, then wait
 * for the job to end, or record the kill as unconfirmed. The cancel
 * operation and the setJobHandle race rule (JobExecutionContext) both stop
 * jobs through here.
 */

/** Stop a job through its executor, once, with the handle as stored. */
export function killJob(run: DispatchRun, job: JobState): Promise<KillResult> {
  // Where the job was when we set out to stop it (the executor may report QUEUED just before its handle).
  job.statusAtCancel ??= job.resourceStatus;
  job.killing ??= (async (): Promise<KillResult> => {
    const executor = job.executor!;
    const head = run.nodes[job.nodeIds[0]];
    const metadata: TaskMetadata = { dispatchId: run.dispatchId, nodeId: job.nodeIds[0], nodeIds: job.nodeIds, name: head.graph.name };
    // The handle goes through its stored (JSON) form, as it would for a cancel from another process.
    const handle = JSON.parse(head.jobHandle ?? job.handleJson!) as JobHandle;
    let result: KillResult;
    try {
      const verdict = toCancelVerdict(await executor.cancel(metadata, handle), executor.type);
      result = { confirmed: verdict.confirmed, detail: verdict.detail ?? null, started: verdict.started, endedByItself: verdict.alreadyFinished };
    } catch (e) {
      result = { confirmed: false, detail: `the ${executor.type} executor failed to cancel the job: ${(e as Error).message}` };
    }
    job.killResult = result;
    return result;
  })();
  return job.killing;
}

/** The recorded outcome of a job stopped by a cancel request, from its executor's verdict (see cancel-outcome.ts). */
export function outcomeOfJobStop(job: JobState) {
  return outcomeOfStop(job.killResult, job.handleJson !== null, job.statusAtCancel === 'QUEUED');
}

/**
 * After a kill, the executor's `execute` normally rejects at once. If it
 * does not (a backend that cannot be reached, an inline task that ignores
 * its signal), stop waiting. A job outside this process whose kill is not
 * confirmed may still run: its nodes stay CANCELLING with the outcome
 * `kill_unconfirmed` (a later cancel retries the kill). Otherwise the tasks
 * end CANCELLED, and anything the job returns later is ignored.
 */
export async function waitForJobStop(run: DispatchRun, job: JobState): Promise<void> {
  const timeout = run.host.cancelConfirmTimeoutMs;
  const settledAll = Promise.all(job.nodeIds.map((id) => run.settledOf(run.nodes[id])));
  // Most jobs of a wide cancel settle in this turn (the pool rejects what no worker started):
  // they need no timers, which were a tenth of the time to cancel 400 batched tasks.
  const settledNow = await Promise.race([settledAll.then(() => true), new Promise<boolean>((r) => setImmediate(() => r(false)))]);
  if (settledNow) return;
  const timers: NodeJS.Timeout[] = [];
  const after = (ms: number) => new Promise<void>((r) => timers.push(setTimeout(r, ms)));
  const killDone = (async () => {
    // No handle yet: the executor is between steps and will stop at its next check.
    while (!job.killing && !job.finished) await Promise.race([settledAll, after(5)]);
    if (job.killing) await job.killing;
  })();
  const outcome = await Promise.race([
    settledAll.then(() => 'settled' as const),
    // An executor that says it could not confirm the kill: stop waiting now. One that confirmed
    // gets a few seconds for its execute() to notice.
    killDone
      .then(() => (job.killResult?.confirmed === false ? undefined : after(Math.min(timeout, 5000))))
      .then(() => 'late' as const),
    after(timeout).then(() => 'timeout' as const),
  ]);
  timers.forEach(clearTimeout);
  if (outcome === 'settled' || job.finished) return;
  const k = job.killResult;
  const detail = k && !k.confirmed ? k.detail : `the task did not stop within ${Math.round(timeout / 1000)} s of the cancel request`;
  const mayStillRun = !k?.confirmed && job.handleJson !== null && job.executor !== undefined && !job.executor.runsInProcess;
  if (mayStillRun) {
    for (const id of job.nodeIds) {
      const n = run.nodes[id];
      if (isTerminal(n.status)) continue;
      n.cancelOutcome = 'kill_unconfirmed';
      n.cancelDetail = detail;
      run.changed(n, { status: n.status, cancelOutcome: n.cancelOutcome, cancelDetail: detail });
    }
    // Reported as such by the cancel: on disk first, like a terminal state.
    run.journalNodes(job.nodeIds.filter((id) => !isTerminal(run.nodes[id].status)));
    return;
  }
  run.markFinished(job);
  // A kill the executor confirmed stands even if its execute() is slow to return (still cleaning up).
  const cancel = k?.confirmed ? outcomeOfJobStop(job) : { outcome: 'kill_unconfirmed' as const, detail };
  for (const id of job.nodeIds) {
    const n = run.nodes[id];
    if (!isTerminal(n.status)) run.terminal(n, Status.CANCELLED, null, cancel);
  }
  run.afterTerminal(job.nodeIds);
}
