import { ErrorCodes, InvalidInputError } from '../errors';

const OUTPUT_BRAND = Symbol.for('covalent-ts.nodeOutput');

/**
 * What calling an electron inside a lattice returns: a placeholder for the
 * task's future output. Passing it to other electrons creates an edge; the
 * dispatcher swaps in the real value when the task has run.
 */
export class NodeOutput {
  declare readonly [OUTPUT_BRAND]: true;
  constructor(
    readonly graphId: number,
    readonly nodeId: number,
    readonly nodeName: string,
  ) {
    Object.defineProperty(this, OUTPUT_BRAND, { value: true });
  }

  /** Using the placeholder as a value (arithmetic, string templates) is a mistake: say so plainly. */
  [Symbol.toPrimitive](): never {
    throw new InvalidInputError(
      ErrorCodes.INVALID_ARGUMENT,
      `The output of task ${this.nodeId} (${this.nodeName}) was used as a value inside the lattice function. ` +
        `Inside a lattice, task outputs are placeholders: pass them to other electrons (for example wrap the arithmetic in an electron).`,
    );
  }

  toJSON(): string {
    return `<output of task ${this.nodeId} (${this.nodeName})>`;
  }
}

export function isNodeOutput(value: unknown): value is NodeOutput {
  return value !== null && typeof value === 'object' && (value as any)[OUTPUT_BRAND] === true;
}

function isPlainContainer(value: unknown): value is Record<string, unknown> | unknown[] {
  if (Array.isArray(value)) return true;
  if (value === null || typeof value !== 'object') return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/** Every placeholder inside a value (arrays and plain objects are searched). */
export function collectOutputs(value: unknown, into: NodeOutput[] = [], depth = 0): NodeOutput[] {
  if (isNodeOutput(value)) into.push(value);
  else if (depth < 64 && isPlainContainer(value)) {
    for (const v of Array.isArray(value) ? value : Object.values(value)) collectOutputs(v, into, depth + 1);
  }
  return into;
}

/** Copy of `value` with each placeholder replaced by `resolve(placeholder)`. Shares untouched parts. */
export function resolveOutputs(value: unknown, resolve: (o: NodeOutput) => unknown, depth = 0): unknown {
  if (isNodeOutput(value)) return resolve(value);
  if (depth >= 64 || !isPlainContainer(value)) return value;
  if (Array.isArray(value)) {
    let changed = false;
    const out = value.map((v) => {
      const r = resolveOutputs(v, resolve, depth + 1);
      if (r !== v) changed = true;
      return r;
    });
    return changed ? out : value;
  }
  let changed = false;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    const r = resolveOutputs(v, resolve, depth + 1);
    if (r !== v) changed = true;
    out[k] = r;
  }
  return changed ? out : value;
}
