import Ajv, { type SchemaObject } from 'ajv';
import { CLIENT_REQUEST_SCHEMA, type ClientRequest } from '../src/protocol';
import { isRecord } from './is-record';

const ajv = new Ajv({ discriminator: true, allErrors: false, strict: false });
// The schema is a plain JSON object literal: ajv checks it when compiling, and
// the type it proves is the protocol's ClientRequest (kept in step by the protocol's tests).
const validate = ajv.compile<ClientRequest>(CLIENT_REQUEST_SCHEMA satisfies SchemaObject);

export type Validation = { ok: true; request: ClientRequest } | { ok: false; id: string | null; message: string };

/**
 * Checks one incoming comm payload against the protocol's JSON schema. The id
 * of a rejected request is echoed when it is a usable string, so the client
 * can match the error to what it sent.
 */
export function validateRequest(data: unknown): Validation {
  if (!isRecord(data) || Array.isArray(data)) {
    return { ok: false, id: null, message: 'A request must be a JSON object with v, id and type.' };
  }
  const id = typeof data.id === 'string' && data.id.length <= 200 ? data.id : null;
  if (validate(data)) return { ok: true, request: data };
  const err = validate.errors?.[0];
  const where = err?.instancePath ? `${err.instancePath} ` : '';
  let message = `Invalid ${JSON.stringify(data.type ?? 'request')} request: ${where}${err?.message ?? 'does not match the schema'}`;
  if (err?.keyword === 'additionalProperties') message += ` (${JSON.stringify(err.params.additionalProperty)})`;
  if (err?.keyword === 'discriminator' || (err?.keyword === 'enum' && err.instancePath === '/type')) {
    message = `Unknown request type ${JSON.stringify(data.type)}.`;
  }
  return { ok: false, id, message };
}
