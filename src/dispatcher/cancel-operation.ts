import * as os from 'node:os';
import { ErrorCodes, InvalidInputError, TaskCancelledError, type CtError } from '../errors';
import { toCancelVerdict, type Executor, type JobHandle, type TaskMetadata } from '../executors/executor';
import { createExecutor } from '../executors/registry';
import type { Store } from '../store/store';
import type { DispatchRow, NodeRow } from '../store/schema';
import type { CancelSource, CancelTaskReport, StatusName } from '../protocol/messages';
import { cancelBlockReason } from '../protocol/status';
import { Status, dispatchStatusOf, isTerminal } from '../workflow/status';
import { outcomeOfStop, type RecordedOutcome } from './cancel-outcome';
import { describeOwner } from './dispatch-owner';
import type { TransportGraph } from '../workflow/transport-graph';
import { CancelReport } from './cancel-report';
import { parseCancelOptions, requireKnownTasks, type ValidCancelOptions } from './cancel-options';
import { checkDispatchId } from './dispatch-id';
import type { DispatchRun } from './dispatch-run';
import { killJob, waitForJobStop } from './job-kill';
import type { JobState } from './run-state';

/** The tasks a cancel acts on in one dispatch. */
export interface AffectedSet {
  /** The tasks named (every task when the request named none), in the order given. */
  named: number[];
  /** Everything downstream of them that was not named, ascending. */
  downstream: number[];
}

/**
 * The affected set of one dispatch: the named tasks (all when `taskIds` is
 * null) and everything downstream of them.
 */
export function affectedSet(graph: Pick<TransportGraph, 'downstreamOf'>, nodeCount: number, taskIds: readonly number[] | null): AffectedSet {
  // Whole-dispatch cancels skip the graph walk: at 100,000 tasks it would be most of the cost.
  if (!taskIds) return { named: Array.from({ length: nodeCount }, (_, i) => i), downstream: [] };
  const named = new Set(taskIds);
  const downstream = [...graph.downstreamOf(taskIds)].filter((d) => !named.has(d)).sort((a, b) => a - b);
  return { named: [...taskIds], downstream };
}

/** A dispatch as the affected set sees it: its graph, and the sub-dispatch each started sublattice node runs. */
export interface CancelScope<S extends CancelScope<S>> {
  readonly graph: Pick<TransportGraph, 'downstreamOf'>;
  readonly nodes: ArrayLike<unknown>;
  subOf(nodeId: number): S | undefined;
}

/**
 * Every dispatch a cancel reaches, with its affected set: the dispatch
 * itself, then, recursively, the whole sub-dispatch of every affected
 * sublattice node that started one. Computed once per request.
 */
export function affectedTree<S extends CancelScope<S>>(scope: S, taskIds: readonly number[] | null): Array<{ scope: S; set: AffectedSet }> {
  const out: Array<{ scope: S; set: AffectedSet }> = [];
  const visit = (s: S, ids: readonly number[] | null) => {
    const set = affectedSet(s.graph, s.nodes.length, ids);
    out.push({ scope: s, set });
    for (const id of [...set.named, ...set.downstream]) {
      const sub = s.subOf(id);
      if (sub) visit(sub, null);
    }
  };
  visit(scope, taskIds);
  return out;
}

/**
 * One cancel request, from the call to the report: `ct.cancel`, the
 * JupyterLab comm (`cancel_tasks`, `cancel_dispatch`), `covalent-ts cancel`
 * (through a request file to the owning process, or from stored handles for
 * an orphan), and the time limits and budgets all cancel through one.
 *
 * It validates the request before anything changes, computes the affected
 * set once (the tasks, everything downstream, sub-dispatches whole), asks
 * each job's executor to stop it, and records one `cancelOutcome` per node.
 * The report, the journal, the store, the comm and the browser read that
 * recorded outcome; nothing derives it again.
 */
export class CancelOperation {
  readonly requestedAt = new Date().toISOString();
  readonly options: ValidCancelOptions;

  /** Validates the request (a bad id or option throws, and nothing changes). */
  constructor(
    readonly dispatchId: string,
    options: unknown,
  ) {
    checkDispatchId(dispatchId);
    this.options = parseCancelOptions(options);
  }

  /** Task ids must exist in the dispatch (it has `taskCount` tasks). */
  requireKnownTasks(taskCount: number): void {
    if (this.options.taskIds) requireKnownTasks(this.dispatchId, this.options.taskIds, taskCount);
  }

  /** The report of this request, from the per-task lines. */
  report(tasks: CancelTaskReport[]): CancelReport {
    const { reason, source, taskIds } = this.options;
    return new CancelReport({
      dispatchId: this.dispatchId, requestedAt: this.requestedAt, completedAt: new Date().toISOString(), reason, source, requestedTaskIds: taskIds, tasks,
    });
  }

