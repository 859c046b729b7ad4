export * from './messages';
export * from './schema';
export * from './render-html';
