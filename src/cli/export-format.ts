import * as os from 'node:os';
import Ajv from 'ajv';
import { ErrorCodes, InvalidInputError } from '../errors';
import type { RowSource } from '../store/store';
import { newNodeRow, type DispatchRow, type NodeRow } from '../store/row-codec';

/**
 * The file `covalent-ts export` writes and `covalent-ts import` reads: one
 * dispatch (with its sublattice dispatches) as self-contained JSON. It holds
 * the graph, statuses, timings, cancel records and small outputs, and never
 * an executor configuration (where credentials could hide) or a key.
 */
export const EXPORT_FORMAT = 'covalent-ts-dispatch-export';
export const EXPORT_FORMAT_VERSION = 1;
/** Outputs (and results) larger than this stay behind; the file says so. */
export const SMALL_OUTPUT_BYTES = 64 * 1024;

/** The node fields an export carries as they are (the id, executor label and output are renamed or encoded). */
const NODE_FIELDS = [
  'name', 'kind', 'status', 'startedAt', 'completedAt', 'error', 'cancelRequested', 'cancelReason', 'cancelSource',
  'cancelOutcome', 'cancelDetail', 'jobHandle', 'subDispatchId', 'dependsOn',
] as const satisfies ReadonlyArray<keyof NodeRow>;
const DISPATCH_FIELDS = ['name', 'status', 'startedAt', 'completedAt', 'parentDispatchId', 'parentNodeId', 'error'] as const satisfies ReadonlyArray<keyof DispatchRow>;

export type ExportedNode = Pick<NodeRow, (typeof NODE_FIELDS)[number]> & {
  id: number;
  executor: string | null;
  /** base64 of the serialized output, when small; null otherwise. */
  output: string | null;
  outputOmitted: boolean;
};

export type ExportedDispatch = Pick<DispatchRow, (typeof DISPATCH_FIELDS)[number]> & {
  id: string;
  result: string | null;
  resultOmitted: boolean;
  nodes: ExportedNode[];
};

function pick<T, K extends keyof T>(from: T, keys: readonly K[]): Pick<T, K> {
  const out = {} as Pick<T, K>;
  for (const k of keys) out[k] = from[k];
  return out;
}

export interface ExportFile {
  format: typeof EXPORT_FORMAT;
  formatVersion: number;
  exportedAt: string;
  exportedBy: { user: string | null; host: string; home: string; ownerPid: number | null };
  /** The exported dispatch first, then its sublattice dispatches. */
  dispatches: ExportedDispatch[];
}

const small = (bytes: Uint8Array | null): [string | null, boolean] =>
  !bytes ? [null, false] : bytes.length <= SMALL_OUTPUT_BYTES ? [Buffer.from(bytes).toString('base64'), false] : [null, true];

export function exportedDispatch(d: DispatchRow, nodes: NodeRow[]): ExportedDispatch {
  const [result, resultOmitted] = small(d.result);
  return {
    id: d.dispatchId,
    ...pick(d, DISPATCH_FIELDS),
    result,
    resultOmitted,
    nodes: nodes.map((n) => {
      const [output, outputOmitted] = small(n.output);
      return { id: n.nodeId, ...pick(n, NODE_FIELDS), executor: n.executorLabel, output, outputOmitted };
    }),
  };
}

export function exportFile(home: string, ownerPid: number | null, dispatches: ExportedDispatch[]): ExportFile {
  let user: string | null = null;
  try {
    user = os.userInfo().username;
  } catch {
    // No passwd entry (a container): the host and home still say where it came from.
  }
  return {
    format: EXPORT_FORMAT,
    formatVersion: EXPORT_FORMAT_VERSION,
    exportedAt: new Date().toISOString(),
    exportedBy: { user, host: os.hostname(), home, ownerPid },
    dispatches,
  };
}

