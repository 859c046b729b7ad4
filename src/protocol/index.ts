export * from './messages';
export * from './status';
export * from './schema';
export * from './render-html';
