export * from './connection-gate.js';
export * from './origin.js';
export * from './sse-gateway.js';
export * from './ws-gateway.js';
