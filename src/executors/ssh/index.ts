/** The SSH executor plugin; importing this module registers it as `ssh`. */
import { registerExecutor } from '../registry';
import { SSHExecutor, type SSHExecutorOptions } from './ssh-executor';

registerExecutor('ssh', (options) => new SSHExecutor(options as unknown as SSHExecutorOptions));

export { SSHExecutor, type SSHExecutorOptions, type SSHJobHandle } from './ssh-executor';
export type { SSHConnectionOptions } from './ssh-options';
export { provideSSHCredentials, forgetSSHCredentials, type SSHSecrets } from './credentials';
export { closeSSHConnections } from './connection-pool';
export { fingerprintOf } from './host-key';
