import { ErrorCodes, InvalidInputError } from '../errors';
import type { CostModel } from '../executors/price';
import type { StatusName } from '../protocol/messages';
import { parseDuration, formatDuration, type Duration } from '../workflow/duration';
import { Status, isTerminal } from '../workflow/status';

/** Options of `ct.dispatch(workflow, options)`. */
export interface DispatchOptions {
  /** Wall-clock limit of the whole dispatch, queued time included (`'2h'`, ms). Overrides the lattice's. */
  timeLimit?: Duration;
  /** Most the dispatch may cost, in its executors' price currency: reaching it cancels running and pending tasks. */
  budget?: number;
}

/** Reasons a limit gives its cancels (the cancel source is `limit`). */
export const TIME_LIMIT_REASON = 'time limit';
export const BUDGET_REASON = 'budget';
/** Fraction of a limit at which the node and the dispatch warn. */
export const WARNING_FRACTION = 0.8;

/** `ct.getDispatcher().on('limitWarning', ...)`: a task or dispatch passed 80 % of a limit. */
export interface LimitWarningEvent {
  dispatchId: string;
  /** The task that warns; null for the dispatch as a whole. */
  nodeId: number | null;
  name: string;
  limit: typeof TIME_LIMIT_REASON | typeof BUDGET_REASON;
  /** Used so far and the limit: milliseconds for a time limit, currency for a budget. */
  used: number;
  max: number;
  /** Human text, as shown in the graph and `ct status`, e.g. `time limit 80% (8m of 10m)`. */
  message: string;
}

/** The checked limits of one dispatch, from the lattice, the electrons and the dispatch call. */
export interface LimitPlan {
  dispatchTimeLimitMs: number | undefined;
  budget: number | undefined;
  /** Per node: its time limit in ms (undefined: none). */
  taskTimeLimitMs: Array<number | undefined>;
  /** Per node: its executor's cost model (undefined: no price). */
  cost: Array<CostModel | undefined>;
}

/** A dispatch's own limits, checked: what `ct.dispatch` (and `ct.redispatch`) options give. */
export interface DispatchLimitOptions {
  timeLimitMs: number | undefined;
  budget: number | undefined;
}

/** Check the dispatch options (a bad value is refused before anything runs). */
export function parseDispatchOptions(options: unknown): DispatchLimitOptions {
  if (options === undefined) return { timeLimitMs: undefined, budget: undefined };
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw new InvalidInputError(ErrorCodes.INVALID_ARGUMENT, `ct.dispatch options must be an object like { timeLimit: '2h', budget: 50 }; got ${options === null ? 'null' : typeof options}.`);
  }
  const o = options as Record<string, unknown>;
  const unknown = Object.keys(o).filter((k) => k !== 'timeLimit' && k !== 'budget');
  if (unknown.length) {
    throw new InvalidInputError(ErrorCodes.INVALID_ARGUMENT, `ct.dispatch options: unknown option${unknown.length > 1 ? 's' : ''} ${unknown.join(', ')}; known options are timeLimit and budget.`);
  }
  return parseLimitOptions(o, 'ct.dispatch');
}

/** `timeLimit` and `budget` of `caller`'s options, checked the same way wherever they are given. */
export function parseLimitOptions(o: { timeLimit?: unknown; budget?: unknown }, caller: string): DispatchLimitOptions {
  const budget = o.budget;
  if (budget !== undefined && !(typeof budget === 'number' && Number.isFinite(budget) && budget > 0)) {
    throw new InvalidInputError(ErrorCodes.INVALID_ARGUMENT, `${caller} budget must be a number > 0 in the executors' price currency (e.g. 50); got ${JSON.stringify(budget) ?? String(budget)}.`);
  }
  return { timeLimitMs: o.timeLimit === undefined ? undefined : parseDuration(o.timeLimit, `${caller} timeLimit`), budget: budget as number | undefined };
}

/** What the limits need of the run they watch. */
export interface LimitHost {
  readonly dispatchId: string;
  nodeName(id: number): string;
  /** Cancel through the dispatcher's normal cancel path, source `limit` (null: the whole dispatch). */
  cancel(taskIds: number[] | null, reason: string): void;
  warn(event: LimitWarningEvent): void;
  /** A node's cost or warning changed (for views). */
  nodeChanged(id: number): void;
}

