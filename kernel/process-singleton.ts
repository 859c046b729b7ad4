/**
 * One instance per process under a `Symbol.for` key, even when a cell loads a
 * second copy of the kernel's modules (tslab resolves a cell's imports from
 * its own folder): both copies then share the comm manager and the output
 * context instead of each keeping its own.
 */
export function processSingleton<T>(key: symbol, create: () => T): T {
  const slots = globalThis as typeof globalThis & { [slot: symbol]: T | undefined };
  return (slots[key] ??= create());
}
