import { InlineExecutor } from './inline-executor';
import { LocalExecutor } from './local/local-executor';
import { registerExecutor } from './registry';

/** The executors that ship with the core. */
export function registerBuiltinExecutors(): void {
  registerExecutor('local', (o) => new LocalExecutor(o));
  registerExecutor('inline', (o) => new InlineExecutor(o));
}
