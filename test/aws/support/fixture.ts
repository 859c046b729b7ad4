/** One local AWS per test file, with the fake credentials in the environment. */
import { LocalAws, TEST_BUCKET, TEST_REGION, useTestCredentials } from './local-aws';
import type { AWSBatchExecutorOptions } from '../../../src/executors/aws';

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
