import type { Hub } from '../hub/index.js';
import type { CounterSnapshot } from '../metrics/types.js';
import type { LatencySamples } from './latency.js';

/** One room among the busiest on a node. */
export interface RoomStat {
  room: string;
  members: number;
  /** Messages received for the room since it appeared on this node. */
  messagesIn: number;
  /** Its recent message rate, per second. */
  rate: number;
  /** Messages per frame written (1 when nothing was merged). */
  mergeRatio: number;
  /** Messages skipped for members over their soft mark. */
  droppedSlow: number;
  /** Messages sampled out for members with a render budget. */
  sampledOut: number;
}

/**
 * A snapshot of one node's counters; counters are cumulative, rates are differences. The counter
 * fields are those the metrics exporter reads (CounterSnapshot), documented there.
 */
export interface NodeStats
  extends Omit<CounterSnapshot, 'moderationActions' | 'moderationRefusals'> {
  nodeId: string;
  broker: string;
  uptimeMs: number;
  /** p99 of how long a message waited in its room's batch before its frame was written, ms. */
  fanoutP99Ms: number;
  /** The busiest rooms by members and by messages, at most 20. */
  topRooms: RoomStat[];
}

/** What `nodeStats` reads from the engine. */
export interface StatsSource {
  options: { nodeId: string };
  broker: { kind: string };
  hub: Hub;
  startedAt: number;
  fanoutLatency: LatencySamples;
  counters: {
    messagesIn: number;
    pushes: number;
    errors: Record<string, number>;
    closes: Record<string, number>;
    stalledCloses: number;
  };
}

/** Builds the snapshot; O(rooms) for the top lists, so meant for polling, not the hot path. */
export function nodeStats(source: StatsSource, topN = 10): NodeStats {
  const { hub, counters } = source;
  const rooms = roomStats(hub);
  const top = new Map<string, RoomStat>();
  for (const r of [...topRooms(rooms, 'members', topN), ...topRooms(rooms, 'rate', topN)])
    top.set(r.room, r);
  return {
    nodeId: source.options.nodeId,
    broker: source.broker.kind,
    uptimeMs: Date.now() - source.startedAt,
    ...engineCounters(source),
    closes: { ...counters.closes },
    errors: { ...counters.errors },
    fanoutP99Ms: source.fanoutLatency.quantile(0.99),
    topRooms: [...top.values()],
  };
}

/** The engine's cumulative counters and sizes: cheap, no sorting (for scrapes as well as stats). */
export function engineCounters(source: Pick<StatsSource, 'hub' | 'counters'>) {
  const { hub, counters } = source;
  return {
    connections: hub.sessions.size,
    rooms: hub.rooms.size,
    users: hub.users.size,
    messagesIn: counters.messagesIn,
    messagesOut: hub.counters.messagesOut,
    framesOut: hub.counters.framesOut,
    pushes: counters.pushes,
    drops: { slow: hub.counters.droppedSlow, sampled: hub.counters.sampledOut },
    stalledCloses: counters.stalledCloses,
  };
}

/** Every room on this node with its numbers. O(rooms). */
export function roomStats(hub: Hub, now = Date.now()): RoomStat[] {
  const out: RoomStat[] = [];
  for (const room of hub.rooms.values()) {
    out.push({
      room: room.name,
      members: room.members.size,
      messagesIn: room.messagesIn,
      rate: Math.round(room.rate.perSecond(now) * 10) / 10,
      mergeRatio: room.batches === 0 ? 1 : Math.round((room.messagesIn / room.batches) * 10) / 10,
      droppedSlow: room.droppedSlow,
      sampledOut: room.sampledOut,
    });
  }
  return out;
}

/** The first `limit` rooms by members or by rate, busiest first. */
export function topRooms(
  rooms: readonly RoomStat[],
  sort: 'members' | 'rate',
  limit: number,
): RoomStat[] {
  const key = sort === 'members' ? (r: RoomStat) => r.members : (r: RoomStat) => r.rate;
  return [...rooms].sort((a, b) => key(b) - key(a) || a.room.localeCompare(b.room)).slice(0, limit);
}
