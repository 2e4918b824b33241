/**
 * What the engine reports as it happens, beyond the counters it keeps itself (which the metrics
 * exporter reads on scrape). Called per frame batch, never per delivery.
 */
export interface MetricsSink {
  /** A room's batch was written: how long its oldest message waited, and how many it merged. */
  fanout(waitedMs: number, messages: number, sessions: number): void;
}

/** The engine's cumulative counters as the exporter reads them on each scrape. */
export interface CounterSnapshot {
  connections: number;
  rooms: number;
  users: number;
  /** Messages accepted for publishing through this node. */
  messagesIn: number;
  /** Messages handed to connections (one per message per connection). */
  messagesOut: number;
  /** WebSocket frames written (a merged frame carries many messages). */
  framesOut: number;
  pushes: number;
  /** Messages not delivered, by reason (slow, sampled). */
  drops: Record<string, number>;
  /** Connections closed, by close code. */
  closes: Record<string, number>;
  /** Connections closed with 4008 because their send queue drained nothing for the stall timeout. */
  stalledCloses: number;
  /** Error replies sent, by code. */
  errors: Record<string, number>;
  /** Moderation actions taken through this node, by action (mute, ban, kick, slowmode...). */
  moderationActions: Record<string, number>;
  /** Client commands refused or altered by moderation, by reason (muted, banned, slow_mode...). */
  moderationRefusals: Record<string, number>;
}

/** One of the busiest rooms, for the per-room series (top rooms only: bounded label cardinality). */
export interface RoomSnapshot {
  room: string;
  members: number;
  /** Messages a second, recent. */
  rate: number;
  /** Messages per frame written. */
  mergeRatio: number;
  droppedSlow: number;
  sampledOut: number;
}