const nullable = (type: string) => ({ type: [type, 'null'] });
const SCHEMA = {
  type: 'object',
  required: ['format', 'formatVersion', 'exportedAt', 'exportedBy', 'dispatches'],
  properties: {
    format: { const: EXPORT_FORMAT },
    formatVersion: { type: 'integer', minimum: 1 },
    exportedAt: { type: 'string' },
    exportedBy: { type: 'object', required: ['host', 'home'], properties: { user: nullable('string'), host: { type: 'string' }, home: { type: 'string' } } },
    dispatches: {
      type: 'array',
      minItems: 1,
      items: {
        type: 'object',
        required: ['id', 'name', 'status', 'nodes'],
        properties: {
          id: { type: 'string', pattern: '^[A-Za-z0-9-]{1,100}$' },
          name: { type: 'string' },
          status: { type: 'string' },
          startedAt: nullable('string'),
          completedAt: nullable('string'),
          parentDispatchId: nullable('string'),
          parentNodeId: nullable('integer'),
          error: nullable('string'),
          result: nullable('string'),
          nodes: {
            type: 'array',
            items: {
              type: 'object',
              required: ['id', 'name', 'kind', 'status', 'dependsOn'],
              properties: {
                id: { type: 'integer', minimum: 0 },
                name: { type: 'string' },
                kind: { type: 'string' },
                status: { type: 'string' },
                output: nullable('string'),
                jobHandle: nullable('string'),
                subDispatchId: nullable('string'),
                dependsOn: { type: 'array', items: { type: 'integer', minimum: 0 } },
              },
            },
          },
        },
      },
    },
  },
} as const;
const validate = new Ajv({ allErrors: false, strict: false }).compile(SCHEMA);

/** Check a parsed export file; the message says what is wrong with it. */
export function checkExportFile(data: unknown, file: string): ExportFile {
  const bad = (why: string) =>
    new InvalidInputError(ErrorCodes.UNREADABLE_FILE, `${file} is not a covalent-ts export (${why}). Make it with \`covalent-ts export <id> --out FILE\`.`);
  if (!data || typeof data !== 'object' || (data as { format?: unknown }).format !== EXPORT_FORMAT) throw bad('no "format": "covalent-ts-dispatch-export"');
  const version = (data as { formatVersion?: unknown }).formatVersion;
  if (typeof version === 'number' && version > EXPORT_FORMAT_VERSION) {
    throw new InvalidInputError(ErrorCodes.UNREADABLE_FILE, `${file} has export format ${version}; this covalent-ts reads up to ${EXPORT_FORMAT_VERSION}. Upgrade covalent-ts to import it.`);
  }
  if (!validate(data)) {
    const e = validate.errors?.[0];
    throw bad(`${e?.instancePath || 'the file'} ${e?.message ?? 'does not match the format'}`);
  }
  return data as unknown as ExportFile;
}

/** Rows of an imported dispatch, in the form the store writes. */
export function importedRows(d: ExportedDispatch, from: ExportFile['exportedBy']): RowSource {
  const bytes = (b64: string | null | undefined) => (b64 ? new Uint8Array(Buffer.from(b64, 'base64')) : null);
  return {
    // Owner: the exporting host, with no pid: no process here owns it, and none may act on its jobs.
    dispatchRow: () => ({
      dispatchId: d.id, name: d.name, status: d.status, startedAt: d.startedAt ?? null, completedAt: d.completedAt ?? null,
      parentDispatchId: d.parentDispatchId ?? null, parentNodeId: d.parentNodeId ?? null,
      ownerPid: null, ownerHost: from.host, ownerStartTime: null,
      error: d.error ?? null, result: bytes(d.result), nodeCount: d.nodes.length,
    }),
    nodeRow: (i) => {
      const n = d.nodes[i];
      // Fields missing from the file (an older or hand-made export) read as empty.
      const given = Object.fromEntries(NODE_FIELDS.filter((k) => n[k] !== undefined).map((k) => [k, n[k]]));
      const row = newNodeRow({ ...given, nodeId: n.id, name: n.name, kind: n.kind, executorLabel: n.executor ?? null, output: bytes(n.output) });
      row.cancelRequested = n.cancelRequested === true;
      return row;
    },
    nodeCount: () => d.nodes.length,
  };
}
