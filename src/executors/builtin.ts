import { InlineExecutor } from './inline-executor';
import { LocalExecutor } from './local/local-executor';
import { registerExecutor } from './registry';
// Loading these registers 'ssh' and 'slurm', so any process can rebuild them from a stored config (to cancel).
import './ssh';
import './slurm';

/** The executors that ship with the core. */
export function registerBuiltinExecutors(): void {
  registerExecutor('local', (o) => new LocalExecutor(o));
  registerExecutor('inline', (o) => new InlineExecutor(o));
}
