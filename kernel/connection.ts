import * as fs from 'fs';
import { CtError, ErrorCodes } from '../src/errors';

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

const PORTS = ['shell_port', 'iopub_port', 'stdin_port', 'control_port', 'hb_port'] as const;

/**
 * Reads and checks a connection file. The kernel refuses to bind anything but
 * loopback: a kernel runs cells as its user, and the HMAC key is the only
 * other barrier, so it never listens on an address another machine can reach.
 */
export function readConnectionFile(file: string): ConnectionInfo {
  let info: any;
  try {
    info = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    throw new CtError(ErrorCodes.INVALID_ARGUMENT, `Cannot read the connection file ${file}: ${(e as Error).message}`, { cause: e });
  }
  if (info.transport !== 'tcp') {
    throw new CtError(ErrorCodes.INVALID_ARGUMENT, `Connection file ${file}: only transport "tcp" is supported, got ${JSON.stringify(info.transport)}.`);
  }
  if (!isLoopback(info.ip)) {
    throw new CtError(
      ErrorCodes.INVALID_ARGUMENT,
      `Connection file ${file}: ip ${JSON.stringify(info.ip)} is not a loopback address; covalent-ts binds 127.0.0.1 (or ::1) only.`,
    );
  }
  for (const p of PORTS) {
    if (!Number.isInteger(info[p]) || info[p] <= 0 || info[p] > 65535) {
      throw new CtError(ErrorCodes.INVALID_ARGUMENT, `Connection file ${file}: ${p} must be a port number, got ${JSON.stringify(info[p])}.`);
    }
  }
  if (typeof info.key !== 'string') info.key = '';
  if (typeof info.signature_scheme !== 'string' || info.signature_scheme === '') info.signature_scheme = 'hmac-sha256';
  return info as ConnectionInfo;
}

export function isLoopback(ip: unknown): boolean {
  return typeof ip === 'string' && (ip === 'localhost' || ip === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(ip));
}

export function endpoint(info: ConnectionInfo, port: number): string {
  const host = info.ip === '::1' ? '[::1]' : info.ip === 'localhost' ? '127.0.0.1' : info.ip;
  return `tcp://${host}:${port}`;
}