interface TaskClock {
  status: StatusName | undefined;
  runningSince: number | undefined;
  runningMs: number;
  limitTimer: NodeJS.Timeout | undefined;
  warnTimer: NodeJS.Timeout | undefined;
  warning: string | null;
  finished: boolean;
  charged: boolean;
}

const now = () => performance.now();

/**
 * Time limits, budget and warnings of one dispatch while it runs. A task's
 * clock runs only while it is RUNNING (QUEUED time counts toward the
 * dispatch's limit only). Every limit fires through the dispatcher's cancel.
 */
export class DispatchLimits {
  private readonly clocks: TaskClock[];
  private readonly startedAt = now();
  private readonly timers: NodeJS.Timeout[] = [];
  private budgetTicker: NodeJS.Timeout | undefined;
  private fired = false;
  private budgetWarned = false;
  /** The dispatch's own warning, once it passed 80 % of its time limit or budget. */
  warning: string | null = null;
  private closed = false;

  constructor(private readonly plan: LimitPlan, private readonly host: LimitHost) {
    this.clocks = plan.taskTimeLimitMs.map(() => ({
      status: undefined, runningSince: undefined, runningMs: 0, limitTimer: undefined, warnTimer: undefined, warning: null, finished: false, charged: false,
    }));
    const limit = plan.dispatchTimeLimitMs;
    if (limit !== undefined) {
      this.timers.push(unref(setTimeout(() => this.warnDispatch(TIME_LIMIT_REASON, limit * WARNING_FRACTION, limit), limit * WARNING_FRACTION)));
      this.timers.push(unref(setTimeout(() => this.fire(null, TIME_LIMIT_REASON), limit)));
    }
    if (plan.budget !== undefined && plan.cost.some(Boolean)) {
      // Running tasks cost more as time passes: check the spend a few times a second.
      this.budgetTicker = unref(setInterval(() => this.checkBudget(), 200));
    }
  }

  /** Whether any limit or price applies (no watcher is made otherwise). */
  static needed(plan: LimitPlan): boolean {
    return plan.dispatchTimeLimitMs !== undefined || plan.budget !== undefined || plan.taskTimeLimitMs.some((t) => t !== undefined) || plan.cost.some(Boolean);
  }

  /** A node's status changed: run, pause or stop its clock. Cheap when nothing changed. */
  onStatus(id: number, status: StatusName): void {
    const c = this.clocks[id];
    if (c.status === status) return;
    c.status = status;
    const t = now();
    if (status === Status.RUNNING) {
      if (c.runningSince !== undefined) return;
      c.runningSince = t;
      if (!c.charged && this.plan.cost[id]) {
        c.charged = true;
        this.host.nodeChanged(id);
      }
      const limit = this.plan.taskTimeLimitMs[id];
      if (limit !== undefined) {
        const left = limit - c.runningMs;
        c.warnTimer = unref(setTimeout(() => this.warnTask(id, limit), Math.max(0, left - limit * (1 - WARNING_FRACTION))));
        c.limitTimer = unref(setTimeout(() => this.fire([id], TIME_LIMIT_REASON), Math.max(0, left)));
      }
      return;
    }
    if (c.runningSince !== undefined && status !== Status.CANCELLING) {
      c.runningMs += t - c.runningSince;
      c.runningSince = undefined;
    }
    if (status === Status.QUEUED || isTerminal(status)) this.stopClock(c);
    if (isTerminal(status)) {
      c.finished = true;
      if (this.plan.cost[id] && c.charged) {
        this.host.nodeChanged(id);
        this.checkBudget();
      }
    }
  }

  /** The task's time limit in ms, for executors that can tell their resource. */
  taskTimeLimitMs(id: number): number | undefined {
    return this.plan.taskTimeLimitMs[id];
  }

