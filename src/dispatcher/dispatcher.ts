import { EventEmitter } from 'node:events';
import { randomUUID } from 'node:crypto';
import { CtError, ErrorCodes, InvalidInputError } from '../errors';
import { closeAll } from '../executors/registry';
import { registerBuiltinExecutors } from '../executors/builtin';
import type { DispatchSnapshot, DispatchSummary } from '../protocol/messages';
import { Store } from '../store/store';
import { creationEntries } from '../store/journal-entries';
import { AfterDurable } from './after-durable';
import { ctHome } from '../store/ct-home';
import { assertNotImported } from '../store/imported';
import { TaskLogWriter } from '../store/task-logs';
import { describeOwner, isOrphaned, ownerLiveness } from './dispatch-owner';
import { isLattice, type Lattice } from '../workflow/lattice';
import { isTerminal } from '../workflow/status';
import type { GraphNode } from '../workflow/transport-graph';
import { CancelReport } from './cancel-report';
import { CancelOperation, abandonNeedsOrphan } from './cancel-operation';
import { checkDispatchId, describeValue } from './dispatch-id';
import { findOrphans, type OrphanReport } from './orphans';
import type { CancelOptions } from './cancel-options';
import { CancelRequestWatcher, requestCancel } from './cancel-requests';
import { DispatchRun, type RunHost } from './dispatch-run';
import { validateGraph } from './dispatch-validation';
import { ExecutorResolution } from './executor-resolution';
import { Admission } from './admission';
import type { DispatcherEventMap, DispatcherEventName, DispatcherListener } from './events';
import { planJobs } from './task-packing';
import { DispatchLimits, parseDispatchOptions, type DispatchOptions, type LimitHost } from './limits';
import { limitPlan } from './limit-plan';
import { earlierFromRows, parseRedispatchOptions, planReuse, replaceElectrons, type EarlierNode, type RedispatchOptions, type ValidRedispatchOptions } from './redispatch';
import { reuseKeyOf } from './reuse-key';
import { earlierExpansions, redispatchSource, subRedispatch, type EarlierDispatch, type EarlierExpansions } from './redispatch-source';
import type { Result } from './result';
import { dispatchLimitFieldsOf, resultFromRows, snapshotFromRows, summaryOf } from './projections';

export type { CancelOptions, DispatchOptions };

export interface GetResultOptions {
  /** false (default): the current state now; true: wait until the dispatch ends; a number: wait at most that many ms. */
  wait?: boolean | number;
}

export interface DispatcherOptions {
  /** Store directory; default `$CT_HOME` or `~/.covalent-ts`. */
  home?: string;
  /** How long a cancel waits for an executor to confirm a kill before reporting it unconfirmed. */
  cancelConfirmTimeoutMs?: number;
}

/**
 * Runs dispatches in this process and answers for them: results, live
 * events, and cancellation. One per process (see `getDispatcher`).
 */
export class Dispatcher {
  private readonly runs = new Map<string, DispatchRun>();
  /** Of a redispatch: where its sublattices expanded before, so their tasks are reused too. */
  private readonly expansions = new WeakMap<DispatchRun, EarlierExpansions>();
  private readonly evicted = new Map<string, DispatchSummary>();
  private readonly emitter = new EventEmitter();
  /** Which executor runs each node (executor-resolution.ts). */
  private readonly executorsByNode = new ExecutorResolution();
  /** How many jobs each executor holds at once (admission.ts). */
  private readonly admission = new Admission();
  private storePromise: Promise<Store> | undefined;
  private store: Store | undefined;
  private requests: CancelRequestWatcher | undefined;
  readonly home: string;
  readonly cancelConfirmTimeoutMs: number;
  private readonly host: RunHost;
  private readonly taskLogs: TaskLogWriter;
  /** Events wait here until the facts they announce are on disk. */
  private readonly afterDurable = new AfterDurable(() => this.store?.journal);

  constructor(options: DispatcherOptions = {}) {
    registerBuiltinExecutors();
    this.home = options.home ?? ctHome();
    this.cancelConfirmTimeoutMs = options.cancelConfirmTimeoutMs ?? 60_000;
    this.emitter.setMaxListeners(0);
    this.taskLogs = new TaskLogWriter(this.home);
    this.host = this.makeHost();
  }

