import type { CounterSnapshot } from '../metrics/types.js';
import type { Node } from '../node/index.js';

/** The engine's counters for the metrics exporter: cheap, no sorting. */
export function counterSnapshot(node: Node): CounterSnapshot {
  const { hub, counters } = node;
  return {
    connections: hub.sessions.size,
    rooms: hub.rooms.size,
    users: hub.users.size,
    messagesIn: counters.messagesIn,
    messagesOut: hub.counters.messagesOut,
    framesOut: hub.counters.framesOut,
    pushes: counters.pushes,
    drops: { slow: hub.counters.droppedSlow, sampled: hub.counters.sampledOut },
    closes: counters.closes,
    errors: counters.errors,
    moderationActions: node.moderation.counters.actions,
    moderationRefusals: node.moderation.counters.refusals,
  };
}