  /**
   * Cancel a dispatch this process runs. Flags are set and made durable
   * before anything else, then each task is stopped at the earliest point;
   * resolves once every outcome in the report is recorded and on disk.
   */
  async onRun(run: DispatchRun): Promise<CancelReport> {
    this.requireKnownTasks(run.nodes.length);
    if (this.options.abandon) throw abandonNeedsOrphan(this.dispatchId, 'it runs in this process');
    const tree = affectedTree(run, this.options.taskIds);
    // Sub-dispatches first: a sublattice node waits for its sub-dispatch's part of this operation.
    const doneOf = new Map<DispatchRun, Promise<void>>();
    let top!: ReturnType<CancelOperation['actOn']>;
    for (const { scope, set } of tree.reverse()) {
      top = this.actOn(scope, set, doneOf);
      doneOf.set(scope, top.done);
    }
    await Promise.all(doneOf.values());
    // Every terminal state in the report (and the dispatch's, if it ended) is on disk before it is returned.
    await run.host.durable();
    return this.report(top.targets.map((id) => this.line(run, id, top.before.get(id)!, top.namedSet, top.targets)));
  }

  /** One report line: the outcome as recorded on the node (a task already finished was not acted on). */
  private line(run: DispatchRun, id: number, statusBefore: StatusName, named: Set<number>, targets: number[]): CancelTaskReport {
    const n = run.nodes[id];
    const finishedBefore = isTerminal(statusBefore);
    return {
      nodeId: id,
      name: n.graph.name,
      outcome: finishedBefore ? 'already_finished' : n.cancelOutcome!,
      statusBefore,
      statusAfter: n.status,
      downstreamOf: named.has(id) ? null : n.graph.dependsOn.filter((u) => targets.includes(u)),
      detail: finishedBefore ? `status ${statusBefore} kept` : n.cancelDetail,
    };
  }

  /** Act on one dispatch's affected set; `done` resolves once each node's outcome is recorded. */
  private actOn(run: DispatchRun, set: AffectedSet, doneOf: ReadonlyMap<DispatchRun, Promise<void>>): { targets: number[]; before: Map<number, StatusName>; namedSet: Set<number>; done: Promise<void> } {
    const { reason, source } = this.options;
    const namedSet = new Set(set.named);
    const targets = [...set.named, ...set.downstream];
    const before = new Map(targets.map((id) => [id, run.nodes[id].status]));

    // 1. Flags first, synchronously: every later step check sees them.
    const flagged: number[] = [];
    const retries = new Set<JobState>();
    const waits: Promise<void>[] = [];
    for (const id of targets) {
      const n = run.nodes[id];
      const blocked = cancelBlockReason(n, true);
      if (blocked?.code === 'finished') continue;
      if (blocked?.code === 'cancel_requested') {
        // Another request is stopping it: this one reports the outcome that one records.
        if (n.sub) waits.push(this.subStopped(run, id, doneOf));
        else waits.push(n.job?.stopping ?? run.settledOf(n));
        continue;
      }
      // A kill that could not be confirmed is tried again by every later cancel (a sub-dispatch's, in its own part of the tree).
      if (n.status === Status.CANCELLING) {
        if (n.sub) waits.push(this.subStopped(run, id, doneOf));
        else if (n.job && !n.job.finished) retries.add(n.job);
        continue;
      }
      n.cancelRequested = true;
      n.cancelReason = reason ?? (namedSet.has(id) ? null : `upstream task was cancelled`);
      n.cancelSource = source;
      flagged.push(id);
    }
    // 2. Act on each task at once (signals go out before anything waits on the disk).
    const jobs = new Set<JobState>();
    for (const id of flagged) {
      const n = run.nodes[id];
      if (n.status === Status.NEW_OBJECT && !n.job) {
        run.terminal(n, Status.CANCELLED, null, { outcome: 'aborted_before_start', detail: null });
        continue;
      }
      if (n.sub) {
        // Its sub-dispatch is in this operation's affected tree; the node ends when the sub-dispatch does.
        n.status = Status.CANCELLING;
        run.changed(n, { status: n.status, cancelRequested: true, cancelReason: n.cancelReason, cancelSource: source });
        waits.push(this.subStopped(run, id, doneOf));
        continue;
      }
      if (n.job) jobs.add(n.job);
    }
    // One reason for every job of this cancel: a wide cancel should not build hundreds of stack traces.
    const abortReason = new TaskCancelledError('Cancel requested.');
    for (const job of jobs) {
      // Cancelling one member of a packed job cancels the job and every unfinished member.
      for (const id of job.nodeIds) {
        const m = run.nodes[id];
        if (isTerminal(m.status)) continue;
        if (!m.cancelRequested) {
          m.cancelRequested = true;
          m.cancelReason = reason ?? `packed with cancelled task ${[...namedSet].find((x) => job.nodeIds.includes(x)) ?? ''}`.trim();
          m.cancelSource = source;
          if (!before.has(id)) targets.push(id), before.set(id, m.status);
        }
        m.status = Status.CANCELLING;
        run.changed(m, { status: m.status, cancelRequested: true, cancelReason: m.cancelReason, cancelSource: source });
      }
      job.abort.abort(abortReason);
      if (job.handleJson) void killJob(run, job);
      // Resolves when the nodes settle, or when the kill stays unconfirmed (they stay CANCELLING).
      waits.push((job.stopping = waitForJobStop(run, job)));
    }
    for (const job of retries) {
      if (jobs.has(job)) continue;
      job.killing = undefined;
      job.killResult = undefined;
      void killJob(run, job);
      waits.push((job.stopping = waitForJobStop(run, job)));
    }
    // 3. On disk before we report anything (a journal append, group-committed: about a millisecond).
    if (flagged.length) waits.push(run.host.durable(run.journalNodes(flagged)));
    run.finishIfDone();
    return { targets, before, namedSet, done: Promise.all(waits).then(() => undefined) };
  }