  /** The store, opened on first use. */
  getStore(): Promise<Store> {
    this.storePromise ??= Store.open(this.home).then((s) => {
      this.store = s;
      s.onFlushed = () => this.evictFinished();
      this.requests = new CancelRequestWatcher(
        s.paths,
        (id) => this.runs.has(id),
        (req) =>
          this.cancel(req.dispatchId, { taskIds: req.taskIds ?? undefined, reason: req.reason ?? undefined, source: 'external' }).then((r) => r.toJSON()),
      );
      this.requests.start();
      return s;
    });
    this.storePromise.catch(() => (this.storePromise = undefined));
    return this.storePromise;
  }

  // ---- dispatch -------------------------------------------------------------

  /** Start a dispatch in the background; resolves with its id once the graph is built and checked. */
  async dispatch(lattice: Lattice<any>, args: unknown[], options?: DispatchOptions): Promise<string> {
    if (!isLattice(lattice)) {
      throw new InvalidInputError(
        ErrorCodes.NOT_A_LATTICE,
        `ct.dispatch expects a lattice, got ${describeValue(lattice)}. Wrap the workflow function with ct.lattice(fn) first.`,
      );
    }
    const limits = parseDispatchOptions(options);
    const store = await this.getStore();
    const run = this.createRun(lattice, args, null, limits);
    // The id is a promise that the dispatch exists: it is on disk before the caller has it.
    await store.whenDurable();
    // Start on the next turn: the caller gets the id (and can show the graph) before tasks are handed out.
    setImmediate(() => run.start());
    return run.dispatchId;
  }

  private createRun(
    lattice: Lattice<any>,
    args: unknown[],
    parent: { run: DispatchRun; nodeId: number } | null,
    options: { timeLimitMs: number | undefined; budget: number | undefined } = { timeLimitMs: undefined, budget: undefined },
    redispatch?: { earlier: { dispatchId: string; nodes: EarlierNode[] }; options: ValidRedispatchOptions; runnable?: (toRun: GraphNode[]) => void },
  ): DispatchRun {
    const graph = lattice.build(args);
    for (const n of graph.nodes) if (n.kind === 'electron') n.executor ??= lattice.options.executor ?? 'local';
    const replaced = redispatch ? replaceElectrons(graph.nodes, redispatch.options.replaceElectrons, redispatch.earlier.dispatchId) : undefined;
    validateGraph(graph);
    const plan = limitPlan(graph.nodes, lattice, options);
    const reuse = redispatch
      ? planReuse(graph.nodes, graph.nodes.map((n) => this.host.reuseKey(n)), redispatch.earlier, replaced!, redispatch.options.reuseCompleted)
      : [];
    const reusedIds = new Set(reuse.map((r) => r.nodeId));
    const toRun = reusedIds.size ? graph.nodes.filter((n) => !reusedIds.has(n.id)) : graph.nodes;
    redispatch?.runnable?.(toRun);
    const jobs = planJobs(toRun, lattice.options.taskPacking === true && !reusedIds.size, (n) => this.executorsByNode.executorKey(n));
    const run = new DispatchRun(randomUUID(), lattice, graph, jobs, this.host, parent);
    run.inputs = args;
    if (redispatch) run.redispatchOf = redispatch.earlier.dispatchId;
    const expansions = redispatch?.options.reuseCompleted ? earlierExpansions(redispatch.earlier.nodes) : undefined;
    if (expansions) this.expansions.set(run, expansions);
    for (const r of reuse) run.markReused(r.nodeId, r.output, r.reusedFrom);
    if (DispatchLimits.needed(plan)) run.limits = new DispatchLimits(plan, this.limitHost(run));
    this.runs.set(run.dispatchId, run);
    if (this.store) {
      this.store.register(run.dispatchId, run);
      this.store.append(creationEntries(run));
    }
    this.emit('dispatch-created', { dispatchId: run.dispatchId, parentDispatchId: parent?.run.dispatchId ?? null, name: run.name });
    this.emit('dispatch-changed', { dispatchId: run.dispatchId, status: run.status, startedAt: run.startedAt.toISOString(), completedAt: null });
    return run;
  }

