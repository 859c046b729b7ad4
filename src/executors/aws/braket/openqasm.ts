/**
 * Enough of OpenQASM 3 for textbook circuits: `qubit`/`bit` declarations
 * (and OpenQASM 2's `qreg`/`creg`), the gates h, x, y, z, s, t, rx, ry, rz,
 * cnot (cx), cz, swap, and `measure`, with angle expressions over numbers,
 * `pi` and `input float` parameters. No npm package parses OpenQASM 3 in
 * CommonJS on Node 20, so this is a small hand-written parser; anything
 * outside the subset is a clear error naming the line.
 */
import { ErrorCodes, InvalidInputError } from '../../../errors';

export type GateName = 'h' | 'x' | 'y' | 'z' | 's' | 't' | 'rx' | 'ry' | 'rz' | 'cnot' | 'cz' | 'swap';

export type Instruction =
  | { kind: 'gate'; gate: GateName; qubits: number[]; angle?: number }
  | { kind: 'measure'; qubit: number; bit: number | null };

export interface Circuit {
  qubitCount: number;
  instructions: Instruction[];
}

const ONE_QUBIT = new Set(['h', 'x', 'y', 'z', 's', 't']);
const ROTATIONS = new Set(['rx', 'ry', 'rz']);
const TWO_QUBIT: Record<string, GateName> = { cnot: 'cnot', cx: 'cnot', cz: 'cz', swap: 'swap' };
const IGNORED = /^(OPENQASM\s+[\d.]+|include\s+"[^"]*"|barrier\b.*)$/;

function fail(line: number, message: string): never {
  throw new InvalidInputError(ErrorCodes.INVALID_ARGUMENT, `OpenQASM line ${line}: ${message}`);
}

/** Evaluate an angle: numbers, pi/π, input names, + - * / and parentheses. */
function evalAngle(text: string, inputs: Record<string, number>, line: number): number {
  const tokens = text.match(/\d+\.?\d*(?:e[+-]?\d+)?|\.\d+|[A-Za-z_π][A-Za-z0-9_]*|[-+*/()]/g) ?? [];
  if (tokens.join('') !== text.replace(/\s+/g, '')) fail(line, `cannot read the angle "${text}".`);
  let i = 0;
  const atom = (): number => {
    const t = tokens[i++];
    if (t === undefined) fail(line, `the angle "${text}" ends too early.`);
    if (t === '-') return -atom();
    if (t === '+') return atom();
    if (t === '(') {
      const v = sum();
      if (tokens[i++] !== ')') fail(line, `missing ")" in "${text}".`);
      return v;
    }
    if (t === 'pi' || t === 'π') return Math.PI;
    if (/^[\d.]/.test(t)) return Number(t);
    if (t in inputs) return inputs[t];
    return fail(line, `unknown name "${t}" in the angle "${text}" (pass it in inputs).`);
  };
  const product = (): number => {
    let v = atom();
    while (tokens[i] === '*' || tokens[i] === '/') v = tokens[i++] === '*' ? v * atom() : v / atom();
    return v;
  };
  const sum = (): number => {
    let v = product();
    while (tokens[i] === '+' || tokens[i] === '-') v = tokens[i++] === '+' ? v + product() : v - product();
    return v;
  };
  const v = sum();
  if (i !== tokens.length) fail(line, `cannot read the angle "${text}".`);
  return v;
}

interface Register {
  offset: number;
  size: number;
  scalar: boolean;
}

