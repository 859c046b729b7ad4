import { randomUUID } from 'node:crypto';
import type { BraketClient } from '@aws-sdk/client-braket';
import type { S3Client } from '@aws-sdk/client-s3';
import { ErrorCodes, ExecutorError, TaskCancelledError, TaskFailedError } from '../../../errors';
import { Executor, cancelledAt, type CancelVerdict, type ExecutionContext, type JobHandle, type TaskMetadata } from '../../executor';
import { runPayload } from '../../runner/run-payload';
import type { TaskOutput, TaskPayload } from '../../task-payload';
import { braketClient, s3Client } from '../aws-clients';
import { readTaskOutput, removeTaskFiles, stageTask, uploadTask, type StagedTask } from '../s3-task-staging';
import { getObject } from '../s3-task-files';
import { withThrottleRetry } from '../throttle';
import { BRAKET_HYPERPARAMETERS } from './hybrid-hyperparameters';
import { cancelBraket, isTerminalBraket, resourceStatusOfBraket, waitForBraket, type BraketState, type BraketWorkHandle } from './braket-jobs';
import { resolveBraketOptions, type BraketExecutorOptions, type ResolvedBraketOptions } from './braket-options';
import { toQuantumTaskResult, type GateModelTaskResult, type QuantumTaskResult } from './braket-result';
import { killLocalSimulation, startLocalSimulation, type LocalSimulatorHandle } from './local-simulator';
import { parseOpenQasm } from './openqasm';
import { openQasmAction, toQuantumProgram, type QuantumProgram } from './quantum-program';

type Prepared = { kind: 'program'; nodeId: number; program: QuantumProgram } | { kind: 'staged'; task: StagedTask };
type Work =
  | { kind: 'local'; raw: GateModelTaskResult }
  | { kind: 'quantum-task'; state: BraketState }
  | { kind: 'hybrid-job'; state: BraketState };

/**
 * Runs electrons on Amazon Braket.
 *
 * - `quantum-task` mode (default): the electron returns an OpenQASM 3
 *   program (a string, or `{ program, shots?, inputs? }`); it becomes a
 *   quantum task, and the electron's result is a {@link QuantumTaskResult}
 *   (`counts`, `measuredQubits`, `raw`). Cancel is CancelQuantumTask,
 *   followed through CANCELLING to CANCELLED.
 * - `hybrid-job` mode: the electron runs inside a Braket hybrid job, through
 *   `covalent-ts run-task`; cancel is the jobs API's CancelJob.
 * - `deviceArn: 'local:state_vector'`: quantum tasks run on a local
 *   state-vector simulator in a worker process; cancel kills the worker.
 *
 * @example
 * const bell = ct.electron(() => 'OPENQASM 3.0; qubit[2] q; bit[2] c; h q[0]; cnot q[0], q[1]; c = measure q;',
 *   { executor: new ct.BraketExecutor({ region: 'us-east-1', deviceArn: 'local:state_vector', shots: 1000, s3Bucket: 'unused' }) });
 */
export class BraketExecutor extends Executor<Prepared, Work> {
  readonly type = 'braket';
  readonly options: ResolvedBraketOptions;
  private braket: Promise<BraketClient> | undefined;
  private s3: Promise<S3Client> | undefined;

  constructor(private readonly raw: BraketExecutorOptions) {
    super();
    this.options = resolveBraketOptions(raw);
  }

  protected publicOptions(): Record<string, unknown> {
    return { ...this.raw } as Record<string, unknown>;
  }

  override label(): string {
    const device = this.options.local ? 'local' : this.options.deviceArn.split('/').pop();
    return `braket(${device}${this.options.mode === 'hybrid-job' ? ', hybrid' : ''})`;
  }

  private braketClient(): Promise<BraketClient> {
    this.braket ??= braketClient(this.options.region, this.options.endpoints.braket);
    return this.braket;
  }
  private s3Client(): Promise<S3Client> {
    this.s3 ??= s3Client(this.options.region, this.options.endpoints.s3);
    return this.s3;
  }

