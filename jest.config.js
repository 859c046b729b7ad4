// One jest project per layer, so each runs with the environment it needs and
// can be run alone: `npx jest --selectProjects core`.
const tsJest = ['ts-jest', { tsconfig: 'tsconfig.test.json', diagnostics: { warnOnly: false } }];
const nodeProject = (name, dir, extra = {}) => ({
  displayName: name,
  testEnvironment: 'node',
  roots: [`<rootDir>/test/${dir}`],
  testMatch: ['**/*.test.ts'],
  transform: { '^.+\\.tsx?$': tsJest },
  ...extra,
});
module.exports = {
  testTimeout: 120_000,
  projects: [
    nodeProject('core', 'core'),
    nodeProject('cli', 'cli'),
    nodeProject('kernel', 'kernel'),
    nodeProject('executors', 'executors', {
      // A private sshd and a single-node Slurm cluster for the whole run (.ci/services/executors.sh).
      globalSetup: '<rootDir>/test/executors/support/global-setup.ts',
      globalTeardown: '<rootDir>/test/executors/support/global-teardown.ts',
      setupFilesAfterEnv: ['<rootDir>/test/executors/support/setup-timeout.ts'],
    }),
    // AWS Batch and Braket executors against a local AWS (test/aws/support): real SDK clients, real HTTP.
    nodeProject('aws', 'aws'),
    nodeProject('e2e', 'e2e'),
    // The extension's widgets in a DOM, with JupyterLab's jsdom environment;
    // its packages come from labextension/node_modules (the browser's own tree).
    nodeProject('lab', 'lab', {
      testEnvironment: '<rootDir>/labextension/node_modules/@jupyterlab/testing/lib/jest-env.js',
      modulePaths: ['<rootDir>/labextension/node_modules'],
      // The extension's own package path to the protocol (labextension/tsconfig.json "paths").
      moduleNameMapper: { '^covalent-ts-protocol$': '<rootDir>/src/protocol/browser.ts' },
      setupFiles: [
        '<rootDir>/labextension/node_modules/@jupyterlab/testing/lib/jest-shim.js',
        '<rootDir>/test/lab/support/setup.ts',
      ],
      transform: {
        '^.+\\.tsx?$': ['ts-jest', { tsconfig: 'labextension/tsconfig.test.json', diagnostics: { warnOnly: false } }],
      },
    }),
  ],
};
