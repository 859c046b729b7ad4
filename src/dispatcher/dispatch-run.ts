import { isCancellation } from '../errors';
import { runsFunctionsDirectly, type DirectRunner, type Executor, type JobHandle, type ResourceStatus, type TaskMetadata } from '../executors/executor';
import type { PayloadArg, PayloadStep, TaskOutput, TaskPayload } from '../executors/task-payload';
import type { DispatchSnapshot, NodeView, StatusName } from '../protocol/messages';
import type { DispatchRow, NodeRow } from '../store/schema';
import type { EncodedValue, JobState, NodeState } from './run-state';
import {
  dispatchRowOf, earlierNodesOf, encodeValue, iso, limitFieldsOf, nodeRowOf, nodeViewOf, resultOf, snapshotOf, type ProjectedRun,
} from './projections';
import type { JournalEntry } from '../store/journal';
import { dispatchFinalEntry, nodeEntry, type RowSource } from '../store/journal-entries';
import { Status, canTransition, dispatchStatusOf, isTerminal } from '../workflow/status';
import { isNodeOutput, resolveOutputs, type NodeOutput } from '../workflow/node-output';
import type { GraphNode, TransportGraph } from '../workflow/transport-graph';
import type { Lattice } from '../workflow/lattice';
import type { Result } from './result';
import { LazyAbort } from '../executors/lazy-abort';
import { JobExecutionContext } from '../executors/job-execution-context';
import { outcomeOfOutsideCancel, outcomeOfSublattice, type RecordedOutcome } from './cancel-outcome';
import { killJob, outcomeOfJobStop } from './job-kill';
import type { TaskContext } from '../executors/runner/run-payload';
import type { DispatchLimits } from './limits';
import type { EarlierNode } from './redispatch';
import { encodeWorkflow } from './stored-workflow';

/** What a DispatchRun needs from the dispatcher that owns it. */
export interface RunHost {
  executorFor(node: GraphNode): Executor<any, any>;
  /** Run `launch` when the executor has a free slot; `launch` returns false if it started nothing. */
  admit(executor: Executor<any, any>, launch: () => boolean): void;
  release(executor: Executor<any, any>): void;
  executorLabel(node: GraphNode): string;
  executorConfigJson(node: GraphNode): string | null;
  /** What a redispatch compares to reuse this node (see reuse-key.ts). */
  reuseKey(node: GraphNode): string | null;
  startSubDispatch(parent: DispatchRun, node: GraphNode, args: unknown[]): DispatchRun;
  /** Mark rows as changed for the next snapshot. */
  persist(run: DispatchRun, nodeId?: number): void;
  /** Append facts to the journal (group commit); returns the sequence number to wait on. */
  journal(run: DispatchRun, entries: JournalEntry[]): number;
  /** Resolves once journal entries up to `seq` (default: all so far) are on disk. */
  durable(seq?: number): Promise<void>;
  /** Where an encoded output or result is kept (large ones go to a file, written now). */
  placeValue(run: DispatchRun, key: string, bytes: Uint8Array | null): EncodedValue;
  emitNode(run: DispatchRun, node: Partial<NodeView> & { id: number }): void;
  /** Whether anyone listens to node changes (building the event is skipped otherwise). */
  wantsNodeEvents(): boolean;
  emitDispatch(run: DispatchRun): void;
  emitOutput(run: DispatchRun, nodeId: number, stream: 'stdout' | 'stderr', text: string): void;
  /** How long a cancel waits for an executor to confirm before reporting it unconfirmed. */
  readonly cancelConfirmTimeoutMs: number;
}

const INLINE_HANDLE = JSON.stringify({ kind: 'inline', pid: process.pid });
/**
 * One dispatch while it runs in this process: the transport graph, the
 * state of each node, scheduling, and cancellation. Single-threaded by
 * construction: every state change happens in one synchronous turn.
 */
