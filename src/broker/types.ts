/**
 * The interface between nodes (DESIGN.md "broker/types"). The engine (`node/`) owns it; the
 * embedded memory broker and the Redis broker implement it. Payloads cross it as opaque encoded
 * bytes: a node never re-parses what a broker delivers.
 */
import type { MessageParts, StreamPosition } from '../protocol/index.js';

/** A message to publish into a room; the broker assigns its offset. */
export interface PublishInput {
  room: string;
  /** The encoded line without its offset: `head + offset + tail`. */
  parts: MessageParts;
  /** When the server accepted it, ms since the epoch (also inside the encoded line). */
  ts: number;
}

/** Where a published message landed in its room's stream. */
export interface PublishResult {
  offset: number;
  epoch: string;
}

/** A request for a room's history on join. */
export interface HistoryRequest {
  room: string;
  /** Recover everything after this position (all or nothing). */
  since?: StreamPosition;
  /** Otherwise (or when recovery is impossible), the last `limit` messages; 0 or absent: none. */
  limit?: number;
}

/** A room's current position and the history that answers a request. */
export interface HistoryResult {
  /** The offset of the room's latest message (0 when it has none). */
  offset: number;
  epoch: string;
  /** True when `since` was given and every message after it is in `lines`. */
  recovered: boolean;
  /** Encoded `message` lines, oldest first, all with offsets <= `offset`. */
  lines: Buffer[];
}

/** Who a push goes to: every connection of one user, or every connection. */
export type PushTarget = { kind: 'user'; userId: string } | { kind: 'all' };

/** What a broker delivers into its node. Implemented by `node/`. */
export interface BrokerHandler {
  /** A room message for this node's members, in offset order per room. */
  onPublication(room: string, offset: number, line: Buffer): void;
  /** A push for this node's connections; returns how many connections took it. */
  onPush(target: PushTarget, event: string, line: Buffer): number;
  /**
   * The broker lost continuity for a room (an offset gap, a lost subscription, a new epoch):
   * this node's members must re-sync from history.
   */
  onResync?(room: string): void;
}

/** The broker's own view of its health, for `/healthz` and `/api/stats`. */
export interface BrokerHealth {
  ok: boolean;
  /** A short human reason when not ok. */
  detail?: string;
}

/** The engine's view of a broker. All methods may reject with `BrokerUnavailableError`. */
export interface Broker {
  /** `memory` or `redis`. */
  readonly kind: string;
  /** Starts delivering into `handler`. Called once, before anything else. */
  start(handler: BrokerHandler): Promise<void>;
  /** Assigns the next offset, keeps the message in history and delivers it to every node. */
  publish(input: PublishInput): Promise<PublishResult>;
  /** The room's position, and history after `since` or the last `limit` messages. */
  history(request: HistoryRequest): Promise<HistoryResult>;
  /** This node wants a room's messages (called on its first local member). Idempotent. */
  subscribeRoom(room: string): Promise<void>;
  /** This node no longer wants a room's messages (called when its last member left). Idempotent. */
  unsubscribeRoom(room: string): Promise<void>;
  /** This node wants pushes for a user (called on the user's first local connection). */
  subscribeUser(userId: string): Promise<void>;
  /** This node no longer holds connections of the user. */
  unsubscribeUser(userId: string): Promise<void>;
  /** Delivers a push on every node; resolves with the connections reached, cluster-wide. */
  push(target: PushTarget, event: string, line: Buffer): Promise<number>;
  /** Shares this node's member counts per room (called periodically, not per join). */
  reportOnline(counts: ReadonlyMap<string, number>): Promise<void>;
  /** Members of these rooms on the other nodes (this node adds its own live counts). */
  remoteOnline(rooms: readonly string[]): Promise<Map<string, number>>;
  /** Current health. */
  health(): BrokerHealth;
  /** Stops delivering and releases connections. */
  close(): Promise<void>;
}

/** Thrown (or rejected) by a broker that cannot serve now; maps to `unavailable` / HTTP 503. */
export class BrokerUnavailableError extends Error {
  constructor(message = 'broker unavailable') {
    super(message);
    this.name = 'BrokerUnavailableError';
  }
}

/**
 * An optional broker capability: each node shares its stats report so that any node can answer
 * `GET /api/stats` for the whole cluster. The Redis broker has it; the memory broker (one node)
 * does not. Reports are opaque text to the broker (the server encodes them).
 */
export interface StatsSharing {
  /**
   * Stores this node's latest report, replacing the previous one. It expires by itself after
   * about three report intervals, so a dead node's report vanishes.
   */
  shareStats(report: string): Promise<void>;
  /** The latest reports of every other live node (not this one's: the caller has it fresher). */
  clusterStats(): Promise<string[]>;
}

/** Whether a broker shares stats between nodes (see `StatsSharing`). */
export function sharesStats(broker: Broker): broker is Broker & StatsSharing {
  const b = broker as Partial<StatsSharing>;
  return typeof b.shareStats === 'function' && typeof b.clusterStats === 'function';
}
