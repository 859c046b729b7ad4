/** The Slurm executor plugin; importing this module registers it as `slurm`. */
import { registerExecutor } from '../registry';
import { SlurmExecutor } from './slurm-executor';
import type { SlurmExecutorOptions } from './slurm-options';

registerExecutor('slurm', (options) => new SlurmExecutor(options as SlurmExecutorOptions));

export { SlurmExecutor, type SlurmJobHandle } from './slurm-executor';
export type { SlurmExecutorOptions } from './slurm-options';
