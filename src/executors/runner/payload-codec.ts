/**
 * Bytes on the wire and on disk for payloads and outputs: V8's structured
 * clone format, which keeps Dates, Maps, Sets, typed arrays, bigints and
 * cycles, and is read back by any later Node version. Built-ins only, so
 * remote runners can carry this file as it is.
 */
import * as v8 from 'node:v8';
import type { TaskOutput, TaskPayload } from '../task-payload';

export function encodePayload(payload: TaskPayload): Buffer {
  return v8.serialize(payload);
}
export function decodePayload(bytes: Buffer): TaskPayload {
  return v8.deserialize(bytes) as TaskPayload;
}
export function encodeOutput(output: TaskOutput): Buffer {
  return v8.serialize(output);
}
export function decodeOutput(bytes: Buffer): TaskOutput {
  return v8.deserialize(bytes) as TaskOutput;
}