  /** Limits fire through this dispatcher's cancel (source `limit`), on their own turn. */
  private limitHost(run: DispatchRun): LimitHost {
    return {
      dispatchId: run.dispatchId,
      nodeName: (id) => run.nodes[id].graph.name,
      cancel: (taskIds, reason) =>
        setImmediate(() => void this.cancel(run.dispatchId, { ...(taskIds ? { taskIds } : {}), reason, source: 'limit' }).catch(() => undefined)),
      warn: (event) => {
        if (event.nodeId === null) {
          // The dispatch's own warning: on its row (ct status) and to its views (the graph), like a node's.
          this.host.persist(run);
          this.host.emitDispatch(run);
        }
        this.emit('limitWarning', event);
      },
      nodeChanged: (id) => run.limitsChanged(id),
    };
  }

  /**
   * `ct.redispatch`: a new dispatch of an earlier one's workflow (its
   * original inputs unless new ones are given) that reuses every task that
   * COMPLETED before and is unchanged. Works from the store alone (see
   * redispatch-source.ts): the lattice this process defined under the
   * dispatch's name, else the workflow stored with the dispatch.
   */
  async redispatch(dispatchId: string, options?: RedispatchOptions, newArgs?: unknown[]): Promise<string> {
    checkDispatchId(dispatchId);
    const valid = parseRedispatchOptions(options);
    const store = await this.getStore();
    const read = (id: string) => this.earlierDispatch(store, id);
    const earlier = read(dispatchId);
    if (!earlier) throw this.unknownDispatch(dispatchId);
    const source = redispatchSource(dispatchId, earlier, newArgs, read);
    const run = this.createRun(source.lattice, source.args, null, valid.limits, {
      earlier: { dispatchId, nodes: earlier.nodes }, options: valid, runnable: source.runnable,
    });
    setImmediate(() => run.start());
    return run.dispatchId;
  }

  /** An earlier dispatch as a redispatch reads it: this process's live state, or the store's rows. */
  private earlierDispatch(store: Store, id: string): EarlierDispatch | undefined {
    const live = this.runs.get(id);
    if (live) return { dispatch: live.dispatchRow(), rows: () => live.nodes.map((_, i) => live.nodeRow(i)), nodes: live.earlierNodes(), lattice: live.lattice };
    const stored = store.readDispatch(id);
    return stored && { dispatch: stored.dispatch, rows: () => stored.nodes, nodes: earlierFromRows(stored.nodes) };
  }

  private makeHost(): RunHost {
    const self = this;
    return {
      get cancelConfirmTimeoutMs() {
        return self.cancelConfirmTimeoutMs;
      },
      executorFor: (node) => this.executorsByNode.executorFor(node),
      admit: (executor, launch) => this.admission.admit(executor, launch),
      release: (executor) => this.admission.release(executor),
      executorLabel: (node) => this.executorsByNode.label(node),
      executorConfigJson: (node) => this.executorsByNode.storedConfigJson(node),
      reuseKey: (node) => (node.kind === 'electron' ? reuseKeyOf(node, this.executorsByNode.storedConfigJson(node)!) : null),
      startSubDispatch: (parent, node, args) => {
        const redispatch = this.store ? subRedispatch(this.expansions.get(parent), node.id, (id) => this.earlierDispatch(this.store!, id)) : undefined;
        const run = this.createRun(node.lattice!, args, { run: parent, nodeId: node.id }, undefined, redispatch);
        run.start();
        return run;
      },
      persist: (run, nodeId) => this.store?.touch(run.dispatchId, run, nodeId),
      journal: (_run, entries) => this.store?.append(entries) ?? 0,
      durable: (seq) => this.store?.whenDurable(seq) ?? Promise.resolve(),
      placeValue: (run, key, bytes) => this.store?.placeValue(run.dispatchId, key, bytes) ?? { inline: bytes, ref: null },
      emitNode: (run, node) => this.emit('node-changed', { dispatchId: run.dispatchId, node }),
      wantsNodeEvents: () => this.emitter.listenerCount('node-changed') > 0,
      emitDispatch: (run) =>
        this.emit('dispatch-changed', {
          dispatchId: run.dispatchId,
          status: run.status,
          startedAt: run.startedAt.toISOString(),
          completedAt: run.completedAt?.toISOString() ?? null,
          ...dispatchLimitFieldsOf(run),
        }),
      emitOutput: (run, nodeId, stream, text) => {
        // Kept for `covalent-ts logs`, whichever executor ran the task.
        this.taskLogs.append(run.dispatchId, nodeId, stream, text);
        this.emit('output', { dispatchId: run.dispatchId, nodeId, stream, text });
      },
    };
  }

