/**
 * Electrons run as self-contained functions: only their source travels to a
 * worker or a remote host, so a name the function takes from its
 * surroundings (a notebook variable, an import, another helper function)
 * would be undefined there. We find such names at dispatch time with a real
 * scope analysis (acorn + eslint-scope) and refuse the dispatch, naming them.
 */
import * as acorn from 'acorn';
import * as vm from 'node:vm';
// eslint-scope ships no type declarations; we use one function of it.
// eslint-disable-next-line @typescript-eslint/no-var-requires
const eslintScope: { analyze(ast: unknown, options: Record<string, unknown>): any } = require('eslint-scope');

/** Names that exist wherever a task runs: JavaScript's and Node's globals, plus `ct` (the task API). */
const AVAILABLE_EVERYWHERE: ReadonlySet<string> = new Set([
  ...Object.getOwnPropertyNames(vm.runInNewContext('globalThis')),
  'globalThis', 'global', 'process', 'Buffer', 'require', 'module', 'exports', '__dirname', '__filename',
  'console', 'setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'setImmediate', 'clearImmediate',
  'queueMicrotask', 'structuredClone', 'URL', 'URLSearchParams', 'TextEncoder', 'TextDecoder',
  'AbortController', 'AbortSignal', 'Event', 'EventTarget', 'MessageChannel', 'MessagePort', 'MessageEvent',
  'fetch', 'Headers', 'Request', 'Response', 'FormData', 'Blob', 'File', 'performance', 'crypto', 'atob', 'btoa',
  'BroadcastChannel', 'DOMException', 'WebAssembly', 'ct', 'undefined', 'NaN', 'Infinity', 'arguments',
]);

export type ParsedFunction = { ok: true; freeNames: string[] } | { ok: false; reason: string };

const cache = new Map<string, ParsedFunction>();

/** Free names of a function's source that are not available where tasks run. */
export function analyzeFunctionSource(source: string): ParsedFunction {
  const hit = cache.get(source);
  if (hit) return hit;
  let result: ParsedFunction;
  if (/\{\s*\[native code\]\s*\}\s*$/.test(source)) {
    result = { ok: false, reason: 'it is a built-in or bound function, whose source is not available' };
  } else {
    let ast: acorn.Node | undefined;
    try {
      ast = acorn.parse(`(${source});`, { ecmaVersion: 'latest', sourceType: 'script', ranges: true });
    } catch (e) {
      result = {
        ok: false,
        reason: `its source could not be parsed as a function expression (${(e as Error).message}); ` +
          `write it as \`function name(...) {...}\` or an arrow function, not a class or object method`,
      };
    }
    if (ast) {
      const manager = eslintScope.analyze(ast, { ecmaVersion: 2022, sourceType: 'script' });
      const names = new Set<string>();
      for (const ref of manager.globalScope.through as Array<{ identifier: { name: string } }>) {
        if (!AVAILABLE_EVERYWHERE.has(ref.identifier.name)) names.add(ref.identifier.name);
      }
      result = { ok: true, freeNames: [...names] };
    } else {
      result ??= { ok: false, reason: 'unknown' };
    }
  }
  if (cache.size > 5000) cache.clear();
  cache.set(source, result);
  return result;
}