export class DispatchRun implements RowSource, ProjectedRun {
  readonly nodes: NodeState[];
  status: StatusName = Status.RUNNING;
  readonly startedAt = new Date();
  completedAt: Date | null = null;
  /** performance.now() when the dispatch ended (to know when its final rows are on disk). */
  finishedAtMono = Infinity;
  result: unknown = null;
  /** The result, encoded once when the dispatch completed (for rows; see projections.ts). */
  encodedResult: EncodedValue | undefined;
  error: string | null = null;
  readonly done: Promise<void>;
  private resolveDone!: () => void;
  private readonly jobs: number[][];
  private readonly jobIndexOf: number[];
  private unfinished: number;
  /** Time limits, budget and costs, when the dispatch has any (see limits.ts). */
  limits: DispatchLimits | undefined;
  /** The dispatch this one was redispatched from (ct.redispatch). */
  redispatchOf: string | null = null;
  /** The lattice's arguments (stored, so a redispatch can run with them again). */
  inputs: unknown[] | undefined;
  /** The inputs, encoded on first use (see projections.ts). */
  encodedInputs: Uint8Array | null | undefined;
  /** The workflow as stored (stored-workflow.ts), encoded once, when the dispatch is first written. */
  private encodedWorkflow: EncodedValue | undefined;
  /** Per node reused by a redispatch: the dispatch whose result it took. Sparse. */
  reusedFrom: string[] | undefined;
  /** Reuse keys, computed once per node (see projections.ts). */
  reuseKeys: Array<string | null | undefined> | undefined;

  constructor(
    readonly dispatchId: string,
    readonly lattice: Lattice<any>,
    readonly graph: TransportGraph,
    jobs: number[][],
    readonly host: RunHost,
    readonly parent: { run: DispatchRun; nodeId: number } | null,
  ) {
    this.done = new Promise((r) => (this.resolveDone = r));
    this.jobs = jobs;
    this.jobIndexOf = [];
    jobs.forEach((j, i) => j.forEach((id) => (this.jobIndexOf[id] = i)));
    this.nodes = graph.nodes.map((g) => ({
      graph: g, status: Status.NEW_OBJECT, startedAt: null, completedAt: null, output: undefined, hasOutput: false,
      encoded: undefined, error: null, cancelRequested: false, cancelReason: null, cancelSource: null, cancelOutcome: null,
      cancelDetail: null, jobHandle: null, subDispatchId: null, sub: undefined,
      remainingDeps: g.dependsOn.length, job: undefined, waiting: false, settled: undefined, settle: undefined,
    }));
    this.unfinished = this.nodes.length;
  }

  get name(): string {
    return this.lattice.name;
  }

  /** The sub-dispatch a started sublattice node runs (the cancel operation's affected tree). */
  subOf(nodeId: number): DispatchRun | undefined {
    return this.nodes[nodeId].sub;
  }

  /**
   * Before start: a redispatch reuses this node's earlier result instead of
   * running it (COMPLETED, with `reusedFrom`); its dependents count it as done.
   */
  markReused(id: number, output: unknown, reusedFrom: string): void {
    const n = this.nodes[id];
    n.status = Status.COMPLETED;
    n.output = output;
    n.hasOutput = true;
    (this.reusedFrom ??= [])[id] = reusedFrom;
    this.unfinished--;
    for (const d of this.graph.dependents()[id]) this.nodes[d].remainingDeps--;
  }

  /** Begin scheduling. */
  start(): void {
    if (this.unfinished === 0) this.finishIfDone();
    else this.startReady(this.jobs.map((_, i) => i));
  }

  // ---- scheduling -----------------------------------------------------------

  private readyQueue: number[] = [];
  private readyHead = 0;
  private draining = false;

  /**
   * Start the jobs whose inputs are ready. Iterative, through a queue: a
   * task that finishes synchronously (inline) releases its dependents here
   * without growing the stack, even along a chain of 100,000 tasks.
   */
  private startReady(jobIndexes: Iterable<number>): void {
    for (const j of jobIndexes) this.readyQueue.push(j);
    if (this.draining) return;
    this.draining = true;
    try {
      while (this.readyHead < this.readyQueue.length) {
        const ids = this.jobs[this.readyQueue[this.readyHead++]];
        const head = this.nodes[ids[0]];
        if (head.status !== Status.NEW_OBJECT || head.remainingDeps > 0 || head.job || head.waiting) continue;
        if (ids.some((id) => this.nodes[id].cancelRequested || this.nodes[id].status !== Status.NEW_OBJECT)) continue;
        if (head.graph.kind === 'sublattice') this.startSublattice(head);
        else this.startJob(ids);
      }
    } finally {
      this.readyQueue = [];
      this.readyHead = 0;
      this.draining = false;
    }
  }

