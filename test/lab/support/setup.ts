// jsdom's global lacks structuredClone, which dagre uses; Node's v8 module does
// the same structured copy.
import { deserialize, serialize } from 'v8';

if (typeof (globalThis as any).structuredClone !== 'function') {
  (globalThis as any).structuredClone = (value: unknown) => deserialize(serialize(value));
}
