import { createHash } from 'node:crypto';
import * as v8 from 'node:v8';
import { jsonExact } from '../workflow/json-exact';
import { outputsAsRefs } from '../workflow/node-output';
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
  let args: Buffer | string;
  try {
    const withIds = node.args.length ? outputsAsRefs(node.args) : node.args;
    // JSON when it says exactly the same (much cheaper than V8's serializer on 10,000 nodes); V8's format otherwise.
    args = jsonExact(withIds) ? `j${JSON.stringify(withIds)}` : v8.serialize(withIds);
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
