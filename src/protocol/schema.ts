/**
 * JSON Schema (draft-07) of the requests a client may send on the
 * `covalent-ts` comm (see messages.ts for the types). Pure data, shared by the
 * kernel, which validates every request against it, and the extension.
 */
const id = { type: 'string', minLength: 1, maxLength: 200 } as const;
const dispatchId = { type: 'string', minLength: 1, maxLength: 200 } as const;
const reason = { type: 'string', maxLength: 2000 } as const;
const base = { v: { type: 'integer', minimum: 0 }, id } as const;

const request = (type: string, props: Record<string, unknown> = {}, required: string[] = []) => ({
  type: 'object',
  additionalProperties: false,
  required: ['v', 'id', 'type', ...required],
  properties: { ...base, type: { const: type }, ...props },
});

export const CLIENT_REQUEST_SCHEMA = {
  $id: 'https://covalent-ts/comm/client-request.json',
  type: 'object',
  required: ['type'],
  properties: { type: { enum: ['hello', 'subscribe', 'unsubscribe', 'list', 'cancel_dispatch', 'cancel_tasks'] } },
  discriminator: { propertyName: 'type' },
  oneOf: [
    request('hello', { protocols: { type: 'array', minItems: 1, maxItems: 32, items: { type: 'integer', minimum: 0 } } }, ['protocols']),
    request('subscribe', { dispatchId }, ['dispatchId']),
    request('unsubscribe', { dispatchId }, ['dispatchId']),
    request('list'),
    request('cancel_dispatch', { dispatchId, reason }, ['dispatchId']),
    request(
      'cancel_tasks',
      { dispatchId, reason, taskIds: { type: 'array', minItems: 1, maxItems: 100000, uniqueItems: true, items: { type: 'integer', minimum: 0 } } },
      ['dispatchId', 'taskIds'],
    ),
  ],
} as const;
