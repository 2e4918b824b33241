export {
  type AlertCounts,
  MAX_ALERT_TTL_MS,
  type StoredPushOptions,
  type StoredPushResult,
} from './alerts.js';
export * from './errors.js';
export * from './hooks.js';
export { inboxFields } from './inbox-json.js';
export * from './moderation.js';
export * from './node.js';
export * from './options.js';
export type { ClusterReport, NodeReport, NodeStats, RoomStat } from './stats.js';
export { closeCodeKey, NodeCounters, StatsReporter } from './stats.js';
export { STORE_UNAVAILABLE, viaStore } from './store-errors.js';
