/** The SSH executor plugin; importing this module registers it as `ssh`. */
import { registerExecutor, registerShutdownHook } from '../registry';
import { closeSSHConnections } from './connection-pool';
import { SSHExecutor, type SSHExecutorOptions } from './ssh-executor';

registerExecutor('ssh', (options) => new SSHExecutor(options as unknown as SSHExecutorOptions));
// Pooled SSH connections (also Slurm's) would keep the process alive.
registerShutdownHook('ssh', closeSSHConnections);

export { SSHExecutor, type SSHExecutorOptions, type SSHJobHandle } from './ssh-executor';
export type { SSHConnectionOptions } from './ssh-options';
export { provideSSHCredentials, forgetSSHCredentials, type SSHSecrets } from './credentials';
export { closeSSHConnections } from './connection-pool';
export { fingerprintOf } from './host-key';
