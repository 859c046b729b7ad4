import * as os from 'node:os';
import Ajv from 'ajv';
import { ErrorCodes, InvalidInputError } from '../errors';
import type { RowSource } from '../store/store';
import type { DispatchRow, NodeRow } from '../store/schema';

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

export interface ExportedNode {
  id: number;
  name: string;
  kind: string;
  status: string;
  executor: string | null;
  startedAt: string | null;
  completedAt: string | null;
  /** base64 of the serialized output, when small; null otherwise. */
  output: string | null;
  outputOmitted: boolean;
  error: string | null;
  cancelRequested: boolean;
  cancelReason: string | null;
  cancelSource: string | null;
  cancelOutcome: string | null;
  cancelDetail: string | null;
  jobHandle: string | null;
  subDispatchId: string | null;
  dependsOn: number[];
}

export interface ExportedDispatch {
  id: string;
  name: string;
  status: string;
  startedAt: string | null;
  completedAt: string | null;
  parentDispatchId: string | null;
  parentNodeId: number | null;
  error: string | null;
  result: string | null;
  resultOmitted: boolean;
  nodes: ExportedNode[];
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
    name: d.name,
    status: d.status,
    startedAt: d.startedAt,
    completedAt: d.completedAt,
    parentDispatchId: d.parentDispatchId,
    parentNodeId: d.parentNodeId,
    error: d.error,
    result,
    resultOmitted,
    nodes: nodes.map((n) => {
      const [output, outputOmitted] = small(n.output);
      return {
        id: n.nodeId,
        name: n.name,
        kind: n.kind,
        status: n.status,
        executor: n.executorLabel,
        startedAt: n.startedAt,
        completedAt: n.completedAt,
        output,
        outputOmitted,
        error: n.error,
        cancelRequested: n.cancelRequested,
        cancelReason: n.cancelReason,
        cancelSource: n.cancelSource,
        cancelOutcome: n.cancelOutcome,
        cancelDetail: n.cancelDetail,
        jobHandle: n.jobHandle,
        subDispatchId: n.subDispatchId,
        dependsOn: n.dependsOn,
      };
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
      return {
        nodeId: n.id, name: n.name, kind: n.kind, status: n.status, executorConfig: null, executorLabel: n.executor ?? null,
        startedAt: n.startedAt ?? null, completedAt: n.completedAt ?? null, output: bytes(n.output), error: n.error ?? null,
        cancelRequested: n.cancelRequested === true, cancelReason: n.cancelReason ?? null, cancelSource: n.cancelSource ?? null,
        cancelOutcome: n.cancelOutcome ?? null, cancelDetail: n.cancelDetail ?? null, jobHandle: n.jobHandle ?? null,
        subDispatchId: n.subDispatchId ?? null, dependsOn: n.dependsOn,
      };
    },
    nodeCount: () => d.nodes.length,
  };
}
