/**
 * covalent-ts: workflows of tasks (electrons) in workflows (lattices),
 * dispatched to executors, with cancellation you can trust.
 *
 *   import * as ct from 'covalent-ts';
 *   const add = ct.electron((a: number, b: number) => a + b);
 *   const wf = ct.lattice((x: number) => add(x, 1));
 *   const id = await ct.dispatch(wf)(1);
 *   await ct.cancel(id);
 */
export { electron, type Electron, type ElectronOptions } from './workflow/electron';
export { lattice, isLattice, type Lattice, type LatticeOptions } from './workflow/lattice';
export { Status, isTerminal, cancelBlockReason, type CancelBlockReason } from './protocol/status';
export type { ExecutorSpec } from './workflow/transport-graph';

export {
  dispatch, dispatchSync, redispatch, getResult, cancel, taskContext, show, getDispatcher, shutdown,
} from './dispatcher/public-api';
export { Dispatcher, type CancelOptions, type GetResultOptions, type DispatcherOptions } from './dispatcher/dispatcher';
export type { OrphanReport } from './dispatcher/orphans';
export type { DispatchOptions, LimitWarningEvent } from './dispatcher/limits';
export type { RedispatchOptions } from './dispatcher/redispatch';
export type { Duration } from './workflow/duration';
export type { Price, PricedTask } from './executors/price';
export { CancelReport } from './dispatcher/cancel-report';
export type { Result, NodeResult } from './dispatcher/result';
export type { DispatcherEventMap, DispatcherEventName } from './dispatcher/events';
export { setDisplayHook, type DisplayHook } from './dispatcher/display-hook';

export {
  Executor, toCancelVerdict, type CancelVerdict, type CancelVerdictDetails, type ResourceStatus, type ExecutionContext, type ExecutorConfig, type ExecutorStep,
  type JobHandle, type TaskMetadata, type DirectRunner,
} from './executors/executor';
export { JobExecutionContext, type JobContextHost } from './executors/job-execution-context';
export type { TaskPayload, PayloadStep, TaskOutput, StepOutcome } from './executors/task-payload';
export type { TaskContext } from './executors/runner/run-payload';
export { registerExecutor, registerShutdownHook, createExecutor, executorTypes } from './executors/registry';
export { LocalExecutor, type LocalExecutorOptions } from './executors/local/local-executor';
export { InlineExecutor } from './executors/inline-executor';
export {
  SSHExecutor, type SSHExecutorOptions, type SSHJobHandle, type SSHConnectionOptions, type SSHSecrets,
  provideSSHCredentials, forgetSSHCredentials, closeSSHConnections, fingerprintOf,
} from './executors/ssh';
export { SlurmExecutor, type SlurmExecutorOptions, type SlurmJobHandle } from './executors/slurm';
export {
  AWSBatchExecutor, type AWSBatchExecutorOptions, type AWSBatchJobHandle,
  BraketExecutor, type BraketExecutorOptions, type BraketMode, type QuantumTaskResult, type GateModelTaskResult,
} from './executors/aws';

export {
  CtError, TaskCancelledError, TaskFailedError, InvalidInputError, StoreError, ExecutorError, isCancellation,
  ErrorCodes, type ErrorCode,
} from './errors';
export { Store } from './store/store';
export type { DispatchRow, NodeRow } from './store/schema';
export { isOrphaned, ownerLiveness, describeOwner } from './dispatcher/dispatch-owner';
export {
  currentProcessIdentity, identityOfPid, processLiveness, isSameProcessRunning, type ProcessIdentity, type ProcessLiveness,
} from './process/process-identity';
export * as protocol from './protocol/messages';
export type {
  CancelOutcome, CancelSource, CancelReportData, CancelTaskReport, DispatchSnapshot, DispatchSummary, NodeView, StatusName,
} from './protocol/messages';

import { registerBuiltinExecutors } from './executors/builtin';
registerBuiltinExecutors();
