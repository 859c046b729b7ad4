/**
 * Worker process of the local state-vector simulator: receives one program
 * over IPC, simulates it, answers with Braket's result document, exits. A
 * process of its own so that a cancel can kill it, whatever the circuit.
 */
import { parseOpenQasm } from './openqasm';
import { simulate } from './state-vector';
import { gateModelResult } from './braket-result';

export interface SimulatorRequest {
  taskId: string;
  source: string;
  inputs: Record<string, number>;
  shots: number;
}

process.once('message', (req: SimulatorRequest) => {
  try {
    const sim = simulate(parseOpenQasm(req.source, req.inputs), req.shots);
    const action = { braketSchemaHeader: { name: 'braket.ir.openqasm.program', version: '1' }, source: req.source, inputs: req.inputs };
    process.send!({ ok: true, result: gateModelResult(req.taskId, 'local:state_vector', req.shots, sim, action) }, () => process.exit(0));
  } catch (e) {
    process.send!({ ok: false, error: { name: (e as Error).name, message: (e as Error).message } }, () => process.exit(0));
  }
});