  /**
   * A sublattice node ends when its sub-dispatch does. If the sub-dispatch
   * cannot end (a kill in it is unconfirmed), the node records that too: it
   * stays CANCELLING with `kill_unconfirmed`, and a later cancel retries.
   */
  private async subStopped(run: DispatchRun, id: number, doneOf: ReadonlyMap<DispatchRun, Promise<void>>): Promise<void> {
    const n = run.nodes[id];
    const sub = n.sub!;
    await doneOf.get(sub);
    if (isTerminal(sub.status)) return run.settledOf(n);
    if (isTerminal(n.status) || !sub.nodes.some((m) => m.cancelOutcome === 'kill_unconfirmed')) return;
    n.cancelOutcome = 'kill_unconfirmed';
    n.cancelDetail = `sub-dispatch ${sub.dispatchId}: a kill is not confirmed`;
    run.changed(n, { status: n.status, cancelOutcome: n.cancelOutcome, cancelDetail: n.cancelDetail });
    await run.host.durable(run.journalNodes([id]));
  }

  /**
   * Cancel an orphan: a dispatch whose process is gone before it finished.
   * Its jobs are stopped through their executors, rebuilt from the stored
   * configuration and job handle, all at once (an executor can send one
   * command for all of them: one scancel per cluster). A job whose kill is
   * unconfirmed may still run: its node stays CANCELLING and a later cancel
   * retries it, unless the user gives up explicitly (`abandon`; the record
   * says so, and who). Outcomes are on disk before the report is returned.
   */
  async onOrphan(store: Store, stored: { dispatch: DispatchRow; nodes: NodeRow[] }): Promise<CancelReport> {
    const { taskIds, source, abandon } = this.options;
    this.requireKnownTasks(stored.nodes.length);
    const { named, downstream } = affectedSet(storedGraph(stored.nodes), stored.nodes.length, taskIds);
    const namedSet = new Set(named);
    const gone = `the dispatching process (${describeOwner(stored.dispatch)}) is gone`;
    const executors = new Map<string, Executor<any, any>>();
    const tasks: CancelTaskReport[] = await Promise.all([...named, ...downstream].map(async (id): Promise<CancelTaskReport> => {
      const n = stored.nodes[id];
      const statusBefore = n.status as StatusName;
      const downstreamOf = namedSet.has(id) ? null : n.dependsOn.filter((u) => namedSet.has(u) || downstream.includes(u));
      // Nobody else can act on an orphan's node: only a final status keeps it (a CANCELLING one is retried).
      if (isTerminal(statusBefore)) {
        return { nodeId: id, name: n.name, outcome: 'already_finished', statusBefore, statusAfter: statusBefore, downstreamOf, detail: `status ${statusBefore} kept` };
      }
      let recorded: RecordedOutcome = { outcome: 'aborted_before_start', detail: gone };
      if (n.jobHandle && n.executorConfig) recorded = await this.stopStoredJob(n, executors, gone);
      let { outcome, detail } = recorded;
      if (outcome === 'kill_unconfirmed' && abandon) detail = `${detail ?? 'the kill was not confirmed'}; abandoned by ${whoAbandons(source)} at ${new Date().toISOString()}: the job may still be running`;
      const statusAfter = outcome === 'kill_unconfirmed' && !abandon ? Status.CANCELLING : Status.CANCELLED;
      return { nodeId: id, name: n.name, outcome, statusBefore, statusAfter, downstreamOf, detail };
    }));
    await this.journalOrphan(store, stored, tasks);
    return this.report(tasks);
  }

