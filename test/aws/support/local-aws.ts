/**
 * A faithful local AWS for tests and benchmarks: S3 from `s3rver` (a real
 * S3-compatible server on the filesystem) and one HTTP service speaking the
 * Batch and Braket REST protocols (support/local-batch.ts,
 * support/local-braket.ts). The SDK clients are pointed at them through the
 * executors' `endpoints`; nothing mocks `send`.
 *
 * Credentials: tests put fake keys in the environment (the SDK's default
 * provider chain finds them there); the service records the access key id of
 * every signed request so tests can check which credentials were used.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { AddressInfo } from 'node:net';
import { AwsHttpServer } from './aws-http';
import { LocalBatch } from './local-batch';
import { LocalBraket } from './local-braket';
import { S3Proxy } from './s3-proxy';

// eslint-disable-next-line @typescript-eslint/no-var-requires
const S3rver = require('s3rver');

export const TEST_REGION = 'us-east-1';
export const TEST_BUCKET = 'ct-test-bucket';
/** Fake credentials, distinctive enough to search the store and outputs for. */
// s3rver knows only this access key id (it checks it even when it ignores signatures).
export const TEST_ACCESS_KEY_ID = 'S3RVER';
export const TEST_SECRET = 'ct-test-secret-Zq8vW2pX7yR4tK9m';

export interface LocalAwsOptions {
  /** What runs `covalent-ts ...` commands of jobs (default: this checkout's dist build with this Node). */
  covalentCommand?: string[];
}

export class LocalAws {
  readonly http = new AwsHttpServer((op) => (BRAKET_OPS.has(op) ? 'ThrottlingException' : 'TooManyRequestsException'));
  readonly batch: LocalBatch;
  readonly braket: LocalBraket;
  /** The Batch/Braket endpoint. */
  endpoint = '';
  /** S3 as clients see it: through the proxy, which can slow it down or watch it. */
  s3Endpoint = '';
  /** s3rver itself. */
  private s3Direct = '';
  readonly s3Proxy = new S3Proxy(() => this.s3Direct);
  private s3: any;
  readonly s3Dir: string;

  constructor(options: LocalAwsOptions = {}) {
    const cli = options.covalentCommand ?? [process.execPath, path.join(repoRoot(), 'dist/src/cli/main.js')];
    const env = () => this.processEnv();
    this.batch = new LocalBatch(this.http, TEST_REGION, env, { 'covalent-ts': cli });
    this.braket = new LocalBraket(this.http, TEST_REGION, env, { 'covalent-ts': cli }, () => this.s3Endpoint);
    this.s3Dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ct-s3-'));
  }

  /** Environment of job processes: what a container with a job role would have (here: the fake keys). */
  processEnv(): Record<string, string> {
    return {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: process.env.HOME ?? '/root',
      AWS_ACCESS_KEY_ID: TEST_ACCESS_KEY_ID,
      AWS_SECRET_ACCESS_KEY: TEST_SECRET,
      AWS_REGION: TEST_REGION,
    };
  }

  async start(): Promise<this> {
    this.s3 = new S3rver({
      address: '127.0.0.1', port: 0, silent: true, directory: this.s3Dir,
      configureBuckets: [{ name: TEST_BUCKET }], allowMismatchedSignatures: true,
    });
    const addr: AddressInfo = await this.s3.run();
    this.s3Direct = `http://127.0.0.1:${addr.port}`;
    this.s3Endpoint = await this.s3Proxy.listen();
    this.endpoint = await this.http.listen();
    return this;
  }

  async stop(): Promise<void> {
    this.batch.shutdown();
    this.braket.shutdown();
    await this.http.close();
    await this.s3Proxy.close();
    await this.s3?.close();
    fs.rmSync(this.s3Dir, { recursive: true, force: true });
  }

  /** Keys of the objects in the test bucket. */
  s3Keys(): string[] {
    const root = path.join(this.s3Dir, TEST_BUCKET);
    const out: string[] = [];
    const walk = (dir: string) => {
      for (const e of fs.existsSync(dir) ? fs.readdirSync(dir, { withFileTypes: true }) : []) {
        const p = path.join(dir, e.name);
        if (e.isDirectory()) walk(p);
        else if (!e.name.endsWith('._S3rver_metadata.json') && !e.name.endsWith('._S3rver_object.md5')) out.push(path.relative(root, p).replace(/\._S3rver_object$/, ''));
      }
    };
    walk(root);
    return out.sort();
  }
}

/** The checkout this file belongs to (it also runs compiled, from dist/, for the benchmarks). */
function repoRoot(): string {
  for (let dir = __dirname; dir !== path.dirname(dir); dir = path.dirname(dir)) {
    const pkg = path.join(dir, 'package.json');
    if (fs.existsSync(pkg) && JSON.parse(fs.readFileSync(pkg, 'utf8')).name === 'covalent-ts') return dir;
  }
  throw new Error(`No covalent-ts checkout above ${__dirname}`);
}

const BRAKET_OPS = new Set(['CreateQuantumTask', 'GetQuantumTask', 'CancelQuantumTask', 'CreateJob', 'GetJob', 'CancelJobBraket']);

/** Environment that points the SDK's default provider chain at the fake credentials. */
export function useTestCredentials(): void {
  process.env.AWS_ACCESS_KEY_ID = TEST_ACCESS_KEY_ID;
  process.env.AWS_SECRET_ACCESS_KEY = TEST_SECRET;
  process.env.AWS_REGION = TEST_REGION;
  delete process.env.AWS_PROFILE;
  process.env.AWS_EC2_METADATA_DISABLED = 'true';
}
