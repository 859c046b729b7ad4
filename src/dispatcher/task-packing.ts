import type { GraphNode } from '../workflow/transport-graph';
import { isNodeOutput } from '../workflow/node-output';

/**
 * Group nodes into jobs. Without packing every electron is its own job.
 * With packing, a chain A -> B -> C becomes one job when each link is the
 * only edge in and out (B's only input is A's output, passed directly as an
 * argument, and nothing else consumes A) and all share an executor.
 */
export function planJobs(nodes: GraphNode[], packing: boolean, executorKey: (n: GraphNode) => string): number[][] {
  if (!packing) return nodes.map((n) => [n.id]);
  const dependents: number[][] = nodes.map(() => []);
  for (const n of nodes) for (const u of n.dependsOn) dependents[u].push(n.id);
  const outputConsumers = new Map<number, number>();
  for (const n of nodes) for (const u of n.dependsOn) outputConsumers.set(u, (outputConsumers.get(u) ?? 0) + 1);

  const packsWithPrevious = (n: GraphNode): boolean => {
    if (n.kind !== 'electron' || n.dependsOn.length !== 1) return false;
    const prev = nodes[n.dependsOn[0]];
    if (prev.kind !== 'electron' || dependents[prev.id].length !== 1) return false;
    // The upstream output must be a direct argument, so the runner can hand it over.
    if (!n.args.some((a) => isNodeOutput(a) && a.nodeId === prev.id)) return false;
    if (n.args.some((a) => !isNodeOutput(a) && containsOutput(a))) return false;
    return executorKey(prev) === executorKey(n);
  };

  const jobOf = new Map<number, number[]>();
  const jobs: number[][] = [];
  for (const n of nodes) {
    if (packsWithPrevious(n)) {
      const job = jobOf.get(n.dependsOn[0])!;
      job.push(n.id);
      jobOf.set(n.id, job);
    } else {
      const job = [n.id];
      jobs.push(job);
      jobOf.set(n.id, job);
    }
  }
  return jobs;
}

function containsOutput(v: unknown, depth = 0): boolean {
  if (isNodeOutput(v)) return true;
  if (depth > 32 || v === null || typeof v !== 'object') return false;
  return Object.values(v as object).some((x) => containsOutput(x, depth + 1));
}
