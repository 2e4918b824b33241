export * from './api-key.js';
export * from './client-ip.js';
export * from './connection-key.js';
export * from './jwks.js';
export * from './jwt.js';