  protected override async serialize(payload: TaskPayload, ctx: ExecutionContext): Promise<Prepared> {
    if (this.options.mode === 'hybrid-job') return { kind: 'staged', task: stageTask(this.options.s3Bucket, this.options.s3Prefix, payload, ctx.metadata) };
    if (payload.steps.length !== 1) {
      throw new TaskFailedError(`A BraketExecutor in quantum-task mode runs one electron per quantum task; turn off task packing for ${ctx.metadata.name}.`);
    }
    // The electron itself is classical: it builds the program, here, in a moment.
    const out = await runPayload(payload, { dispatchId: ctx.metadata.dispatchId, signal: ctx.signal });
    const step = out.steps[0];
    if (!step.ok) throw new TaskFailedError(`${step.error.name}: ${step.error.message}`);
    const program = toQuantumProgram(step.value, this.options.shots, ctx.metadata.name);
    if (this.options.local) parseOpenQasm(program.source, program.inputs); // a bad program fails now, not in the worker
    return { kind: 'program', nodeId: step.nodeId, program };
  }

  protected override async upload(prepared: Prepared): Promise<void> {
    if (prepared.kind === 'staged') await uploadTask(await this.s3Client(), prepared.task);
  }

  protected async run(prepared: Prepared, ctx: ExecutionContext): Promise<Work> {
    if (prepared.kind === 'program' && this.options.local) {
      const { handle, result } = startLocalSimulation(prepared.program);
      ctx.reportStatus('RUNNING');
      await ctx.setJobHandle(handle);
      return { kind: 'local', raw: await result };
    }
    const handle = prepared.kind === 'program' ? await this.createQuantumTask(prepared.program, ctx) : await this.createHybridJob(prepared.task, ctx);
    ctx.reportStatus('QUEUED');
    // Stored at once; a cancel that raced the create cancels the new work here.
    await ctx.setJobHandle(handle);
    const wake = { controller: new AbortController() };
    const removeCancel = ctx.onCancel(() => wake.controller.abort());
    const state = await waitForBraket(
      await this.braketClient(), handle, this.options,
      (s) => {
        const r = resourceStatusOfBraket(s.status);
        if (r) ctx.reportStatus(r);
      },
      () => (wake.controller.signal.aborted ? (wake.controller = new AbortController()).signal : wake.controller.signal),
    ).finally(removeCancel);
    if (state.status === 'CANCELLED') {
      if (ctx.isCancelRequested()) throw cancelledAt('run', ctx.metadata);
      throw new TaskCancelledError(`Braket ${handle.mode} ${handle.arn} was cancelled outside covalent-ts.`, { details: { arn: handle.arn } });
    }
    if (state.status === 'FAILED' && handle.mode === 'quantum-task') {
      throw new ExecutorError(ErrorCodes.EXECUTOR_FAILED, `Braket quantum task ${handle.arn} FAILED: ${state.failureReason ?? 'no reason given'}`);
    }
    return { kind: handle.mode, state } as Work;
  }

  private async createQuantumTask(program: QuantumProgram, ctx: ExecutionContext): Promise<BraketWorkHandle> {
    const { CreateQuantumTaskCommand } = await import('@aws-sdk/client-braket');
    const client = await this.braketClient();
    const o = this.options;
    const r = await withThrottleRetry(() =>
      client.send(
        new CreateQuantumTaskCommand({
          deviceArn: o.deviceArn, shots: program.shots, outputS3Bucket: o.s3Bucket,
          outputS3KeyPrefix: `${o.s3Prefix}/${ctx.metadata.dispatchId}/${ctx.metadata.nodeId}`,
          action: openQasmAction(program), deviceParameters: JSON.stringify(o.deviceParameters), clientToken: randomUUID(),
        }),
      ),
    );
    return { mode: 'quantum-task', arn: r.quantumTaskArn!, region: o.region };
  }

