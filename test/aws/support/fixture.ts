/** One local AWS per test file, with the fake credentials in the environment. */
import { LocalAws, TEST_BUCKET, TEST_REGION, useTestCredentials } from './local-aws';
import type { AWSBatchExecutorOptions, BraketExecutorOptions } from '../../../src/executors/aws';

export function useLocalAws(): () => LocalAws {
  useTestCredentials();
  let aws: LocalAws | undefined;
  beforeAll(async () => {
    aws = await new LocalAws().start();
  });
  afterAll(async () => {
    await aws?.stop();
  });
  return () => aws!;
}

export function batchOptions(aws: LocalAws, extra: Partial<AWSBatchExecutorOptions> = {}): AWSBatchExecutorOptions {
  return {
    region: TEST_REGION, jobQueue: 'ct-queue', jobDefinition: 'covalent-ts:1', s3Bucket: TEST_BUCKET, s3Prefix: 'tasks',
    endpoints: { batch: aws.endpoint, s3: aws.s3Endpoint }, pollIntervalMs: 20, maxPollIntervalMs: 200, ...extra,
  };
}

export const SV1 = 'arn:aws:braket:::device/quantum-simulator/amazon/sv1';
export const BELL = `OPENQASM 3.0;
qubit[2] q;
bit[2] c;
h q[0];
cnot q[0], q[1];
c = measure q;`;

export function braketOptions(aws: LocalAws, extra: Partial<BraketExecutorOptions> = {}): BraketExecutorOptions {
  return {
    region: TEST_REGION, deviceArn: SV1, shots: 100, s3Bucket: TEST_BUCKET, s3Prefix: 'braket',
    endpoints: { braket: aws.endpoint, s3: aws.s3Endpoint }, pollIntervalMs: 20, ...extra,
  };
}

export const HYBRID = {
  mode: 'hybrid-job' as const,
  jobImage: '123456789012.dkr.ecr.us-east-1.amazonaws.com/covalent-ts:1',
  roleArn: 'arn:aws:iam::123456789012:role/BraketJobRole',
};
