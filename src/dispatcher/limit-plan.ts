import { ErrorCodes, InvalidInputError } from '../errors';
import type { ExecutorConfig } from '../executors/executor';
import { costModel, type CostModel } from '../executors/price';
import { parseDuration } from '../workflow/duration';
import type { Lattice } from '../workflow/lattice';
import type { ExecutorSpec, GraphNode } from '../workflow/transport-graph';
import { executorTypeOf, isExecutorInstance } from './dispatch-validation';
import type { LimitPlan } from './limits';

/**
 * Check and collect a dispatch's limits: electron and lattice time limits,
 * the dispatch's own, its budget and each task's price. Bad values are
 * refused here, at dispatch, naming the task.
 */
export function limitPlan(
  nodes: GraphNode[],
  lattice: Lattice<any>,
  options: { timeLimitMs: number | undefined; budget: number | undefined },
): LimitPlan {
  const latticeLimit = lattice.options.timeLimit === undefined ? undefined : parseDuration(lattice.options.timeLimit, `ct.lattice timeLimit of "${lattice.name}"`);
  const models = new Map<ExecutorSpec | undefined, CostModel | undefined>();
  const plan: LimitPlan = {
    dispatchTimeLimitMs: options.timeLimitMs ?? latticeLimit,
    budget: options.budget,
    taskTimeLimitMs: nodes.map((n) => (n.timeLimit === undefined ? undefined : parseDuration(n.timeLimit, `Task ${n.id} (${n.name}) timeLimit`))),
    cost: nodes.map((n) => {
      if (n.reuse !== undefined && typeof n.reuse !== 'boolean') {
        throw new InvalidInputError(ErrorCodes.INVALID_ARGUMENT, `Task ${n.id} (${n.name}): reuse must be true or false, got ${JSON.stringify(n.reuse)}.`);
      }
      if (n.kind !== 'electron') return undefined;
      if (!models.has(n.executor)) models.set(n.executor, modelOf(n.executor));
      return models.get(n.executor);
    }),
  };
  if (plan.budget !== undefined && !plan.cost.some(Boolean)) {
    throw new InvalidInputError(
      ErrorCodes.INVALID_ARGUMENT,
      `ct.dispatch budget ${plan.budget} has nothing to count: no task's executor has a price. ` +
        `Give the executor a price, e.g. new LocalExecutor({ price: { perHour: 3.06 } }) or { type: 'slurm', options: { price: { perHour: 3.06 } } }.`,
    );
  }
  return plan;
}

function modelOf(spec: ExecutorSpec | undefined): CostModel | undefined {
  if (spec === undefined || typeof spec === 'string') return undefined;
  const type = executorTypeOf(spec);
  if (isExecutorInstance(spec)) return costModel(spec.price, spec.toConfig().options?.shots, type);
  const options = (spec as ExecutorConfig).options ?? {};
  return costModel(options.price, options.shots, type);
}
