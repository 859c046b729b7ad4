import { createHash } from 'node:crypto';
import type { Executor, ExecutorConfig } from '../executors/executor';
import { createExecutor } from '../executors/registry';
import { publicConfig } from '../executors/secrets';
import type { GraphNode } from '../workflow/transport-graph';
import { executorTypeOf, isExecutorInstance } from './dispatch-validation';

/**
 * Which executor runs a node: an instance given with the electron, or one
 * built through the registry from its config, created on first use and then
 * shared by every node with the same config. The dispatcher knows executors
 * only through the plugin API (the registry, `Executor`'s lifecycle and
 * capabilities), never by their concrete classes.
 */
export class ExecutorResolution {
  private readonly executors = new Map<string, Executor<any, any>>();
  private readonly configJson = new Map<unknown, { key: string; stored: string }>();

  /** The executor instance for a node; created on first use, then shared. */
  executorFor(node: GraphNode): Executor<any, any> {
    const spec = node.executor ?? 'local';
    if (isExecutorInstance(spec)) return spec;
    const key = this.executorKey(node);
    let ex = this.executors.get(key);
    if (!ex) {
      ex = createExecutor(this.executorConfig(node));
      this.executors.set(key, ex);
    }
    return ex;
  }

  /** Short label for views, e.g. `local` or `ssh(alice@hpc1)`. */
  label(node: GraphNode): string {
    return isExecutorInstance(node.executor) ? node.executor.label() : executorTypeOf(node.executor ?? 'local');
  }

  /** The config the store keeps for an electron (no secrets); null for a sublattice. */
  storedConfigJson(node: GraphNode): string | null {
    return node.kind === 'electron' ? this.executorJson(node).stored : null;
  }

  /** Nodes with the same key share an executor and may be packed into one job. */
  executorKey(node: GraphNode): string {
    return node.kind === 'electron' ? this.executorJson(node).key : `sublattice:${node.id}`;
  }

  /** Release every executor this resolution created. */
  async closeAll(): Promise<void> {
    await Promise.all([...this.executors.values()].map((e) => e.close().catch(() => undefined)));
  }

  private executorConfig(node: GraphNode): ExecutorConfig {
    const spec = node.executor ?? 'local';
    if (isExecutorInstance(spec)) return spec.toConfig();
    if (typeof spec === 'string') return { type: spec, options: {} };
    return spec as ExecutorConfig;
  }

  /**
   * The executor's config as JSON, twice: `stored` without secrets (what the
   * store keeps), and `key`, its identity for sharing and packing in this
   * process, which also tells apart configs that differ only in secrets.
   */
  private executorJson(node: GraphNode): { key: string; stored: string } {
    const spec = node.executor ?? 'local';
    let json = this.configJson.get(spec);
    if (json === undefined) {
      const config = this.executorConfig(node);
      const stored = JSON.stringify(publicConfig(config));
      const full = JSON.stringify(config);
      const key = full === stored ? stored : `${stored}\0${createHash('sha256').update(full).digest('hex')}`;
      json = { key, stored };
      if (this.configJson.size > 1000) this.configJson.clear();
      this.configJson.set(spec, json);
    }
    return json;
  }
}