  // ---- results --------------------------------------------------------------

  async getResult(dispatchId: string, options: GetResultOptions = {}): Promise<Result> {
    checkDispatchId(dispatchId);
    const wait = options.wait ?? false;
    if (typeof wait !== 'boolean' && !(typeof wait === 'number' && wait >= 0 && Number.isFinite(wait))) {
      throw new InvalidInputError(ErrorCodes.INVALID_ARGUMENT, `wait must be true, false, or a timeout in milliseconds (a number >= 0); got ${describeValue(wait)}.`);
    }
    const run = this.runs.get(dispatchId);
    if (run) {
      if (wait === true) await run.done;
      else if (typeof wait === 'number' && wait > 0) await withTimeout(run.done, wait);
      return this.durableView(run.toResult());
    }
    const store = await this.getStore();
    const deadline = wait === true ? Infinity : typeof wait === 'number' ? Date.now() + wait : 0;
    for (let delay = 20; ; delay = Math.min(delay * 2, 500)) {
      const stored = store.readDispatch(dispatchId);
      if (!stored) throw this.unknownDispatch(dispatchId);
      const done = isTerminal(stored.dispatch.status) || isOrphaned(stored.dispatch);
      if (done || Date.now() >= deadline) return resultFromRows(stored.dispatch, stored.nodes);
      await new Promise((r) => setTimeout(r, Math.min(delay, Math.max(1, deadline - Date.now()))));
    }
  }

  /** Graph and node states of a dispatch, for views. */
  async snapshot(dispatchId: string): Promise<DispatchSnapshot> {
    checkDispatchId(dispatchId);
    const run = this.runs.get(dispatchId);
    if (run) return this.durableView(run.snapshot());
    const stored = (await this.getStore()).readDispatch(dispatchId);
    if (!stored) throw this.unknownDispatch(dispatchId);
    return snapshotFromRows(stored.dispatch, stored.nodes);
  }

  /** A view of live state, returned once every fact in it is on disk. */
  private async durableView<T>(view: T): Promise<T> {
    await this.store?.whenDurable();
    return view;
  }

  /** Resolves once every fact this process has journaled so far is on disk. */
  whenDurable(): Promise<void> {
    return this.store?.whenDurable() ?? Promise.resolve();
  }

  /**
   * Snapshot of a dispatch this process runs (synchronous; undefined if not
   * here). It may hold a fact whose group commit is still in flight: await
   * `whenDurable()` before showing it, as `snapshot()` does.
   */
  liveSnapshot(dispatchId: string): DispatchSnapshot | undefined {
    return this.runs.get(dispatchId)?.snapshot();
  }

  /**
   * Finished dispatches stay in memory only while recent: the newest
   * KEEP_FINISHED top-level ones. Older ones, once their final state is on
   * disk, are dropped to a one-line summary; `getResult` reads them back
   * from the store. A kernel that runs for days does not grow without bound.
   */
  private evictFinished(): void {
    const KEEP_FINISHED = 20;
    const snapshotAt = this.store?.lastSnapshotTakenAt ?? -Infinity;
    const finished = [...this.runs.values()].filter((r) => !r.parent && isTerminal(r.status));
    for (const run of finished.slice(0, Math.max(0, finished.length - KEEP_FINISHED))) {
      const family = this.familyOf(run);
      if (!family.every((r) => isTerminal(r.status) && r.finishedAtMono < snapshotAt)) continue;
      for (const r of family) {
        this.evicted.set(r.dispatchId, summaryOf(r));
        this.runs.delete(r.dispatchId);
      }
    }
  }

  private familyOf(run: DispatchRun): DispatchRun[] {
    const out = [run];
    for (const n of run.nodes) {
      const child = n.subDispatchId ? this.runs.get(n.subDispatchId) : undefined;
      if (child) out.push(...this.familyOf(child));
    }
    return out;
  }

  /**
   * Dispatches of this store whose process is gone before they finished
   * (a kernel that died, say), with the last known state of their jobs.
   * Cancel them with `cancel(id)`: their jobs are stopped from the stored handles.
   */
  async orphans(): Promise<OrphanReport[]> {
    return findOrphans(await this.getStore(), this.home);
  }

