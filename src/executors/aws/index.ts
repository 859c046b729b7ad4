/**
 * AWS executors: AWS Batch (`awsbatch`) and Amazon Braket (`braket`).
 * Importing this registers both types, so any process can rebuild them from
 * a stored configuration (to cancel an orphaned job, for instance).
 */
import { registerExecutor } from '../registry';
import { AWSBatchExecutor } from './batch/batch-executor';
import { BraketExecutor } from './braket/braket-executor';

export { AWSBatchExecutor, type AWSBatchJobHandle } from './batch/batch-executor';
export type { AWSBatchExecutorOptions } from './batch/batch-options';
export { BraketExecutor } from './braket/braket-executor';
export { LOCAL_STATE_VECTOR, type BraketExecutorOptions, type BraketMode } from './braket/braket-options';
export type { QuantumTaskResult, GateModelTaskResult } from './braket/braket-result';

registerExecutor('awsbatch', (o) => new AWSBatchExecutor(o as any));
registerExecutor('braket', (o) => new BraketExecutor(o as any));
