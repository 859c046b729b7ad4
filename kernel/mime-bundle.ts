import { inspect } from 'util';
import type { MimeBundle } from './message-contents';
import { isRecord } from './is-record';

/** Objects of the library (a dispatch handle, a result) render themselves through this method. */
const MIME_BUNDLE_METHOD = Symbol.for('covalent-ts.mimeBundle');

/**
 * How a cell's value is shown in its `execute_result`: the value's own MIME
 * bundle when it offers one (with `text/plain`), otherwise Node's inspect.
 */
export function mimeBundle(value: unknown): MimeBundle {
  const custom: unknown = isRecord(value) ? Reflect.get(value, MIME_BUNDLE_METHOD) : undefined;
  if (typeof custom === 'function') {
    try {
      const bundle: unknown = custom.call(value);
      if (isRecord(bundle) && typeof bundle['text/plain'] === 'string') return bundle;
    } catch {
      // fall back to the plain rendering
    }
  }
  return { 'text/plain': inspect(value, { depth: 4, colors: false, maxArrayLength: 200, breakLength: 100 }) };
}
