/**
 * What the browser extension may import of the protocol (as the package path
 * `covalent-ts-protocol`): the comm messages, the status model and the static
 * rendering of a snapshot (the notebook's HTML fallback). All are leaves without
 * Node-only code, so nothing of the kernel reaches the bundle.
 */
export * from './messages';
export * from './status';
export * from './render-html';
