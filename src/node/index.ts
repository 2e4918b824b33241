export * from './errors.js';
export * from './hooks.js';
export * from './moderation.js';
export * from './node.js';
export * from './options.js';
export type { ClusterReport, NodeReport, NodeStats, RoomStat } from './stats.js';
export { closeCodeKey, NodeCounters, StatsReporter } from './stats.js';