  /** The dispatches this process runs or ran, oldest first. */
  listDispatches(): DispatchSummary[] {
    return [...this.evicted.values(), ...[...this.runs.values()].map((r) => summaryOf(r))];
  }

  // ---- cancel ---------------------------------------------------------------

  /**
   * Cancel a dispatch, or some of its tasks and everything downstream, as
   * one `CancelOperation` (cancel-operation.ts): validated first (nothing changes on bad
   * input), the request durable, each task stopped at the earliest point,
   * and a report of what happened to each task.
   */
  async cancel(dispatchId: string, options?: CancelOptions): Promise<CancelReport> {
    const op = new CancelOperation(dispatchId, options);
    const run = this.runs.get(dispatchId);
    if (run) return op.onRun(run);
    return this.cancelStored(op);
  }

  /**
   * A dispatch this process does not run: finished earlier, running in
   * another process (asked through the shared home, where its own
   * CancelOperation runs), or orphaned by a process that died.
   */
  private async cancelStored(op: CancelOperation): Promise<CancelReport> {
    const { dispatchId } = op;
    const { taskIds, reason, abandon } = op.options;
    const store = await this.getStore();
    const stored = store.readDispatch(dispatchId);
    if (!stored) throw this.unknownDispatch(dispatchId);
    op.requireKnownTasks(stored.nodes.length);
    assertNotImported(this.home, dispatchId);
    const owner = ownerLiveness(stored.dispatch);
    if (!isTerminal(stored.dispatch.status) && owner !== 'gone') {
      if (abandon) throw abandonNeedsOrphan(dispatchId, `its process (${describeOwner(stored.dispatch)}) is still running it`);
      // Running in another process (here, or on another host sharing the store): ask it, through the shared home.
      // An owner on another host cannot be checked from here, so it is never treated as dead: only it can cancel.
      const data = await requestCancel(
        store.paths,
        { dispatchId, taskIds, reason },
        this.cancelConfirmTimeoutMs + 30_000,
        () => ownerLiveness(stored.dispatch) !== 'gone',
        owner === 'unknown' ? `it runs on host ${stored.dispatch.ownerHost}, which this machine cannot check` : undefined,
      );
      if (data !== 'owner-gone') return new CancelReport({ ...data, source: 'external' });
      // The owner exited while we waited: the dispatch is an orphan now, cancel it from its handles.
    }
    return op.onOrphan(store, stored);
  }

  private unknownDispatch(dispatchId: string): CtError {
    return new InvalidInputError(
      ErrorCodes.UNKNOWN_DISPATCH,
      `No dispatch with id "${dispatchId}" in this process or in the store at ${this.home}. ` +
        `Check the id (ct.getDispatcher().listDispatches() lists this process's dispatches), or set CT_HOME to the store it was dispatched with.`,
      { details: { dispatchId } },
    );
  }

  // ---- events ---------------------------------------------------------------

  on<K extends DispatcherEventName>(event: K, listener: DispatcherListener<K>): this {
    this.emitter.on(event, listener);
    return this;
  }
  off<K extends DispatcherEventName>(event: K, listener: DispatcherListener<K>): this {
    this.emitter.off(event, listener);
    return this;
  }
  /** Listeners hear of a change once what it announces is on disk (durable before reported). */
  private emit<K extends DispatcherEventName>(event: K, payload: DispatcherEventMap[K]): void {
    if (this.emitter.listenerCount(event)) this.afterDurable.run(() => this.emitter.emit(event, payload));
  }

  /** Wait for running dispatches to be written, release executors, then their process-wide resources (workers, connections). */
  async close(): Promise<void> {
    this.requests?.stop();
    if (this.store) await this.store.close();
    await this.executorsByNode.closeAll();
    // Process-wide executor resources (the local worker pool, pooled SSH connections), through the plugin API.
    await closeAll();
  }

  /** Write pending store changes now. */
  async flush(): Promise<void> {
    if (this.store) await this.store.flush();
  }
}

async function withTimeout(p: Promise<void>, ms: number): Promise<void> {
  let t: NodeJS.Timeout | undefined;
  await Promise.race([p, new Promise<void>((r) => (t = setTimeout(r, ms)))]);
  clearTimeout(t);
}

export { resultFromRows };
