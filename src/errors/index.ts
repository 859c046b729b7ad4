export * from './codes';
export * from './ct-error';