/** Parse a program into a circuit over one flat qubit index space (first declared register first). */
export function parseOpenQasm(source: string, inputs: Record<string, number> = {}): Circuit {
  const qregs = new Map<string, Register>();
  const cregs = new Map<string, Register>();
  let qubitCount = 0;
  let bitCount = 0;
  const instructions: Instruction[] = [];
  const stripped = source.replace(/\/\*[\s\S]*?\*\//g, (c) => c.replace(/[^\n]/g, ' ')).replace(/\/\/[^\n]*/g, '');
  // Statements end with ';'; remember each one's line for errors.
  let line = 1;
  for (const raw of stripped.split(';')) {
    const startLine = line + (raw.match(/^\s*/)![0].match(/\n/g)?.length ?? 0);
    line += raw.match(/\n/g)?.length ?? 0;
    const st = raw.trim().replace(/\s+/g, ' ');
    if (!st || IGNORED.test(st)) continue;
    const refs = (text: string, regs: Map<string, Register>, what: string): number[] => {
      const m = /^([A-Za-z_][A-Za-z0-9_]*)(?:\[(\d+)\])?$/.exec(text.trim());
      if (!m) fail(startLine, `"${text}" is not a ${what} (name or name[index]).`);
      const reg = regs.get(m[1]);
      if (!reg) fail(startLine, `unknown ${what} register "${m[1]}".`);
      if (m[2] === undefined) return Array.from({ length: reg.size }, (_, k) => reg.offset + k);
      const idx = Number(m[2]);
      if (idx >= reg.size) fail(startLine, `${m[1]}[${idx}] is out of range (size ${reg.size}).`);
      return [reg.offset + idx];
    };
    let m: RegExpExecArray | null;
    if ((m = /^(qubit|bit)(?: ?\[(\d+)\])? ([A-Za-z_][A-Za-z0-9_]*)$/.exec(st)) || (m = /^(qreg|creg) ([A-Za-z_][A-Za-z0-9_]*) ?\[(\d+)\]$/.exec(st))) {
      const quantum = m[1] === 'qubit' || m[1] === 'qreg';
      const legacy = m[1] === 'qreg' || m[1] === 'creg';
      const name = legacy ? m[2] : m[3];
      const size = Number((legacy ? m[3] : m[2]) ?? 1);
      const regs = quantum ? qregs : cregs;
      if (regs.has(name)) fail(startLine, `"${name}" is declared twice.`);
      regs.set(name, { offset: quantum ? qubitCount : bitCount, size, scalar: !legacy && m[2] === undefined });
      if (quantum) qubitCount += size;
      else bitCount += size;
      continue;
    }
    if (/^input (float|angle)(\[\d+\])? [A-Za-z_][A-Za-z0-9_]*$/.test(st)) continue;
    if ((m = /^([A-Za-z_][A-Za-z0-9_]*(?:\[\d+\])?) ?= ?measure (.+)$/.exec(st)) || (m = /^measure (.+?) ?-> ?(.+)$/.exec(st))) {
      const arrow = st.startsWith('measure');
      const qs = refs(arrow ? m[1] : m[2], qregs, 'qubit');
      const bs = refs(arrow ? m[2] : m[1], cregs, 'bit');
      if (qs.length !== bs.length) fail(startLine, `measures ${qs.length} qubits into ${bs.length} bits.`);
      qs.forEach((q, k) => instructions.push({ kind: 'measure', qubit: q, bit: bs[k] }));
      continue;
    }
    if ((m = /^measure (.+)$/.exec(st))) {
      for (const q of refs(m[1], qregs, 'qubit')) instructions.push({ kind: 'measure', qubit: q, bit: null });
      continue;
    }
    if ((m = /^([a-z]+) ?(?:\((.*)\))? (.+)$/.exec(st))) {
      const name = m[1];
      const operands = m[3].split(',').map((s) => refs(s, qregs, 'qubit'));
      if (ONE_QUBIT.has(name) || ROTATIONS.has(name)) {
        if (ROTATIONS.has(name) !== (m[2] !== undefined)) fail(startLine, ROTATIONS.has(name) ? `${name} needs an angle, e.g. ${name}(pi/2) q[0].` : `${name} takes no angle.`);
        if (operands.length !== 1) fail(startLine, `${name} acts on one qubit.`);
        const angle = m[2] !== undefined ? evalAngle(m[2], inputs, startLine) : undefined;
        for (const q of operands[0]) instructions.push({ kind: 'gate', gate: name as GateName, qubits: [q], angle });
        continue;
      }
      if (TWO_QUBIT[name]) {
        if (operands.length !== 2 || operands[0].length !== operands[1].length) fail(startLine, `${name} acts on two qubits.`);
        operands[0].forEach((a, k) => {
          const b = operands[1][k];
          if (a === b) fail(startLine, `${name} needs two different qubits.`);
          instructions.push({ kind: 'gate', gate: TWO_QUBIT[name], qubits: [a, b] });
        });
        continue;
      }
      fail(startLine, `the gate "${name}" is not supported by the local simulator (h, x, y, z, s, t, rx, ry, rz, cnot, cz, swap).`);
    }
    fail(startLine, `cannot read "${st}".`);
  }
  if (qubitCount === 0) fail(1, 'the program declares no qubits (e.g. qubit[2] q;).');
  return { qubitCount, instructions };
}