  /**
   * Whether a task may start within the budget: its minimum cost (its cost
   * at zero running time) must fit in what is left. A refused task is
   * cancelled with reason `budget`.
   */
  mayStart(ids: number[]): boolean {
    if (this.plan.budget === undefined) return true;
    const min = ids.reduce((sum, id) => sum + (this.plan.cost[id]?.(this.pricedTask(id, 0, false)) ?? 0), 0);
    const spent = this.totalCost() ?? 0;
    if (spent + min <= this.plan.budget && (min > 0 || spent < this.plan.budget)) return true;
    this.host.cancel(ids, BUDGET_REASON);
    return false;
  }

  /** Estimated cost of a task so far (final once it ended); undefined without a price or before it started. */
  costOf(id: number): number | undefined {
    const model = this.plan.cost[id];
    const c = this.clocks[id];
    if (!model || !c.charged) return undefined;
    const running = c.runningMs + (c.runningSince !== undefined ? now() - c.runningSince : 0);
    try {
      return model(this.pricedTask(id, running, c.finished));
    } catch {
      return undefined;
    }
  }

  /** Sum of the tasks' costs; undefined when no executor has a price. */
  totalCost(): number | undefined {
    if (!this.plan.cost.some(Boolean)) return undefined;
    let sum = 0;
    for (let id = 0; id < this.clocks.length; id++) sum += this.costOf(id) ?? 0;
    return sum;
  }

  warningOf(id: number): string | null {
    return this.clocks[id].warning;
  }

  /** The run ended: stop every timer (nothing fires afterwards). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.timers.forEach(clearTimeout);
    if (this.budgetTicker) clearInterval(this.budgetTicker);
    for (const c of this.clocks) this.stopClock(c);
  }

  private pricedTask(id: number, runningMs: number, finished: boolean) {
    return { dispatchId: this.host.dispatchId, nodeId: id, name: this.host.nodeName(id), runningMs, finished };
  }

  private stopClock(c: TaskClock): void {
    clearTimeout(c.limitTimer);
    clearTimeout(c.warnTimer);
    c.limitTimer = c.warnTimer = undefined;
  }

  private checkBudget(): void {
    const budget = this.plan.budget;
    if (budget === undefined || this.closed) return;
    const spent = this.totalCost() ?? 0;
    if (!this.budgetWarned && spent >= budget * WARNING_FRACTION) {
      this.budgetWarned = true;
      this.warnDispatch(BUDGET_REASON, spent, budget);
    }
    if (spent >= budget) this.fire(null, BUDGET_REASON);
  }

  private fire(taskIds: number[] | null, reason: string): void {
    if (this.closed) return;
    if (taskIds === null) {
      if (this.fired) return;
      this.fired = true;
    } else if (taskIds.every((id) => isTerminal(this.clocks[id].status ?? Status.NEW_OBJECT))) {
      return;
    }
    this.host.cancel(taskIds, reason);
  }

  private warnTask(id: number, limit: number): void {
    const c = this.clocks[id];
    if (this.closed || c.warning) return;
    const used = c.runningMs + (c.runningSince !== undefined ? now() - c.runningSince : 0);
    c.warning = warningText(TIME_LIMIT_REASON, used, limit);
    this.host.nodeChanged(id);
    this.host.warn({ dispatchId: this.host.dispatchId, nodeId: id, name: this.host.nodeName(id), limit: TIME_LIMIT_REASON, used, max: limit, message: c.warning });
  }

  private warnDispatch(limit: LimitWarningEvent['limit'], used: number, max: number): void {
    if (this.closed) return;
    const message = warningText(limit, limit === TIME_LIMIT_REASON ? now() - this.startedAt : used, max);
    this.warning = message;
    this.host.warn({ dispatchId: this.host.dispatchId, nodeId: null, name: '', limit, used, max, message });
  }
}

function warningText(limit: string, used: number, max: number): string {
  const pct = Math.round((used / max) * 100);
  const show = (v: number) => (limit === TIME_LIMIT_REASON ? formatDuration(v) : v.toFixed(2));
  return `${limit} ${pct}% (${show(used)} of ${show(max)})`;
}

function unref<T extends NodeJS.Timeout>(t: T): T {
  t.unref?.();
  return t;
}
