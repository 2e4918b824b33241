export * from './errors.js';
export * from './hooks.js';
export * from './moderation.js';
export * from './node.js';
export * from './options.js';
export type { NodeStats, RoomStat } from './stats.js';
export { engineCounters } from './stats.js';
