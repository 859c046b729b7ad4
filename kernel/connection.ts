import * as fs from 'fs';
import { CtError, ErrorCodes } from '../src/errors';
import { isRecord } from './is-record';

/** The connection file Jupyter writes for a kernel (messaging spec, "Connection files"). */
export interface ConnectionInfo {
  transport: 'tcp' | 'ipc';
  ip: string;
  key: string;
  signature_scheme: string;
  shell_port: number;
  iopub_port: number;
  stdin_port: number;
  control_port: number;
  hb_port: number;
  kernel_name?: string;
}

/**
 * Reads and checks a connection file. The kernel refuses to bind anything but
 * loopback: a kernel runs cells as its user, and the HMAC key is the only
 * other barrier, so it never listens on an address another machine can reach.
 */
export function readConnectionFile(file: string): ConnectionInfo {
  let parsed: unknown;
  try {
    parsed = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    throw new CtError(ErrorCodes.INVALID_ARGUMENT, `Cannot read the connection file ${file}: ${(e as Error).message}`, { cause: e });
  }
  // Anything but a JSON object fails the transport check below with the same clear message.
  const info = isRecord(parsed) ? parsed : {};
  if (info.transport !== 'tcp') {
    throw new CtError(ErrorCodes.INVALID_ARGUMENT, `Connection file ${file}: only transport "tcp" is supported, got ${JSON.stringify(info.transport)}.`);
  }
  if (!isLoopback(info.ip)) {
    throw new CtError(
      ErrorCodes.INVALID_ARGUMENT,
      `Connection file ${file}: ip ${JSON.stringify(info.ip)} is not a loopback address; covalent-ts binds 127.0.0.1 (or ::1) only.`,
    );
  }
  const port = (name: string): number => {
    const value = info[name];
    if (typeof value !== 'number' || !Number.isInteger(value) || value <= 0 || value > 65535) {
      throw new CtError(ErrorCodes.INVALID_ARGUMENT, `Connection file ${file}: ${name} must be a port number, got ${JSON.stringify(value)}.`);
    }
    return value;
  };
  return {
    transport: 'tcp',
    ip: info.ip,
    // Checked in this order (an object literal is evaluated top to bottom).
    shell_port: port('shell_port'),
    iopub_port: port('iopub_port'),
    stdin_port: port('stdin_port'),
    control_port: port('control_port'),
    hb_port: port('hb_port'),
    key: typeof info.key === 'string' ? info.key : '',
    signature_scheme: typeof info.signature_scheme === 'string' && info.signature_scheme !== '' ? info.signature_scheme : 'hmac-sha256',
    ...(typeof info.kernel_name === 'string' ? { kernel_name: info.kernel_name } : {}),
  };
}

export function isLoopback(ip: unknown): ip is string {
  return typeof ip === 'string' && (ip === 'localhost' || ip === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(ip));
}

export function endpoint(info: ConnectionInfo, port: number): string {
  const host = info.ip === '::1' ? '[::1]' : info.ip === 'localhost' ? '127.0.0.1' : info.ip;
  return `tcp://${host}:${port}`;
}