  private async createHybridJob(task: StagedTask, ctx: ExecutionContext): Promise<BraketWorkHandle> {
    const { CreateJobCommand } = await import('@aws-sdk/client-braket');
    const client = await this.braketClient();
    const o = this.options;
    const hyperParameters: Record<string, string> = { [BRAKET_HYPERPARAMETERS.payload]: task.url, [BRAKET_HYPERPARAMETERS.region]: o.region };
    if (o.endpoints.s3) hyperParameters[BRAKET_HYPERPARAMETERS.s3Endpoint] = o.endpoints.s3;
    const r = await withThrottleRetry(() =>
      client.send(
        new CreateJobCommand({
          jobName: `ct-${ctx.metadata.nodeId}-${randomUUID().slice(0, 18)}`,
          roleArn: o.roleArn!,
          algorithmSpecification: { containerImage: { uri: o.jobImage! } },
          instanceConfig: { instanceType: o.instanceType as any, volumeSizeInGb: 30, instanceCount: 1 },
          outputDataConfig: { s3Path: `s3://${o.s3Bucket}/${o.s3Prefix}/${ctx.metadata.dispatchId}/${ctx.metadata.nodeId}/job-output` },
          deviceConfig: { device: o.deviceArn },
          hyperParameters,
          // The task's time limit, held by Braket itself (whole seconds, rounded up).
          ...(ctx.metadata.timeLimitMs !== undefined ? { stoppingCondition: { maxRuntimeInSeconds: Math.ceil(ctx.metadata.timeLimitMs / 1000) } } : {}),
          clientToken: randomUUID(),
        }),
      ),
    );
    return { mode: 'hybrid-job', arn: r.jobArn!, region: o.region };
  }

  /** Finished work keeps its result, even when a cancel just arrived. */
  protected override jobFinished(work: Work): boolean {
    return work.kind === 'local' || isTerminalBraket(work.state.status);
  }

  protected override async fetch(work: Work, prepared: Prepared): Promise<TaskOutput> {
    if (work.kind === 'hybrid-job') {
      const task = (prepared as Extract<Prepared, { kind: 'staged' }>).task;
      const output = await readTaskOutput(await this.s3Client(), task.payload);
      if (!output) {
        throw new ExecutorError(ErrorCodes.EXECUTOR_FAILED, `The Braket hybrid job ended ${work.state.status}${work.state.failureReason ? ` (${work.state.failureReason})` : ''} without a result.`);
      }
      return output;
    }
    const nodeId = (prepared as Extract<Prepared, { kind: 'program' }>).nodeId;
    let raw: GateModelTaskResult;
    if (work.kind === 'local') raw = work.raw;
    else {
      const loc = { bucket: work.state.outputS3Bucket!, key: `${work.state.outputS3Directory}/results.json` };
      const bytes = await getObject(await this.s3Client(), loc);
      if (!bytes) throw new ExecutorError(ErrorCodes.EXECUTOR_FAILED, `The quantum task COMPLETED but s3://${loc.bucket}/${loc.key} does not exist.`);
      raw = JSON.parse(bytes.toString('utf8'));
    }
    const value: QuantumTaskResult = toQuantumTaskResult(raw);
    return { steps: [{ nodeId, ok: true, value }] };
  }

  protected override async cleanup(prepared: Prepared, ctx: ExecutionContext, work: Work | undefined): Promise<void> {
    if (prepared.kind !== 'staged') return;
    if (work && work.kind === 'hybrid-job' && !isTerminalBraket(work.state.status)) return;
    const url = prepared.task.url;
    // In the background: the task's outcome does not wait for S3.
    void this.s3Client()
      .then((s3) => removeTaskFiles(s3, prepared.task.payload))
      .catch((e) => ctx.log('stderr', `covalent-ts: could not remove ${url} and its results: ${(e as Error).message}\n`));
  }

  async cancel(_meta: TaskMetadata, jobHandle: JobHandle): Promise<CancelVerdict> {
    const h = jobHandle as BraketWorkHandle | LocalSimulatorHandle;
    if (h.mode === 'local') return killLocalSimulation(h as LocalSimulatorHandle);
    if (h.mode !== 'quantum-task' && h.mode !== 'hybrid-job') return { confirmed: false, detail: 'the job handle names no Braket task or job' };
    return cancelBraket(await this.braketClient(), h as BraketWorkHandle, {
      confirmTimeoutMs: 90_000,
      pollIntervalMs: Math.min(this.options.pollIntervalMs, 1000),
    });
  }

  override async close(): Promise<void> {
    (await this.braket)?.destroy();
    (await this.s3)?.destroy();
  }
}
