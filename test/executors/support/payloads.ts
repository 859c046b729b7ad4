/** Hand-built TaskPayloads (what the dispatcher would produce). */
import type { TaskPayload } from '../../../src/executors/task-payload';

export function payloadOf(fn: (...args: any[]) => unknown, args: unknown[] = [], name = fn.name || 'task', nodeId = 0): TaskPayload {
  return { version: 1, steps: [{ nodeId, name, source: fn.toString(), args: args.map((value) => ({ value })) }] };
}

export function sourcePayload(source: string, args: unknown[] = [], name = 'task', nodeId = 0): TaskPayload {
  return { version: 1, steps: [{ nodeId, name, source, args: args.map((value) => ({ value })) }] };
}
