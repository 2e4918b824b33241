export * from './origin.js';
export * from './ws-gateway.js';
