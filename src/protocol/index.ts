export * from './codes.js';
export * from './encode.js';
export * from './endpoint.js';
export * from './frames.js';
export * from './parse.js';
export * from './validate.js';
