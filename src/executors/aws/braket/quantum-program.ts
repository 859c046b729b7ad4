/**
 * What a quantum-task electron returns: an OpenQASM 3 program, as a string or
 * `{ program, shots?, inputs? }`; and the Braket action that carries it.
 */
import { ErrorCodes, InvalidInputError } from '../../../errors';
import { MAX_SHOTS } from './braket-options';

export interface QuantumProgram {
  source: string;
  shots: number;
  inputs: Record<string, number>;
}

export function toQuantumProgram(value: unknown, defaultShots: number, taskName: string): QuantumProgram {
  const bad = (why: string): never => {
    throw new InvalidInputError(
      ErrorCodes.INVALID_ARGUMENT,
      `Task ${taskName} runs on a BraketExecutor in quantum-task mode, so it must return an OpenQASM 3 program ` +
        `(a string, or { program, shots?, inputs? }); ${why}.`,
    );
  };
  const spec = typeof value === 'string' ? { program: value } : (value as { program?: unknown; shots?: unknown; inputs?: unknown });
  if (spec === null || typeof spec !== 'object') bad(`it returned ${value === null ? 'null' : typeof value}`);
  if (typeof spec.program !== 'string' || !spec.program.trim()) bad('"program" is not a non-empty string');
  const shots = spec.shots ?? defaultShots;
  if (typeof shots !== 'number' || !Number.isInteger(shots) || shots < 0 || shots > MAX_SHOTS) bad(`shots must be an integer from 0 to ${MAX_SHOTS}`);
  const inputs = spec.inputs ?? {};
  if (typeof inputs !== 'object' || inputs === null || Object.values(inputs).some((v) => typeof v !== 'number')) bad('inputs must map names to numbers');
  return { source: spec.program as string, shots: shots as number, inputs: inputs as Record<string, number> };
}

/** The `braket.ir.openqasm.program` action, as Braket wants it (a JSON string). */
export function openQasmAction(p: QuantumProgram): string {
  return JSON.stringify({ braketSchemaHeader: { name: 'braket.ir.openqasm.program', version: '1' }, source: p.source, inputs: p.inputs });
}
