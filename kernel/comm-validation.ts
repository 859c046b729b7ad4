import Ajv from 'ajv';
import { CLIENT_REQUEST_SCHEMA, type ClientRequest } from '../src/protocol';

const ajv = new Ajv({ discriminator: true, allErrors: false, strict: false });
const validate = ajv.compile(CLIENT_REQUEST_SCHEMA as any);

export type Validation = { ok: true; request: ClientRequest } | { ok: false; id: string | null; message: string };

/**
 * Checks one incoming comm payload against the protocol's JSON schema. The id
 * of a rejected request is echoed when it is a usable string, so the client
 * can match the error to what it sent.
 */
export function validateRequest(data: unknown): Validation {
  const id = data && typeof data === 'object' && typeof (data as any).id === 'string' && (data as any).id.length <= 200 ? (data as any).id : null;
  if (!data || typeof data !== 'object' || Array.isArray(data)) {
    return { ok: false, id: null, message: 'A request must be a JSON object with v, id and type.' };
  }
  if (validate(data)) return { ok: true, request: data as unknown as ClientRequest };
  const err = validate.errors?.[0];
  const where = err?.instancePath ? `${err.instancePath} ` : '';
  let message = `Invalid ${JSON.stringify((data as any).type ?? 'request')} request: ${where}${err?.message ?? 'does not match the schema'}`;
  if (err?.keyword === 'additionalProperties') message += ` (${JSON.stringify((err.params as any).additionalProperty)})`;
  if (err?.keyword === 'discriminator' || (err?.keyword === 'enum' && err.instancePath === '/type')) {
    message = `Unknown request type ${JSON.stringify((data as any).type)}.`;
  }
  return { ok: false, id, message };
}
