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
    // Copied only from the first change on: most argument lists hold plain values only.
    let out: unknown[] | undefined;
    for (let i = 0; i < value.length; i++) {
      const v = value[i];
      const r = v !== null && typeof v === 'object' ? resolveOutputs(v, resolve, depth + 1) : v;
      if (out) out.push(r);
      else if (r !== v) (out = value.slice(0, i)).push(r);
    }
    return out ?? value;
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

/**
 * The key of the plain object that stands for an upstream output where a
 * value is stored or hashed (`{ [OUTPUT_REF]: nodeId }`): NodeOutput itself
 * is a placeholder of one live graph, not data.
 */
export const OUTPUT_REF = '\0ct-output';

/** Copy of `value` with each placeholder as `{ [OUTPUT_REF]: nodeId }`. */
export function outputsAsRefs(value: unknown): unknown {
  return resolveOutputs(value, (o) => ({ [OUTPUT_REF]: o.nodeId }));
}

function isOutputRef(value: unknown): value is { [OUTPUT_REF]: number } {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return false;
  const keys = Object.keys(value);
  return keys.length === 1 && keys[0] === OUTPUT_REF && typeof (value as Record<string, unknown>)[OUTPUT_REF] === 'number';
}

/** The reverse of `outputsAsRefs`, in place (on a freshly decoded value): each `{ [OUTPUT_REF]: id }` becomes `placeholder(id)`. */
export function refsAsOutputs(value: unknown, placeholder: (nodeId: number) => NodeOutput, depth = 0): unknown {
  if (isOutputRef(value)) return placeholder(value[OUTPUT_REF]);
  if (depth >= 64 || !isPlainContainer(value)) return value;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) value[i] = refsAsOutputs(value[i], placeholder, depth + 1);
    return value;
  }
  for (const k of Object.keys(value)) value[k] = refsAsOutputs(value[k], placeholder, depth + 1);
  return value;
}
