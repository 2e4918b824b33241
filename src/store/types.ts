/**
 * The durable store (issue 12), shaped like the broker: the engine owns these interfaces; the
 * embedded SQLite store and the PostgreSQL store implement `Store` side by side, and one contract
 * suite (test/contract/store-contract.ts) runs on both. Comments cross it as JSON text, never
 * re-parsed by a backend.
 */

import type { SegmentCache, SegmentCacheStats } from './segment-cache.js';

/** One stored message: a timeline comment (with `t`) or a chat message of a stored room. */
export interface StoredMessage {
  room: string;
  /** Unique in the room: `EPOCH.OFFSET` of the broker position it was published at. */
  id: string;
  epoch: string;
  offset: number;
  /** Media time, integer ms (0 to 48 h); null for chat messages. */
  t: number | null;
  /** When the server accepted it, ms since the epoch. */
  ts: number;
  /** The sender's user id, or null (anonymous or the HTTP API). */
  from: string | null;
  /** Class level: 0 normal, 1 highlight, 2 paid, 3 system. */
  priority: number;
  /** The payload as JSON text. */
  data: string;
}

/** The store id of the message at a broker position (`EPOCH.OFFSET`): unique in its room. */
export function messageId(epoch: string, offset: number): string {
  return `${epoch}.${offset}`;
}

/** A page of a timeline range, ordered by `t`, then `id`. */
export interface TimelineQuery {
  room: string;
  /** Inclusive start, ms of media time. */
  from: number;
  /** Exclusive end, ms of media time. */
  to: number;
  /** Most rows to return. */
  limit: number;
  /** Continue after this row (the last of the previous page). */
  after?: { t: number; id: string };
}

/** A viewer segment: every comment in [from, to) under a density cap. */
export interface SegmentQuery {
  room: string;
  from: number;
  to: number;
  /**
   * At most this many comments per second of media time, beyond the always-kept `paid` and
   * `system` ones; the rest of each second is chosen by the lowest `rankOf(id)` (see density.ts).
   */
  perSecond: number;
}

/** Where "load earlier" pages back from: the messages published before this position. */
export interface BeforeQuery {
  room: string;
  /** Messages stored before the one at (epoch, offset); null: before everything stored. */
  before: { epoch: string; offset: number } | null;
  limit: number;
}

/** A store's own view of its health, for `/healthz` and `/api/stats`. */
export interface StoreHealth {
  ok: boolean;
  detail?: string;
}

/** A durable store backend. Every method may reject with `StoreUnavailableError`. */
export interface Store {
  /** `sqlite` or `postgres`. */
  readonly kind: string;
  /** Opens the store and applies pending migrations. Called once, before anything else. */
  start(): Promise<void>;
  /**
   * Writes a batch, resolving once all of it is committed (in one transaction, or in parts of one
   * transaction each: then a rejection may leave some parts committed). Idempotent: a message
   * whose (room, id) is already stored is skipped, so a retried batch never duplicates. Batches
   * appended while earlier ones are in flight keep call order in "load earlier" (`before`).
   */
  append(batch: readonly StoredMessage[]): Promise<void>;
  /** Timeline rows of a range, ordered by `t`, then `id`, at most `limit`. */
  timeline(query: TimelineQuery): Promise<StoredMessage[]>;
  /** A segment's rows under the density cap, ordered by `t`, then `id`. */
  segment(query: SegmentQuery): Promise<StoredMessage[]>;
  /**
   * The same segment rendered: each comment as `commentJson` (comment-json.ts) renders it, joined
   * by commas in the same order (the body of a JSON array), as UTF-8 bytes; empty when there is
   * none. What a viewer segment is built from: the backend renders where it reads, so ~11 000 rows
   * never become objects, and the bytes go into the body without a decode and a re-encode. Answered
   * from the segment's stored copy while nothing in its minutes changed since the copy was
   * rendered (docs/storage.md "Stored segment copies"); rendered from the rows and kept as the
   * new copy otherwise.
   */
  segmentComments(query: SegmentQuery): Promise<Uint8Array>;
  /**
   * The same bytes, always rendered from the rows now, reading and keeping no copy: what a read
   * of a changed segment costs (the bench), and the reference the contract suite holds the copies
   * to.
   */
  segmentCommentsFromRows(query: SegmentQuery): Promise<Uint8Array>;
  /** The newest `limit` messages before a position, returned oldest first. */
  before(query: BeforeQuery): Promise<StoredMessage[]>;
  /** Deletes one message; false when there was none. */
  remove(room: string, id: string): Promise<boolean>;
  /** Deletes up to `max` messages accepted before `ts` (retention), in batches; returns how many. */
  expire(ts: number, max: number): Promise<number>;
  health(): StoreHealth;
  close(): Promise<void>;
}

/** Thrown (or rejected) by a store that cannot serve now; maps to `unavailable` / HTTP 503. */
export class StoreUnavailableError extends Error {
  constructor(message = 'store unavailable') {
    super(message);
    this.name = 'StoreUnavailableError';
  }
}

/** How a room uses the store: `timeline` (comments carry `t`), `stored` (chat), or not at all. */
export type RoomKeeping = 'timeline' | 'stored' | null;

/** A claim on one slot of the bounded write queue, taken before the broker publish. */
export interface WriteTicket {
  /** Queues the message for the next batch; resolves once it is committed. */
  commit(message: StoredMessage): Promise<void>;
  /** Gives the slot back (the publish failed before it reached the broker). */
  release(): void;
}

/**
 * How long a viewer segment may be served without asking (its Cache-Control max-age, s): the most
 * a browser, a CDN or this cache may lag a write.
 */
export const SEGMENT_MAX_AGE_S = 10;

/** The store's counters for `/metrics`, `/api/stats` and the dashboard. */
export interface ArchiveStats {
  kind: string;
  ok: boolean;
  /** Messages waiting for a commit (reserved or queued). */
  queueDepth: number;
  queueLimit: number;
  written: number;
  batches: number;
  /** Publishes refused because the write queue was full. */
  refused: number;
  /** Failed batch commits (each retried). */
  errors: number;
  /** Write latency (queued to committed), ms, over the last samples. */
  writeP50Ms: number;
  writeP99Ms: number;
  /** Mean messages per committed batch, over the last batches. */
  meanBatch: number;
  /** The rendered-segment cache's counters (all 0 when it is off). */
  segmentCache: SegmentCacheStats;
}

/**
 * What the engine uses of the store: which rooms keep what, a bounded batched writer, and reads.
 * Built by the server around a `Store` (src/store/archive.ts); the node only sees this interface.
 */
export interface Archive {
  readonly store: Store;
  /** This node's cache of rendered viewer segments (docs/timeline.md). */
  readonly segments: SegmentCache;
  /** Whether (and how) a room's messages are stored. */
  keeping(room: string): RoomKeeping;
  /** A slot in the write queue, or null when it is full (the publish is refused `unavailable`). */
  reserve(): WriteTicket | null;
  stats(): ArchiveStats;
  /** Flushes what is queued (best effort) and closes the store. */
  close(): Promise<void>;
}
