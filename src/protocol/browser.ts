/**
 * What the browser extension may import of the protocol (as the package path
 * `covalent-ts-protocol`): the comm messages and the status model. Both are
 * leaves without Node-only code, so nothing of the kernel reaches the bundle.
 */
export * from './messages';
export * from './status';
