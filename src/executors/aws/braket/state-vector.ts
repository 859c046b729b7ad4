/**
 * A small state-vector simulator for circuits from `parseOpenQasm`. Qubit 0
 * is the leftmost bit of a measured bitstring, as in Braket's results.
 */
import { ErrorCodes, InvalidInputError } from '../../../errors';
import type { Circuit, Instruction } from './openqasm';

/** 2^20 amplitudes (16 MiB): beyond that, use a real device or simulator. */
export const MAX_LOCAL_QUBITS = 20;

export interface SimulationResult {
  /** Per shot, the measured bits in `measuredQubits` order. */
  measurements: number[][];
  measuredQubits: number[];
  /** Bitstring -> count over the shots. */
  counts: Record<string, number>;
  /** Bitstring -> exact probability (of the measured qubits). */
  probabilities: Record<string, number>;
}

function applyGate(re: Float64Array, im: Float64Array, n: number, ins: Extract<Instruction, { kind: 'gate' }>): void {
  const bit = (q: number) => 1 << (n - 1 - q);
  const [q0, q1] = ins.qubits;
  if (ins.gate === 'cnot' || ins.gate === 'cz' || ins.gate === 'swap') {
    const a = bit(q0);
    const b = bit(q1);
    for (let i = 0; i < re.length; i++) {
      if (ins.gate === 'cnot' && i & a && !(i & b)) swapAmp(re, im, i, i | b);
      else if (ins.gate === 'cz' && i & a && i & b) (re[i] = -re[i]), (im[i] = -im[i]);
      else if (ins.gate === 'swap' && i & a && !(i & b)) swapAmp(re, im, i, (i & ~a) | b);
    }
    return;
  }
  // One-qubit gate as a 2x2 complex matrix [[a, b], [c, d]].
  const t = ins.angle ?? 0;
  const c2 = Math.cos(t / 2);
  const s2 = Math.sin(t / 2);
  const r = Math.SQRT1_2;
  const M: Record<string, number[]> = {
    // [aRe, aIm, bRe, bIm, cRe, cIm, dRe, dIm]
    h: [r, 0, r, 0, r, 0, -r, 0],
    x: [0, 0, 1, 0, 1, 0, 0, 0],
    y: [0, 0, 0, -1, 0, 1, 0, 0],
    z: [1, 0, 0, 0, 0, 0, -1, 0],
    s: [1, 0, 0, 0, 0, 0, 0, 1],
    t: [1, 0, 0, 0, 0, 0, r, r],
    rx: [c2, 0, 0, -s2, 0, -s2, c2, 0],
    ry: [c2, 0, -s2, 0, s2, 0, c2, 0],
    rz: [c2, -s2, 0, 0, 0, 0, c2, s2],
  };
  const [aR, aI, bR, bI, cR, cI, dR, dI] = M[ins.gate];
  const m = bit(q0);
  for (let i = 0; i < re.length; i++) {
    if (i & m) continue;
    const j = i | m;
    const xr = re[i], xi = im[i], yr = re[j], yi = im[j];
    re[i] = aR * xr - aI * xi + bR * yr - bI * yi;
    im[i] = aR * xi + aI * xr + bR * yi + bI * yr;
    re[j] = cR * xr - cI * xi + dR * yr - dI * yi;
    im[j] = cR * xi + cI * xr + dR * yi + dI * yr;
  }
}

function swapAmp(re: Float64Array, im: Float64Array, i: number, j: number): void {
  const r = re[i], m = im[i];
  re[i] = re[j];
  im[i] = im[j];
  re[j] = r;
  im[j] = m;
}

/**
 * Run the circuit and sample `shots` measurements. Measurements are taken at
 * the end (the subset has no mid-circuit control flow), of the measured
 * qubits in order; a program without `measure` measures every qubit.
 */
export function simulate(circuit: Circuit, shots: number, random: () => number = Math.random): SimulationResult {
  const n = circuit.qubitCount;
  if (n > MAX_LOCAL_QUBITS) {
    throw new InvalidInputError(ErrorCodes.INVALID_ARGUMENT, `The local simulator handles at most ${MAX_LOCAL_QUBITS} qubits; this program has ${n}.`);
  }
  const re = new Float64Array(1 << n);
  const im = new Float64Array(1 << n);
  re[0] = 1;
  const measured: number[] = [];
  for (const ins of circuit.instructions) {
    if (ins.kind === 'gate') applyGate(re, im, n, ins);
    else if (!measured.includes(ins.qubit)) measured.push(ins.qubit);
  }
  const measuredQubits = measured.length ? measured : Array.from({ length: n }, (_, q) => q);
  const probabilities: Record<string, number> = {};
  for (let i = 0; i < re.length; i++) {
    const p = re[i] * re[i] + im[i] * im[i];
    if (p < 1e-12) continue;
    const key = measuredQubits.map((q) => ((i >> (n - 1 - q)) & 1 ? '1' : '0')).join('');
    probabilities[key] = (probabilities[key] ?? 0) + p;
  }
  const outcomes = Object.entries(probabilities);
  const counts: Record<string, number> = {};
  const measurements: number[][] = [];
  for (let s = 0; s < shots; s++) {
    let u = random();
    let pick = outcomes[outcomes.length - 1][0];
    for (const [key, p] of outcomes) {
      if ((u -= p) < 0) {
        pick = key;
        break;
      }
    }
    counts[pick] = (counts[pick] ?? 0) + 1;
    measurements.push([...pick].map(Number));
  }
  return { measurements, measuredQubits, counts, probabilities };
}

/** Bitstring counts from Braket's per-shot measurements. */
export function countsOf(measurements: number[][]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const m of measurements) {
    const key = m.join('');
    counts[key] = (counts[key] ?? 0) + 1;
  }
  return counts;
}
