import { ErrorCodes, InvalidInputError } from '../errors';
import { isNodeOutput } from './node-output';

const CLONEABLE_PROTOTYPES = new Set<unknown>([
  Object.prototype,
  null,
  Array.prototype,
  Date.prototype,
  RegExp.prototype,
  Map.prototype,
  Set.prototype,
  ArrayBuffer.prototype,
  Error.prototype,
  Boolean.prototype,
  Number.prototype,
  String.prototype,
]);

function isTypedArrayOrView(v: object): boolean {
  return ArrayBuffer.isView(v);
}

/**
 * Find the first part of `value` that cannot travel to a worker or a remote
 * host, and say where it is. V8's structured clone would throw without a
 * path, or silently drop a class instance's prototype.
 */
export function findUnserializable(value: unknown, path = '', seen = new Set<object>()): string | null {
  const t = typeof value;
  if (t === 'function') return `${path || 'value'} is a function`;
  if (t === 'symbol') return `${path || 'value'} is a symbol`;
  if (value === null || t !== 'object') return null;
  const obj = value as object;
  if (isNodeOutput(obj)) return null;
  if (seen.has(obj)) return null;
  seen.add(obj);
  if (isTypedArrayOrView(obj)) return null;
  const proto = Object.getPrototypeOf(obj);
  if (!CLONEABLE_PROTOTYPES.has(proto) && !(obj instanceof Error)) {
    const name = (proto && proto.constructor && proto.constructor.name) || 'unknown class';
    return `${path || 'value'} is an instance of ${name}, which would lose its class and methods`;
  }
  if (obj instanceof Map) {
    let i = 0;
    for (const [k, v] of obj) {
      const r = findUnserializable(k, `${path}<map key ${i}>`, seen) ?? findUnserializable(v, `${path}<map value ${i}>`, seen);
      if (r) return r;
      i++;
    }
    return null;
  }
  if (obj instanceof Set) {
    let i = 0;
    for (const v of obj) {
      const r = findUnserializable(v, `${path}<set item ${i++}>`, seen);
      if (r) return r;
    }
    return null;
  }
  for (const [k, v] of Object.entries(obj)) {
    const r = findUnserializable(v, Array.isArray(obj) ? `${path}[${k}]` : `${path}.${k}`, seen);
    if (r) return r;
  }
  return null;
}

/** Throw a clear error when a value cannot be sent where a task runs. */
export function assertSerializable(value: unknown, what: string): void {
  const t = typeof value;
  if (value === null || (t !== 'object' && t !== 'function' && t !== 'symbol')) return;
  const problem = findUnserializable(value);
  if (problem) {
    throw new InvalidInputError(
      ErrorCodes.NOT_SERIALIZABLE,
      `${what} cannot be sent to where the task runs: ${problem}. ` +
        `Pass plain data (numbers, strings, arrays, plain objects, Dates, Maps, Sets, typed arrays), ` +
        `or run the task with { executor: 'inline' } to keep it in this process.`,
    );
  }
}
