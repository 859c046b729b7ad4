import { createHash } from 'node:crypto';
import * as v8 from 'node:v8';
import { resolveOutputs } from '../workflow/node-output';
import type { GraphNode } from '../workflow/transport-graph';

/**
 * What makes a task's result reusable by `ct.redispatch`: a hash of its
 * function source, its executor configuration (as stored) and its literal
 * inputs by content, with upstream outputs standing as their node ids (a
 * task is reused only when its upstream tasks are, so their outputs are the
 * same too). Null for what is never reused: sublattices, `{ reuse: false }`,
 * and inputs that cannot be serialized.
 */
export function reuseKeyOf(node: GraphNode, executorConfigJson: string | null): string | null {
  if (node.kind !== 'electron' || node.reuse === false || node.source === undefined) return null;
  let args: Buffer;
  try {
    args = v8.serialize(node.args.length ? resolveOutputs(node.args, (o) => ({ '\0ct-output': o.nodeId })) : node.args);
  } catch {
    return null;
  }
  return createHash('sha256')
    .update(node.source)
    .update('\0')
    .update(executorConfigJson ?? '')
    .update('\0')
    .update(args)
    .digest('base64url');
}
