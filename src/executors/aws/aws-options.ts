/**
 * Option checks shared by the AWS executors. Every check runs when the
 * executor is constructed, so a bad option is a clear error before anything
 * is uploaded or submitted.
 */
import { ErrorCodes, InvalidInputError } from '../../errors';
import type { AwsEndpoints } from './aws-clients';

export class OptionChecker {
  constructor(
    private readonly where: string,
    readonly o: Record<string, unknown>,
  ) {
    if (o === null || typeof o !== 'object') this.fail('options must be an object.');
  }

  fail(message: string): never {
    throw new InvalidInputError(ErrorCodes.INVALID_ARGUMENT, `${this.where}: ${message}`);
  }

  string(key: string, required: true, pattern?: RegExp, example?: string): string;
  string(key: string, required?: false, pattern?: RegExp, example?: string): string | undefined;
  string(key: string, required = false, pattern?: RegExp, example?: string): string | undefined {
    const v = this.o[key];
    if (v === undefined || v === null) {
      if (required) this.fail(`"${key}" is required${example ? `, e.g. ${example}` : ''}.`);
      return undefined;
    }
    if (typeof v !== 'string' || v === '' || /[\0\n\r]/.test(v)) this.fail(`"${key}" must be a non-empty single-line string.`);
    if (pattern && !pattern.test(v)) this.fail(`"${key}" ${JSON.stringify(v)} is not valid${example ? `; for example ${example}` : ''}.`);
    return v;
  }

  int(key: string, min: number, max: number, fallback: number): number;
  int(key: string, min: number, max: number): number | undefined;
  int(key: string, min: number, max: number, fallback?: number): number | undefined {
    const v = this.o[key];
    if (v === undefined || v === null) return fallback;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
      this.fail(`"${key}" must be an integer from ${min} to ${max}; got ${JSON.stringify(v)}.`);
    }
    return v;
  }

  bool(key: string, fallback: boolean): boolean {
    const v = this.o[key];
    if (v === undefined || v === null) return fallback;
    if (typeof v !== 'boolean') this.fail(`"${key}" must be true or false; got ${JSON.stringify(v)}.`);
    return v;
  }

  stringMap(key: string, keyPattern: RegExp, what: string): Record<string, string> {
    const v = this.o[key];
    if (v === undefined || v === null) return {};
    if (typeof v !== 'object' || Array.isArray(v)) this.fail(`"${key}" must be an object of ${what} names to string values.`);
    for (const [k, val] of Object.entries(v as object)) {
      if (!keyPattern.test(k)) this.fail(`"${key}" has an invalid name ${JSON.stringify(k)}.`);
      if (typeof val !== 'string') this.fail(`"${key}.${k}" must be a string.`);
    }
    return { ...(v as Record<string, string>) };
  }

  region(): string {
    return this.string('region', true, /^[a-z]{2}(-[a-z]+)+-\d$/, '"us-east-1"');
  }

  bucket(): string {
    return this.string('s3Bucket', true, /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, '"my-covalent-bucket"');
  }

  prefix(): string {
    const p = this.string('s3Prefix', false, /^[A-Za-z0-9!_.*'()/-]+$/, '"covalent-ts/tasks"') ?? 'covalent-ts';
    return p.replace(/^\/+|\/+$/g, '');
  }

  endpoints(allowed: Array<keyof AwsEndpoints>): AwsEndpoints {
    const v = this.o.endpoints;
    if (v === undefined || v === null) return {};
    if (typeof v !== 'object' || Array.isArray(v)) this.fail(`"endpoints" must be an object like { ${allowed.map((a) => `${a}: 'https://...'`).join(', ')} }.`);
    const out: AwsEndpoints = {};
    for (const [k, url] of Object.entries(v as object)) {
      if (!allowed.includes(k as keyof AwsEndpoints)) this.fail(`"endpoints.${k}" is not known; use ${allowed.join(', ')}.`);
      if (typeof url !== 'string' || !/^https?:\/\/[^\s/]+(\/\S*)?$/.test(url)) this.fail(`"endpoints.${k}" must be an http(s) URL; got ${JSON.stringify(url)}.`);
      out[k as keyof AwsEndpoints] = url;
    }
    return out;
  }

  /** Poll intervals: first, and the longest it backs off to. */
  pollIntervals(defaultMs: number, defaultMaxMs: number): { pollIntervalMs: number; maxPollIntervalMs: number } {
    const pollIntervalMs = this.int('pollIntervalMs', 10, 600_000, defaultMs);
    const maxPollIntervalMs = this.int('maxPollIntervalMs', pollIntervalMs, 3_600_000, Math.max(defaultMaxMs, pollIntervalMs));
    return { pollIntervalMs, maxPollIntervalMs };
  }
}

/** Names that must never be in options (they would be stored): credentials come from the SDK's provider chain. */
export const CREDENTIAL_ENV_NAMES = /^(AWS_ACCESS_KEY_ID|AWS_SECRET_ACCESS_KEY|AWS_SESSION_TOKEN|AWS_SECURITY_TOKEN)$/;

/** A name AWS accepts for a job (Batch: 1-128 letters, digits, - and _). */
export function jobNameFor(taskName: string, nodeId: number): string {
  const clean = taskName.replace(/[^A-Za-z0-9_-]/g, '_').slice(0, 100) || 'task';
  return `ct-${clean}-${nodeId}`;
}
