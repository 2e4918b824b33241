import type { CounterSnapshot } from '../metrics/types.js';
import { engineCounters, type Node } from '../node/index.js';

/** The engine's counters for the metrics exporter: cheap, no sorting. */
export function counterSnapshot(node: Node): CounterSnapshot {
  return {
    ...engineCounters(node),
    closes: node.counters.closes,
    errors: node.counters.errors,
    moderationActions: node.moderation.counters.actions,
    moderationRefusals: node.moderation.counters.refusals,
  };
}
