export * from './identity.js';
export * from './room-names.js';
export * from './session.js';
export * from './token-bucket.js';
export * from './transport.js';
