/**
 * Braket's gate-model result document (`results.json` in the task's S3
 * output directory): written by the local simulator in the same shape as
 * Braket's devices, read back into counts by the executor.
 */
import type { SimulationResult } from './state-vector';
import { countsOf } from './state-vector';

export interface GateModelTaskResult {
  braketSchemaHeader: { name: 'braket.task_result.gate_model_task_result'; version: '1' };
  measurements?: number[][];
  measuredQubits?: number[];
  measurementProbabilities?: Record<string, number>;
  taskMetadata: { braketSchemaHeader: { name: 'braket.task_result.task_metadata'; version: '1' }; id: string; shots: number; deviceId: string };
  additionalMetadata?: Record<string, unknown>;
}

/** What a quantum task's electron gets back. */
export interface QuantumTaskResult {
  /** Bitstring (qubit 0 leftmost) -> number of shots. */
  counts: Record<string, number>;
  measuredQubits: number[];
  shots: number;
  taskArn: string;
  deviceArn: string;
  /** The result document as the device wrote it. */
  raw: GateModelTaskResult;
}

export function gateModelResult(taskArn: string, deviceArn: string, shots: number, sim: SimulationResult, action: unknown): GateModelTaskResult {
  return {
    braketSchemaHeader: { name: 'braket.task_result.gate_model_task_result', version: '1' },
    ...(shots > 0 ? { measurements: sim.measurements } : {}),
    measuredQubits: sim.measuredQubits,
    measurementProbabilities: sim.probabilities,
    taskMetadata: { braketSchemaHeader: { name: 'braket.task_result.task_metadata', version: '1' }, id: taskArn, shots, deviceId: deviceArn },
    additionalMetadata: { action },
  };
}

export function toQuantumTaskResult(raw: GateModelTaskResult): QuantumTaskResult {
  if (raw?.braketSchemaHeader?.name !== 'braket.task_result.gate_model_task_result') {
    throw new Error(`results.json is not a gate-model task result (header ${JSON.stringify(raw?.braketSchemaHeader)}).`);
  }
  return {
    counts: raw.measurements ? countsOf(raw.measurements) : {},
    measuredQubits: raw.measuredQubits ?? [],
    shots: raw.taskMetadata.shots,
    taskArn: raw.taskMetadata.id,
    deviceArn: raw.taskMetadata.deviceId,
    raw,
  };
}
