export * from './api-key.js';
export * from './jwt.js';
