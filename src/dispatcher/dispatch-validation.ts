import { ErrorCodes, InvalidInputError } from '../errors';
import type { Executor, ExecutorConfig } from '../executors/executor';
import { createExecutor, executorTypes } from '../executors/registry';
import { withoutSecrets } from '../executors/secrets';
import { analyzeFunctionSource } from '../workflow/free-variables';
import { isNodeOutput } from '../workflow/node-output';
import { assertSerializable } from '../workflow/serializable';
import type { ExecutorSpec, GraphNode, TransportGraph } from '../workflow/transport-graph';

export function isExecutorInstance(spec: ExecutorSpec | undefined): spec is Executor<any, any> {
  return !!spec && typeof spec === 'object' && typeof (spec as any).execute === 'function' && typeof (spec as any).cancel === 'function';
}

/** The registry name of whatever a spec names. */
export function executorTypeOf(spec: ExecutorSpec): string {
  if (typeof spec === 'string') return spec;
  if (isExecutorInstance(spec)) return spec.type;
  return (spec as ExecutorConfig).type;
}

/**
 * Check a freshly built graph before anything runs, so a mistake is reported
 * at dispatch time, naming the task, instead of failing later on a worker.
 */
export function validateGraph(graph: TransportGraph): void {
  const known = new Set(executorTypes());
  const checkedOptions = new Set<unknown>();
  for (const node of graph.nodes) {
    if (node.kind !== 'electron') continue;
    validateExecutorSpec(node, known);
    validateExecutorOptions(node, checkedOptions);
    if (executorTypeOf(node.executor!) === 'inline') continue; // runs here, with the real function and objects
    const label = `Task ${node.id} (${node.name})`;
    const analysis = analyzeFunctionSource(node.source ?? '');
    if (!analysis.ok) {
      throw new InvalidInputError(
        ErrorCodes.NOT_SERIALIZABLE,
        `${label} cannot be sent to its executor: ${analysis.reason}. Or run it with { executor: 'inline' }.`,
        { details: { nodeId: node.id } },
      );
    }
    if (analysis.freeNames.length) {
      const names = analysis.freeNames.map((n) => `"${n}"`).join(', ');
      throw new InvalidInputError(
        ErrorCodes.FREE_VARIABLE,
        `${label} uses ${names} from outside its function. Electrons run as self-contained functions in a worker ` +
          `or on a remote host, where ${analysis.freeNames.length > 1 ? 'those names do' : 'that name does'} not exist. ` +
          `Pass the value as an argument, define the helper inside the function, or load modules with require() inside it. ` +
          `(Inside a task, "ct" is the covalent-ts API.)`,
        { details: { nodeId: node.id, names: analysis.freeNames } },
      );
    }
    node.args.forEach((arg, i) => {
      if (!isNodeOutput(arg)) assertSerializable(arg, `Argument ${i + 1} of ${label}`);
    });
  }
}

/**
 * An executor named by type (`'awsbatch'`, `{ type, options }`) is built
 * only when its first task starts; build one now, once per distinct spec, so
 * bad options (a missing bucket, a malformed ARN) are reported at dispatch
 * time, before anything is uploaded or submitted. Constructors only check
 * options; anything else they could fail on is left to run time.
 */
function validateExecutorOptions(node: GraphNode, checked: Set<unknown>): void {
  const spec = node.executor;
  if (isExecutorInstance(spec) || checked.has(spec)) return;
  checked.add(spec);
  const config: ExecutorConfig = typeof spec === 'string' ? { type: spec, options: {} } : (spec as ExecutorConfig);
  try {
    createExecutor(config);
  } catch (e) {
    if (!(e instanceof InvalidInputError)) return;
    throw new InvalidInputError(e.code, `Task ${node.id} (${node.name}): ${e.message}`, { details: { ...e.details, nodeId: node.id } });
  }
}

function validateExecutorSpec(node: GraphNode, known: ReadonlySet<string>): void {
  const spec = node.executor;
  if (isExecutorInstance(spec)) return;
  const type = typeof spec === 'string' ? spec : spec && typeof spec === 'object' ? (spec as ExecutorConfig).type : undefined;
  if (typeof type !== 'string' || !known.has(type)) {
    throw new InvalidInputError(
      ErrorCodes.UNKNOWN_EXECUTOR,
      `Task ${node.id} (${node.name}) names executor ${JSON.stringify(type ?? withoutSecrets(spec))}, which is not registered. ` +
        `Known executors: ${executorTypes().join(', ')}. Pass one of these names, an executor instance, or register a plugin with ct.registerExecutor().`,
      { details: { nodeId: node.id } },
    );
  }
}