  private startJob(ids: number[]): void {
    const head = this.nodes[ids[0]];
    let executor: Executor<any, any>;
    try {
      // The executor is created only now, when the task is about to start (never for a task cancelled earlier).
      executor = this.host.executorFor(head.graph);
    } catch (e) {
      const job = this.newJob(ids, undefined);
      this.finishJob(job, undefined, e);
      return;
    }
    head.waiting = true;
    // The executor may cap how many jobs it holds at once; the rest wait here as NEW_OBJECT.
    this.host.admit(executor, () => {
      head.waiting = false;
      if (head.status !== Status.NEW_OBJECT || ids.some((id) => this.nodes[id].cancelRequested || this.nodes[id].status !== Status.NEW_OBJECT)) {
        return false;
      }
      // A task whose minimum cost no longer fits the budget never starts (the limits cancel it).
      if (this.limits && !this.limits.mayStart(ids)) return false;
      this.launchJob(ids, executor);
      return true;
    });
  }

  private newJob(ids: number[], executor: Executor<any, any> | undefined): JobState {
    const job: JobState = {
      nodeIds: ids, executor, abort: new LazyAbort(), handleJson: null, killing: undefined, finished: false,
    };
    const now = new Date();
    for (const id of ids) {
      const n = this.nodes[id];
      n.job = job;
      n.status = Status.RUNNING;
      n.startedAt = now;
      this.changed(n, () => ({ status: n.status, startedAt: iso(now) }));
    }
    return job;
  }

  private launchJob(ids: number[], executor: Executor<any, any>): void {
    const job = this.newJob(ids, executor);
    const head = this.nodes[ids[0]];
    if (ids.length === 1 && runsFunctionsDirectly(executor)) {
      this.runInline(job, head, executor);
      return;
    }
    const metadata: TaskMetadata = { dispatchId: this.dispatchId, nodeId: ids[0], nodeIds: ids, name: head.graph.name, timeLimitMs: this.jobTimeLimitMs(ids) };
    let payload: TaskPayload;
    try {
      payload = this.buildPayload(ids, executor.runsInProcess);
    } catch (e) {
      this.finishJob(job, undefined, e);
      return;
    }
    const ctx = this.context(job, metadata);
    executor.execute(payload, ctx).then(
      (out: TaskOutput) => this.finishJob(job, out, undefined),
      (err: unknown) => this.finishJob(job, undefined, err),
    );
  }

  /** A packed job's limit is the sum of its members' (none if any member has none). */
  private jobTimeLimitMs(ids: number[]): number | undefined {
    if (!this.limits) return undefined;
    let sum = 0;
    for (const id of ids) {
      const t = this.limits.taskTimeLimitMs(id);
      if (t === undefined) return undefined;
      sum += t;
    }
    return sum;
  }

  /** @internal The dispatcher stops waiting for a job: its executor slot is free again. */
  markFinished(job: JobState): void {
    job.finished = true;
    if (job.executor) this.host.release(job.executor);
  }

  /**
   * Inline tasks skip the executor's step template: there is nothing to
   * serialize, upload or provision, and at tens of thousands of tasks per
   * second its awaits would be most of the cost.
   */
  private runInline(job: JobState, n: NodeState, executor: DirectRunner): void {
    const g = n.graph;
    const key = `${this.dispatchId}:${g.id}`;
    job.handleJson = n.jobHandle = INLINE_HANDLE;
    const ctx: TaskContext = {
      dispatchId: this.dispatchId,
      nodeId: g.id,
      name: g.name,
      get signal() {
        return job.abort.signal;
      },
    };
    const done = (ok: boolean, value: unknown) =>
      this.finishJob(
        job,
        ok ? { steps: [{ nodeId: g.id, ok: true, value }] } : undefined,
        ok ? undefined : value,
      );
    let value: unknown;
    try {
      const args = g.args.length ? g.args.map((a) => this.resolve(a)) : g.args;
      value = executor.runInline(g.fn!, args, ctx, key);
    } catch (e) {
      done(false, e);
      return;
    }
    if (value !== null && typeof value === 'object' && typeof (value as any).then === 'function') {
      (value as Promise<unknown>).then((v) => done(true, v), (e) => done(false, e));
    } else {
      done(true, value);
    }
  }

