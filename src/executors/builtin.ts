import { InlineExecutor } from './inline-executor';
import { LocalExecutor } from './local/local-executor';
import { closeSharedWorkerPool } from './local/worker-pool';
import { registerExecutor, registerShutdownHook } from './registry';
// Loading these registers 'ssh', 'slurm', 'awsbatch' and 'braket', so any process can rebuild them from a stored config (to cancel).
import './ssh';
import './slurm';
import './aws';

/** The executors that ship with the core. */
export function registerBuiltinExecutors(): void {
  registerExecutor('local', (o) => new LocalExecutor(o));
  registerExecutor('inline', (o) => new InlineExecutor(o));
  registerShutdownHook('local', closeSharedWorkerPool);
}
