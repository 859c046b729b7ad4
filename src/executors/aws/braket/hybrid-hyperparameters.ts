/**
 * Hyperparameters through which the Braket executor tells a hybrid job's
 * `covalent-ts run-task` where its task is (Braket passes hyperparameters to
 * the container as a JSON file named by AMZN_BRAKET_HP_FILE).
 */
export const BRAKET_HYPERPARAMETERS = {
  payload: 'ct_payload',
  region: 'ct_region',
  s3Endpoint: 'ct_s3_endpoint',
} as const;
