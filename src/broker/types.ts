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

/**
 * What a broker holds for rooms, for stats and metrics. Room state must follow members and
 * messages: reading an empty room creates nothing that outlives its member (security.md).
 */
export interface BrokerStats {
  /**
   * Rooms whose state this broker holds in this process now: memory, room streams (epoch,
   * offset, history); Redis, the feeds of the rooms this node is subscribed to.
   */
  streams: number;
  /**
   * Room states created since start: memory, room streams made; Redis, room meta keys this
   * node wrote (by a first publish, or by a member's read of an empty room, with a short TTL).
   */
  streamsCreated: number;
}

/** The engine's view of a broker. All methods may reject with `BrokerUnavailableError`. */
export interface Broker {
  /** `memory` or `redis`. */
  readonly kind: string;
  /** Starts delivering into `handler`. Called once, before anything else. */
  start(handler: BrokerHandler): Promise<void>;
  /** Assigns the next offset, keeps the message in history and delivers it to every node. */
  publish(input: PublishInput): Promise<PublishResult>;
  /**
   * `publish` done at once, for a broker that needs no I/O to do it (the embedded one): the
   * engine's fast path for a client publish takes no promise when this is there.
   */
  publishNow?(input: PublishInput): PublishResult;
  /**
   * The room's position, and history after `since` or the last `limit` messages. Reading a room
   * that has never had a message stores nothing, except while this node is subscribed to it:
   * then the answer's epoch is kept (for the broker's short empty-room lifetime, renewed while
   * subscribed) so the room's first publish uses it.
   */
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
  /** What the broker holds for rooms (cheap: read on every stats call and scrape). */
  roomState(): BrokerStats;
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

/** What a moderation rule does: `mute` (may read, not publish), `ban` (may not join or publish),
 * `shadow` (publishes reach only the sender). */
export type ModerationKind = 'mute' | 'ban' | 'shadow';

/** One moderation rule of a user, in one room or in every room. */
export interface ModerationRule {
  kind: ModerationKind;
  userId: string;
  /** The room it applies to, or null for every room (global). */
  room: string | null;
  /** When it ends, ms since the epoch; null: until lifted. */
  expiresAt: number | null;
}

/** A change every node hears about (including the node that made it). */
export type ModerationEvent =
  | { type: 'rule'; rule: ModerationRule; lifted: boolean }
  | { type: 'slowmode'; room: string; intervalMs: number }
  | { type: 'kick'; userId: string; durationMs: number };

/**
 * An optional broker capability: moderation rules held by the broker, so that every node applies
 * the same ones. The memory broker holds them in maps (one node); the Redis broker in keys with
 * PX expiry, a per-publish read cached for at most one second and dropped at once on a change
 * notification (see src/broker/redis/moderation.ts).
 */
export interface ModerationStore {
  /** Sets (or replaces) a rule; `durationMs` null: until lifted. Every node is told. */
  setRule(
    kind: ModerationKind,
    userId: string,
    room: string | null,
    durationMs: number | null,
  ): Promise<ModerationRule>;
  /** Lifts a rule; false when there was none. Every node is told. */
  liftRule(kind: ModerationKind, userId: string, room: string | null): Promise<boolean>;
  /** The user's live rules that apply in `room` (global ones and the room's). May be cached. */
  rulesFor(userId: string, room: string): Promise<ModerationRule[]>;
  /** Every live rule of a user, in every room (not cached; for inspection). */
  listRules(userId: string): Promise<ModerationRule[]>;
  /** Sets a room's slow mode interval, ms; 0 turns it off. Every node is told. */
  setSlowMode(room: string, intervalMs: number): Promise<void>;
  /** A room's slow mode interval, ms (0: off). May be cached. */
  slowMode(room: string): Promise<number>;
  /**
   * Claims a user's turn in a room's slow mode, atomically for the whole cluster: 0 when this
   * publish may go (the next one waits `intervalMs`), otherwise the ms until the turn frees.
   */
  claimTurn(room: string, userId: string, intervalMs: number): Promise<number>;
  /**
   * True when it is known at once that nothing holds the user back in `room` (no live rule of
   * theirs, no slow mode there), so a publish needs no read; optional (false: ask as above).
   */
  clearNow?(userId: string, room: string): boolean;
  /** Tells every node to disconnect every connection of the user. */
  kick(userId: string, durationMs: number): Promise<void>;
  /** Registers the receiver of every change and kick, from any node. */
  onModeration(listener: (event: ModerationEvent) => void): void;
}

/** A broker that holds moderation rules (see `ModerationStore`). */
export interface ModeratedBroker {
  readonly moderation: ModerationStore;
}

/** Whether a broker holds moderation rules for the cluster (see `ModerationStore`). */
export function hasModeration(broker: Broker): broker is Broker & ModeratedBroker {
  const m = (broker as Partial<ModeratedBroker>).moderation;
  return typeof m === 'object' && m !== null && typeof m.setRule === 'function';
}
