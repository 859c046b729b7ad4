// The layer boundaries of covalent-ts, checked by `npm test`
// (test/core/dependency-rules.test.ts runs `depcruise` with this file).
// Node's I/O modules: workflow code describes work, it never does any.
const IO_MODULES = '^(node:)?(fs|fs/promises|child_process|net|http|https|http2|dgram|dns|tls|worker_threads|cluster|readline|os|process)$';

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'workflow-is-pure',
      comment: 'src/workflow builds graphs and values; it does no I/O.',
      severity: 'error',
      from: { path: '^src/workflow/' },
      to: { dependencyTypes: ['core'], path: IO_MODULES },
    },
    {
      name: 'workflow-knows-no-runtime',
      comment: 'src/workflow imports nothing of executors, dispatcher or store.',
      severity: 'error',
      from: { path: '^src/workflow/' },
      to: { path: '^src/(executors|dispatcher|store)/' },
    },
    {
      name: 'store-knows-no-runtime',
      comment: 'src/store persists records; it imports nothing of dispatcher or executors.',
      severity: 'error',
      from: { path: '^src/store/' },
      to: { path: '^src/(dispatcher|executors)/' },
    },
    {
      name: 'runtime-knows-no-ui',
      comment: 'The dispatcher and the executors import nothing of the kernel or the extension.',
      severity: 'error',
      from: { path: '^src/(dispatcher|executors)/' },
      to: { path: '^(kernel|labextension)/' },
    },
    {
      name: 'extension-imports-only-the-protocol',
      comment: 'The browser extension reaches the core only through the protocol (covalent-ts-protocol).',
      severity: 'error',
      from: { path: '^labextension/src/' },
      to: { path: '^(src|kernel)/', pathNot: '^src/protocol/' },
    },
    {
      name: 'protocol-is-a-leaf',
      comment: 'src/protocol is shared with the browser: it imports nothing outside itself.',
      severity: 'error',
      from: { path: '^src/protocol/' },
      to: { pathNot: '^src/protocol/' },
    },
    {
      name: 'no-unresolvable-imports',
      comment: 'An import the cruiser cannot resolve could hide a forbidden one.',
      severity: 'error',
      from: { path: '^(src|kernel|labextension/src)/' },
      to: { couldNotResolve: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '(^|/)(dist|lib|prebuilt|node_modules)/' },
    tsPreCompilationDeps: true,
    // The extension's "paths" (covalent-ts-protocol -> src/protocol/browser.ts) resolve here too.
    tsConfig: { fileName: 'tsconfig.depcruise.json' },
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default'] },
  },
};