  private buildPayload(ids: number[], inProcess: boolean): TaskPayload {
    const steps: PayloadStep[] = ids.map((id, k) => {
      const g = this.nodes[id].graph;
      const prev = k > 0 ? ids[k - 1] : -1;
      const args: PayloadArg[] = g.args.map((a) =>
        isNodeOutput(a) && a.nodeId === prev ? { fromStep: k - 1 } : { value: this.resolve(a) },
      );
      // Only an in-process executor gets the function object; everything else gets its source.
      return inProcess ? { nodeId: id, name: g.name, source: g.source ?? '', args, fn: g.fn } : { nodeId: id, name: g.name, source: g.source ?? '', args };
    });
    return { version: 1, steps };
  }

  private resolve(value: unknown): unknown {
    return resolveOutputs(value, (o: NodeOutput) => this.nodes[o.nodeId].output);
  }

  /** The job's execution context: the one implementation of the cancel checks and of the setJobHandle race rule. */
  private context(job: JobState, metadata: TaskMetadata): JobExecutionContext {
    const run = this;
    return new JobExecutionContext(metadata, {
      recordHandle(handle: JobHandle, json: string) {
        job.handleJson = json;
        for (const id of job.nodeIds) {
          run.nodes[id].jobHandle = json;
          run.changed(run.nodes[id], () => ({ jobHandle: handle }));
        }
        // A job that outlives this process must be findable after a crash: its handle is on disk before anyone sees it.
        if (job.executor?.durableJobHandles) return run.host.durable(run.journalNodes(job.nodeIds));
      },
      killJob: () => killJob(run, job),
      reportStatus(status: ResourceStatus) {
        job.resourceStatus = status;
        for (const id of job.nodeIds) {
          const n = run.nodes[id];
          // A cancel in progress (CANCELLING) or a terminal state is never overwritten (the status model's transitions).
          if (n.status === status || !canTransition(n.status, status)) continue;
          n.status = status;
          run.changed(n, { status });
        }
      },
      log(stream, text) {
        run.host.emitOutput(run, metadata.nodeId, stream, text);
      },
    }, job.abort);
  }

  private finishJob(job: JobState, out: TaskOutput | undefined, err: unknown): void {
    if (job.finished) return;
    if (job.killing && !job.killResult) {
      // The job died from our kill before the executor confirmed it: wait for the verdict to report it truthfully.
      void job.killing.then(() => this.finishJob(job, out, err));
      return;
    }
    this.markFinished(job);
    // A job that ended by itself before the kill reached it keeps its own outcome (completed or failed).
    const cancelled = job.abort.aborted && job.killResult?.endedByItself !== true;
    for (const id of job.nodeIds) {
      const n = this.nodes[id];
      if (isTerminal(n.status)) continue;
      const step = out?.steps.length === 1 ? (out.steps[0].nodeId === id ? out.steps[0] : undefined) : out?.steps.find((s) => s.nodeId === id);
      if (step && step.ok) {
        // It finished, even if a cancel was on its way: an honest COMPLETED.
        n.output = step.value;
        n.hasOutput = true;
        this.terminal(n, Status.COMPLETED, null);
      } else if (cancelled || (err !== undefined && isCancellation(err)) || (step && !step.ok && step.cancelled)) {
        this.terminal(n, Status.CANCELLED, null, cancelled ? outcomeOfJobStop(job) : outcomeOfOutsideCancel(job.resourceStatus, err));
      } else {
        const message = step && !step.ok
          ? `${step.error.name}: ${step.error.message}${step.error.stack ? `\n${step.error.stack}` : ''}`
          : describeError(err);
        this.terminal(n, Status.FAILED, message);
      }
    }
    this.afterTerminal(job.nodeIds);
  }

