/**
 * The AWS SDK clients the AWS executors use, built one way. Credentials are
 * never passed here: every client resolves them through the SDK's default
 * provider chain (environment, shared profile, instance or task role), so
 * nothing secret ever reaches an executor's options, the store or a log.
 *
 * The SDK is loaded on first use: a process that never talks to AWS does not
 * pay for it.
 */
import type { BatchClient } from '@aws-sdk/client-batch';
import type { BraketClient } from '@aws-sdk/client-braket';
import type { S3Client } from '@aws-sdk/client-s3';

/** Service endpoints to use instead of AWS's (a private endpoint, or a local test service). */
export interface AwsEndpoints {
  batch?: string;
  braket?: string;
  s3?: string;
}

/** Count of requests a client sent, by operation; benchmarks and tests read it. */
export type CallCounter = (operation: string) => void;

// The pinned SDK versions support Node 20; their warning about future releases would only clutter
// every notebook's output. A user who sets the variable keeps their choice.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

/**
 * One attempt per SDK call: retries are ours (throttling backoff), so each call is counted and bounded.
 * A wide fan-out uploads hundreds of payloads at once: more sockets than the SDK's 50, and no warning
 * in the notebook when requests wait for one.
 */
const MAX_SOCKETS = 256;
const common = (region: string, endpoint: string | undefined) => ({
  region,
  endpoint,
  maxAttempts: 1,
  requestHandler: {
    httpAgent: { keepAlive: true, maxSockets: MAX_SOCKETS },
    httpsAgent: { keepAlive: true, maxSockets: MAX_SOCKETS },
    socketAcquisitionWarningTimeout: 60_000,
  },
});

export async function batchClient(region: string, endpoint?: string): Promise<BatchClient> {
  const { BatchClient } = await import('@aws-sdk/client-batch');
  return new BatchClient(common(region, endpoint));
}

export async function braketClient(region: string, endpoint?: string): Promise<BraketClient> {
  const { BraketClient } = await import('@aws-sdk/client-braket');
  return new BraketClient(common(region, endpoint));
}

/**
 * An S3 client. A custom endpoint means an S3-compatible server, which wants
 * path-style addressing and no default CRC32 checksums.
 */
export async function s3Client(region: string, endpoint?: string): Promise<S3Client> {
  const { S3Client } = await import('@aws-sdk/client-s3');
  return new S3Client({
    ...common(region, endpoint),
    maxAttempts: 3,
    ...(endpoint
      ? { forcePathStyle: true, requestChecksumCalculation: 'WHEN_REQUIRED', responseChecksumValidation: 'WHEN_REQUIRED' }
      : {}),
  });
}

/** The environment variable that carries a custom S3 endpoint into a job's container. */
export const S3_ENDPOINT_ENV = 'CT_S3_ENDPOINT';
