import Ajv, { type ErrorObject } from 'ajv';
import leven = require('leven');
import { ErrorCodes, InvalidInputError } from '../errors';
import type { CancelSource } from '../protocol/messages';

/** Options of `ct.cancel(dispatchId, options)` and `Dispatcher.cancel`. */
export interface CancelOptions {
  /** Cancel only these tasks (and everything downstream of them). Default: the whole dispatch. */
  taskIds?: number[];
  /** Why; stored with each task and shown in the graph. */
  reason?: string;
  /** Who asked: `api` (ct.cancel), `comm` (a button in JupyterLab), `external` (another process), `limit` (a time limit or budget fired). */
  source?: CancelSource;
  /**
   * Give up on kills that cannot be confirmed (the host was wiped, say): such
   * tasks end CANCELLED, their record keeping `kill_unconfirmed` and who gave
   * up. Only for dispatches whose process is gone (orphans); the kill is
   * retried first. Default false.
   */
  abandon?: boolean;
}

/** Cancel options once checked: what the dispatcher acts on. */
export interface ValidCancelOptions {
  /** null: the whole dispatch. Deduplicated, in the order given. */
  taskIds: number[] | null;
  reason: string | null;
  source: CancelSource;
  abandon: boolean;
}

const SOURCES: readonly CancelSource[] = ['api', 'comm', 'external', 'limit'];
const KEYS = ['taskIds', 'reason', 'source', 'abandon'] as const;

const CANCEL_OPTIONS_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  properties: {
    // Integers only; whether an id exists (negative ids never do) needs the dispatch: requireKnownTasks.
    taskIds: { type: 'array', minItems: 1, items: { type: 'integer' } },
    reason: { type: 'string' },
    source: { enum: SOURCES },
    abandon: { type: 'boolean' },
  },
} as const;

const validate = new Ajv({ allErrors: true, strict: true }).compile(CANCEL_OPTIONS_SCHEMA);

/**
 * The one check of cancel options, used by every way in (ct.cancel, the
 * dispatcher, the JupyterLab comm, requests from other processes, the CLI).
 * A cancel that cannot be what the caller meant is refused before anything
 * changes: cancelling a whole dispatch because of a typo costs real money.
 */
export function parseCancelOptions(options: unknown): ValidCancelOptions {
  if (options === undefined) return { taskIds: null, reason: null, source: 'api', abandon: false };
  if (!validate(options)) {
    const problems = explain(options, validate.errors ?? []);
    const said = problems.join('; ');
    throw new InvalidInputError(
      ErrorCodes.INVALID_ARGUMENT,
      `ct.cancel: ${said}${said.endsWith('?') ? '' : '.'} Nothing was cancelled. Options look like ` +
        `{ taskIds: [1, 3], reason: 'too slow' }; without options the whole dispatch is cancelled.`,
      { details: { problems } },
    );
  }
  const o = options as CancelOptions;
  return { taskIds: o.taskIds === undefined ? null : [...new Set(o.taskIds)], reason: o.reason ?? null, source: o.source ?? 'api', abandon: o.abandon === true };
}

/**
 * Task ids must exist in the dispatch (ids are 0..taskCount-1). Separate from
 * the shape check because it needs the dispatch; reported as CT_UNKNOWN_TASK.
 */
export function requireKnownTasks(dispatchId: string, taskIds: number[], taskCount: number): void {
  const unknown = taskIds.filter((t) => t < 0 || t >= taskCount);
  if (!unknown.length) return;
  throw new InvalidInputError(
    ErrorCodes.UNKNOWN_TASK,
    `Dispatch ${dispatchId} has no task${unknown.length > 1 ? 's' : ''} ${unknown.join(', ')}; ` +
      `its task ids are 0..${taskCount - 1} (see ct.getResult(id).nodes). Nothing was cancelled.`,
    { details: { dispatchId, unknownTaskIds: unknown } },
  );
}

/** Ajv's findings, said in terms of the call the user wrote, with the likely intent. */
function explain(options: unknown, errors: ErrorObject[]): string[] {
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    return [`the second argument must be an options object, got ${show(options)}${guess(options)}`];
  }
  const out: string[] = [];
  for (const e of errors) {
    const key = e.instancePath.split('/')[1];
    const value = (options as Record<string, unknown>)[key];
    if (e.keyword === 'additionalProperties') {
      const extra = String(e.params.additionalProperty);
      const near = closestKey(extra);
      const v = (options as Record<string, unknown>)[extra];
      out.push(`unknown option ${JSON.stringify(extra)}${near ? `; did you mean ${near === 'taskIds' ? formatTaskIds(v) : `\`${near}\``}?` : ` (the options are ${KEYS.join(', ')})`}`);
    } else if (key === 'taskIds' && e.instancePath === '/taskIds') {
      out.push(
        e.keyword === 'minItems'
          ? 'taskIds is empty; leave it out to cancel the whole dispatch, or name the tasks'
          : `taskIds must be an array of task ids, got ${show(value)}${Array.isArray(value) ? '' : `; did you mean ${formatTaskIds(value)}?`}`,
      );
    } else if (key === 'taskIds') {
      const item = (value as unknown[])[Number(e.instancePath.split('/')[2])];
      out.push(`taskIds${e.instancePath.slice('/taskIds'.length).replace(/\/(\d+)/, '[$1]')} is ${show(item)}, not a task id (an integer)`);
    } else if (key === 'reason') {
      out.push(`reason must be a string, got ${show(value)}`);
    } else if (key === 'abandon') {
      out.push(`abandon must be true or false, got ${show(value)}`);
    } else if (key === 'source') {
      out.push(`source must be one of ${SOURCES.map((s) => JSON.stringify(s)).join(', ')}, got ${show(value)}`);
    } else {
      out.push(`${e.instancePath || 'options'} ${e.message}`);
    }
  }
  return [...new Set(out)];
}

/** What the caller probably meant when the options are not an object. */
function guess(v: unknown): string {
  if (Array.isArray(v) || typeof v === 'number') return `; did you mean ${formatTaskIds(v)}?`;
  if (typeof v === 'string') return `; did you mean \`{ reason: ${JSON.stringify(v)} }\`?`;
  return '';
}

function formatTaskIds(v: unknown): string {
  const ids = Array.isArray(v) ? v : [v];
  return `\`{ taskIds: [${ids.map(show).join(', ')}] }\``;
}

/** A value as the user would have typed it (NaN stays NaN, unlike JSON). */
function show(v: unknown): string {
  if (typeof v === 'number' || typeof v === 'bigint' || v === undefined) return String(v);
  if (typeof v === 'function') return `a function${v.name ? ` (${v.name})` : ''}`;
  try {
    return JSON.stringify(v) ?? String(v);
  } catch {
    return Object.prototype.toString.call(v);
  }
}

/** The option a misspelt key most likely meant (case, a missing or extra letter). */
function closestKey(key: string): string | undefined {
  let best: string | undefined;
  let bestDistance = 3;
  for (const k of KEYS) {
    const d = leven(key.toLowerCase(), k.toLowerCase());
    if (d < bestDistance) [best, bestDistance] = [k, d];
  }
  return best;
}