  private startSublattice(node: NodeState): void {
    node.status = Status.RUNNING;
    node.startedAt = new Date();
    let sub: DispatchRun;
    try {
      sub = this.host.startSubDispatch(this, node.graph, node.graph.args.map((a) => this.resolve(a)));
    } catch (e) {
      this.terminal(node, Status.FAILED, describeError(e));
      this.afterTerminal([node.graph.id]);
      return;
    }
    node.sub = sub;
    node.subDispatchId = sub.dispatchId;
    this.journalNodes([node.graph.id]);
    this.changed(node, { status: node.status, startedAt: iso(node.startedAt), subDispatchId: sub.dispatchId });
    void sub.done.then(() => {
      if (isTerminal(node.status)) return;
      if (sub.status === Status.COMPLETED) {
        node.output = sub.result;
        node.hasOutput = true;
        this.terminal(node, Status.COMPLETED, null);
      } else if (sub.status === Status.CANCELLED) {
        this.terminal(node, Status.CANCELLED, null, outcomeOfSublattice(sub.nodes.map((m) => m.cancelOutcome), sub.dispatchId));
      } else {
        this.terminal(node, Status.FAILED, sub.error ?? `Sub-dispatch ${sub.dispatchId} failed.`);
      }
      this.afterTerminal([node.graph.id]);
    });
  }

  // ---- state changes --------------------------------------------------------

  /** @internal A node reaches a final status (with the cancel's recorded outcome, when a cancel ended it). */
  terminal(n: NodeState, status: StatusName, error: string | null, cancel?: RecordedOutcome): void {
    n.status = status;
    n.completedAt = new Date();
    n.error = error;
    if (cancel) {
      n.cancelOutcome = cancel.outcome;
      n.cancelDetail = cancel.detail ?? n.cancelDetail;
    } else if (n.cancelRequested) {
      // Asked to cancel, it completed or failed first (the job won the race): that is its recorded outcome.
      n.cancelOutcome = 'already_finished';
    }
    if (n.hasOutput) n.encoded = this.host.placeValue(this, `node-${n.graph.id}`, encodeValue(n.output));
    // Durable before reported: views hear of it only once this entry is on disk.
    this.journalNodes([n.graph.id]);
    this.unfinished--;
    this.changed(n, () => ({
      status, completedAt: iso(n.completedAt), error, cancelOutcome: n.cancelOutcome, cancelDetail: n.cancelDetail,
      cancelRequested: n.cancelRequested, cancelReason: n.cancelReason, cancelSource: n.cancelSource,
    }));
    n.settle?.();
    n.job = undefined; // release the job's controller and context
  }

  /** @internal Resolves once the node is terminal. */
  settledOf(n: NodeState): Promise<void> {
    if (isTerminal(n.status)) return Promise.resolve();
    n.settled ??= new Promise<void>((r) => (n.settle = r));
    return n.settled;
  }

  /** @internal Release dependents of finished nodes; cancel what can no longer run. */
  afterTerminal(ids: number[]): void {
    const dependents = this.graph.dependents();
    const ready = new Set<number>();
    for (const id of ids) {
      const n = this.nodes[id];
      if (n.status === Status.COMPLETED) {
        for (const d of dependents[id]) {
          const dn = this.nodes[d];
          dn.remainingDeps--;
          if (dn.remainingDeps === 0) ready.add(this.jobIndexOf[d]);
        }
      } else {
        // A failed or cancelled task's dependents can never run.
        const why = n.status === Status.FAILED ? `upstream task ${id} (${n.graph.name}) failed` : `upstream task ${id} (${n.graph.name}) was cancelled`;
        for (const d of this.graph.downstreamOf([id])) {
          const dn = this.nodes[d];
          // Never started (no job, no sub-dispatch) and not final: it can only end CANCELLED now.
          if (dn.job || dn.sub || isTerminal(dn.status) || !canTransition(dn.status, Status.CANCELLED)) continue;
          dn.cancelReason ??= why;
          this.terminal(dn, Status.CANCELLED, null, { outcome: 'aborted_before_start', detail: why });
        }
      }
    }
    this.startReady(ready);
    this.finishIfDone();
  }

