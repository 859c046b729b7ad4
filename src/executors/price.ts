import { ErrorCodes, InvalidInputError } from '../errors';

/** What a price function is told about the task it prices. */
export interface PricedTask {
  dispatchId: string;
  nodeId: number;
  name: string;
  /** Milliseconds the task has been RUNNING so far (0 before it starts: its minimum cost). */
  runningMs: number;
  /** Whether the task has ended (the cost asked for is then its final cost). */
  finished: boolean;
}

/**
 * An executor's price, in any currency the budget uses: per hour of running
 * time, per task (charged when it starts) plus per shot (the executor's
 * `shots` option), or a function of the task returning its cost so far.
 */
export type Price = { perHour: number } | { perTask?: number; perShot?: number } | ((task: PricedTask) => number);

/** A checked price: cost so far of a task. */
export type CostModel = (task: PricedTask) => number;

/** Check an executor's `price` option; undefined when it has none. */
export function costModel(price: unknown, shots: unknown, executorType: string): CostModel | undefined {
  if (price === undefined) return undefined;
  const bad = (why: string) =>
    new InvalidInputError(
      ErrorCodes.INVALID_ARGUMENT,
      `The ${executorType} executor's price ${why}. Use { perHour: 3.06 }, { perTask: 0.3, perShot: 0.00035 }, or a function (task) => cost so far.`,
    );
  if (typeof price === 'function') {
    return (task) => {
      const cost = Number((price as (t: PricedTask) => number)(task));
      if (!Number.isFinite(cost) || cost < 0) throw bad(`function returned ${String(cost)} for task ${task.nodeId}, not a cost >= 0`);
      return cost;
    };
  }
  if (price === null || typeof price !== 'object' || Array.isArray(price)) throw bad(`must be an object or a function, got ${price === null ? 'null' : typeof price}`);
  const p = price as Record<string, unknown>;
  const unknown = Object.keys(p).filter((k) => k !== 'perHour' && k !== 'perTask' && k !== 'perShot');
  if (unknown.length) throw bad(`has unknown field${unknown.length > 1 ? 's' : ''} ${unknown.join(', ')}`);
  for (const k of ['perHour', 'perTask', 'perShot']) {
    if (p[k] !== undefined && !(typeof p[k] === 'number' && Number.isFinite(p[k]) && (p[k] as number) >= 0)) throw bad(`field ${k} must be a number >= 0, got ${JSON.stringify(p[k])}`);
  }
  if (p.perHour !== undefined && (p.perTask !== undefined || p.perShot !== undefined)) throw bad('mixes perHour with perTask/perShot');
  if (p.perHour === undefined && p.perTask === undefined && p.perShot === undefined) throw bad('names no rate');
  const perHour = (p.perHour as number | undefined) ?? 0;
  const fixed = ((p.perTask as number | undefined) ?? 0) + ((p.perShot as number | undefined) ?? 0) * (typeof shots === 'number' ? shots : 0);
  return (task) => fixed + (perHour * task.runningMs) / 3_600_000;
}
