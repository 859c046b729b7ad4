/**
 * How a notebook kernel shows dispatches. The library knows nothing about
 * Jupyter: the kernel registers a hook, and `ct.dispatch` / `ct.show` call it.
 * Outside a kernel there is no hook and `ct.show` prints a text summary.
 */
export interface DisplayHook {
  /** Called right after a top-level dispatch starts, in the caller's async context (the cell). */
  onDispatch(dispatchId: string): void;
  /** Show the live graph of a dispatch in the current cell. */
  show(dispatchId: string): void;
}

const HOOK_KEY = Symbol.for('covalent-ts.displayHook');

export function setDisplayHook(hook: DisplayHook | null): void {
  (globalThis as any)[HOOK_KEY] = hook ?? undefined;
}

export function getDisplayHook(): DisplayHook | undefined {
  return (globalThis as any)[HOOK_KEY];
}