  /** Ask the executor, rebuilt from its stored config, to stop one stored job. */
  private async stopStoredJob(n: NodeRow, executors: Map<string, Executor<any, any>>, gone: string): Promise<RecordedOutcome> {
    try {
      let ex = executors.get(n.executorConfig!);
      if (!ex) executors.set(n.executorConfig!, (ex = createExecutor(JSON.parse(n.executorConfig!))));
      const meta: TaskMetadata = { dispatchId: this.dispatchId, nodeId: n.nodeId, nodeIds: [n.nodeId], name: n.name };
      const verdict = toCancelVerdict(await ex.cancel(meta, JSON.parse(n.jobHandle!) as JobHandle), ex.type);
      if (verdict.alreadyFinished) return { outcome: 'already_finished', detail: `its job had already ended by itself; ${gone}, so its result was not collected` };
      const recorded = outcomeOfStop({ confirmed: verdict.confirmed, detail: verdict.detail ?? null, started: verdict.started }, true, n.status === Status.QUEUED);
      return { outcome: recorded.outcome, detail: recorded.detail ?? gone };
    } catch (e) {
      return { outcome: 'kill_unconfirmed', detail: (e as Error).message };
    }
  }

  /**
   * The orphan's cancel journal: the request, each node's recorded outcome,
   * and, once every node is terminal, the dispatch's final status (rule 7;
   * a node left CANCELLING keeps the dispatch from ending: its job may still run).
   */
  private async journalOrphan(store: Store, stored: { dispatch: DispatchRow; nodes: NodeRow[] }, tasks: CancelTaskReport[]): Promise<void> {
    const changed = tasks.filter((t) => t.statusBefore !== t.statusAfter || t.outcome === 'kill_unconfirmed' || t.statusBefore === Status.CANCELLING);
    if (!changed.length) return;
    const { reason, source } = this.options;
    const dispatchId = this.dispatchId;
    const at = new Date().toISOString();
    const after = new Map(changed.map((t) => [t.nodeId, t.statusAfter as string]));
    const final = dispatchStatusOf(stored.nodes.map((n) => after.get(n.nodeId) ?? n.status));
    await store.commit([
      { t: 'cancel', dispatchId, nodeIds: changed.map((t) => t.nodeId), reason, source, at: this.requestedAt },
      {
        t: 'final', dispatchId, nodeIds: changed.map((t) => t.nodeId), statuses: changed.map((t) => t.statusAfter),
        outcomes: changed.map((t) => t.outcome), details: changed.map((t) => t.detail), at,
      },
      ...(final ? [{ t: 'dispatch-final' as const, dispatchId, nodeIds: [], status: final, error: null, at }] : []),
    ]);
  }
}

/** `abandon` is for orphans only: a dispatch with a live process can still be cancelled for real. */
export function abandonNeedsOrphan(dispatchId: string, why: string): CtError {
  return new InvalidInputError(
    ErrorCodes.INVALID_ARGUMENT,
    `abandon gives up on kills of an orphaned dispatch (its process gone); dispatch ${dispatchId} is not orphaned: ${why}. ` +
      `Nothing was cancelled; cancel it without abandon.`,
  );
}

/** Who gives up on a kill, for the record: the user and host of this process, and how they asked. */
function whoAbandons(source: CancelSource): string {
  let user = 'unknown user';
  try {
    user = os.userInfo().username;
  } catch {
    // No passwd entry: the host still says where.
  }
  return `${user}@${os.hostname()} (${source === 'external' ? 'covalent-ts cancel --abandon' : `ct.cancel abandon, ${source}`})`;
}

/** A stored dispatch's graph, from its rows' `dependsOn` (enough for the affected set). */
function storedGraph(nodes: readonly NodeRow[]): Pick<TransportGraph, 'downstreamOf'> {
  const dependents: number[][] = nodes.map(() => []);
  for (const n of nodes) for (const u of n.dependsOn) dependents[u]?.push(n.nodeId);
  return {
    downstreamOf(ids: Iterable<number>): Set<number> {
      const out = new Set<number>();
      const stack = [...ids];
      while (stack.length) {
        for (const d of dependents[stack.pop()!] ?? []) if (!out.has(d)) out.add(d), stack.push(d);
      }
      return out;
    },
  };
}
