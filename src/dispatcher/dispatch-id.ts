import { ErrorCodes, InvalidInputError } from '../errors';

/** The one check of a dispatch id given to the dispatcher (cancel, results, snapshots, redispatch). */
export function checkDispatchId(id: unknown): asserts id is string {
  if (typeof id !== 'string' || !id) {
    throw new InvalidInputError(ErrorCodes.INVALID_ARGUMENT, `A dispatch id must be a non-empty string (what ct.dispatch returned); got ${describeValue(id)}.`);
  }
}

/** A value as an error message names it: `null`, `a function (f)`, `an array`, `number 3`. */
export function describeValue(v: unknown): string {
  if (v === null) return 'null';
  if (typeof v === 'function') return `a function${v.name ? ` (${v.name})` : ''}`;
  if (typeof v === 'object') return Array.isArray(v) ? 'an array' : 'an object';
  return `${typeof v} ${JSON.stringify(v)}`;
}
