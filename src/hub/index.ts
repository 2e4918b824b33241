export * from './hub.js';
export * from './room.js';
