export * from './hub.js';
export * from './rate.js';
export * from './room.js';
