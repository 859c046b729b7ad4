/**
 * Narrows a value of unknown shape (parsed JSON, a cell's value, a comm
 * payload) to an object whose fields can be read one by one, each still
 * `unknown` until checked.
 */
export function isRecord(value: unknown): value is Record<string, unknown> {
  return !!value && typeof value === 'object';
}