  /** @internal The dispatch ends once every node is terminal (rule 7). */
  finishIfDone(): void {
    if (this.unfinished > 0 || isTerminal(this.status)) return;
    const final = dispatchStatusOf(this.nodes.map((n) => n.status));
    if (final === Status.FAILED) {
      this.status = Status.FAILED;
      const failed = this.nodes.filter((n) => n.status === Status.FAILED);
      this.error = failed.map((n) => `Task ${n.graph.id} (${n.graph.name}) failed: ${n.error?.split('\n')[0]}`).join('\n');
    } else if (final === Status.CANCELLED) {
      this.status = Status.CANCELLED;
    } else {
      this.status = Status.COMPLETED;
      try {
        this.result = this.resolve(this.graph.returnTemplate);
      } catch (e) {
        this.status = Status.FAILED;
        this.error = describeError(e);
      }
    }
    this.completedAt = new Date();
    this.finishedAtMono = performance.now();
    this.limits?.close();
    if (this.status === Status.COMPLETED) this.encodedResult = this.host.placeValue(this, 'result', encodeValue(this.result));
    this.host.journal(this, [dispatchFinalEntry(this.dispatchRow(), this.encodedResult?.ref ?? null)]);
    this.host.emitDispatch(this);
    this.host.persist(this);
    this.resolveDone();
  }

  /** @internal A node changed: persist it, tell the views. */
  changed(n: NodeState, fields: Partial<NodeView> | (() => Partial<NodeView>)): void {
    this.limits?.onStatus(n.graph.id, n.status);
    this.host.persist(this, n.graph.id);
    if (this.host.wantsNodeEvents()) this.host.emitNode(this, { id: n.graph.id, ...(typeof fields === 'function' ? fields() : fields) });
  }

  // ---- projections (projections.ts) --------------------------------------------

  nodeView(n: NodeState): NodeView {
    return nodeViewOf(this, n);
  }

  /** Cost and limit warning of a node, for views (only when the dispatch has limits or prices). */
  limitFields(id: number): Pick<NodeView, 'cost' | 'limitWarning'> {
    return limitFieldsOf(this, id);
  }

  /** The node's limit fields changed: tell the views. */
  limitsChanged(id: number): void {
    this.host.persist(this, id);
    if (this.host.wantsNodeEvents()) this.host.emitNode(this, { id, ...this.limitFields(id) });
  }

  snapshot(): DispatchSnapshot {
    return snapshotOf(this);
  }

  toResult(): Result {
    return resultOf(this);
  }

  dispatchRow(): DispatchRow {
    return { ...dispatchRowOf(this), ...this.workflowColumns() };
  }

  private workflowColumns(): { workflow: Uint8Array | null; workflowRef: string | null } {
    this.encodedWorkflow ??= this.host.placeValue(this, 'workflow', encodeWorkflow(this.graph, this.lattice.options));
    return { workflow: this.encodedWorkflow.inline, workflowRef: this.encodedWorkflow.ref };
  }

  nodeRow(id: number): NodeRow {
    return nodeRowOf(this, id);
  }

  /** The nodes as a redispatch plans from them (outputs as they are, not encoded). */
  earlierNodes(): EarlierNode[] {
    return earlierNodesOf(this);
  }

  nodeCount(): number {
    return this.nodes.length;
  }

  /** Journal what is known now about these nodes; returns the sequence number to wait on. */
  journalNodes(ids: number[]): number {
    return this.host.journal(this, ids.map((id) => nodeEntry(this.dispatchId, this.nodeRow(id))));
  }
}

export { encodeValue };
export type { EncodedValue };

export function describeError(e: unknown): string {
  if (e instanceof Error) return `${e.name}: ${e.message}`;
  return String(e);
}
