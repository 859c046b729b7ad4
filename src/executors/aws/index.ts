/**
 * AWS executors: AWS Batch (`awsbatch`) and Amazon Braket (`braket`).
 * Importing this registers both types, so any process can rebuild them from
 * a stored configuration (to cancel an orphaned job, for instance).
 */
import { registerExecutor } from '../registry';
import { AWSBatchExecutor } from './batch/batch-executor';

export { AWSBatchExecutor, type AWSBatchJobHandle } from './batch/batch-executor';
export type { AWSBatchExecutorOptions } from './batch/batch-options';

registerExecutor('awsbatch', (o) => new AWSBatchExecutor(o as any));
