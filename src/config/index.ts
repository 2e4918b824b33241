export * from './derived.js';
export * from './doc.js';
export * from './load.js';
export * from './schema.js';
export * from './suggest.js';
