/**
 * A per-node cache of rendered viewer segments (issue 12, docs/timeline.md "Segment cache"): the
 * exact response body and its ETag, so a repeated `GET /timeline/:room/:segment` costs a map
 * lookup instead of a 10 000-row store read.
 *
 * - Bounded in bytes, least recently used first out (a `Map` kept in use order).
 * - An entry lives at most `ttlMs` (the segment's Cache-Control max-age), never longer than a CDN
 *   may already serve the same answer.
 * - A commit or deletion on this node drops the entries it touches at once (`written`,
 *   `removedFrom`, `clear`).
 * - Single-flight: concurrent misses of one segment share one read.
 * - A read that was running when its segment was invalidated answers its callers but is not
 *   stored, so it cannot bring back what the write replaced.
 */

/** A segment as it is sent: the body bytes and their ETag. */
export interface RenderedSegment {
  body: Uint8Array<ArrayBuffer>;
  etag: string;
}

/** The cache's counters (in `/api/stats` under `store`, and `/metrics`). */
export interface SegmentCacheStats {
  hits: number;
  misses: number;
  evictions: number;
  bytes: number;
}

export interface SegmentCacheOptions {
  /** Most bytes of bodies held; 0 turns the cache off. */
  maxBytes: number;
  /** Length of a segment, ms: a comment at media time t is in segment floor(t / segmentMs). */
  segmentMs: number;
  /** Longest life of an entry, ms. */
  ttlMs: number;
  /** The clock, ms (performance.now by default). */
  now?: () => number;
}

interface Entry {
  segment: RenderedSegment;
  expires: number;
  size: number;
}

interface Flight {
  promise: Promise<RenderedSegment>;
  /** Set when the segment was invalidated while the read ran: its answer is not stored. */
  stale: boolean;
}

/** Bytes charged per entry beyond its body (key, ETag, map slots), roughly. */
const ENTRY_OVERHEAD = 200;

export class SegmentCache {
  private readonly entries = new Map<string, Entry>();
  private readonly flights = new Map<string, Flight>();
  private readonly counts: SegmentCacheStats = { hits: 0, misses: 0, evictions: 0, bytes: 0 };
  private readonly now: () => number;

  constructor(private readonly options: SegmentCacheOptions) {
    this.now = options.now ?? (() => performance.now());
  }

  get enabled(): boolean {
    return this.options.maxBytes > 0;
  }

  stats(): SegmentCacheStats {
    return { ...this.counts };
  }

  /**
   * The segment from the cache, or from `load` (shared with any read of the same segment already
   * running) and then kept if nothing invalidated it meanwhile.
   */
  async get(
    room: string,
    segment: number,
    load: () => Promise<RenderedSegment>,
  ): Promise<RenderedSegment> {
    if (!this.enabled) {
      this.counts.misses++;
      return load();
    }
    const key = keyOf(room, segment);
    const entry = this.entries.get(key);
    if (entry && entry.expires > this.now()) {
      this.counts.hits++;
      // Most recently used goes last.
      this.entries.delete(key);
      this.entries.set(key, entry);
      return entry.segment;
    }
    if (entry) this.drop(key, entry);
    this.counts.misses++;
    const running = this.flights.get(key);
    if (running) return running.promise;
    const flight: Flight = { promise: load(), stale: false };
    this.flights.set(key, flight);
    // The entry's life starts with the read, so it never outlives what the read saw by more.
    const started = this.now();
    try {
      const rendered = await flight.promise;
      if (!flight.stale) this.store(key, rendered, started + this.options.ttlMs);
      return rendered;
    } finally {
      if (this.flights.get(key) === flight) this.flights.delete(key);
    }
  }

  /** Committed messages: drops the segments they fall in (messages without `t` touch none). */
  written(messages: readonly { room: string; t: number | null }[]): void {
    // Nothing cached or being read: nothing to drop (spares a key per message during ingest).
    if (!this.enabled || (this.entries.size === 0 && this.flights.size === 0)) return;
    let last = '';
    for (const m of messages) {
      if (m.t === null) continue;
      const key = keyOf(m.room, Math.floor(m.t / this.options.segmentMs));
      if (key !== last) this.invalidate(key);
      last = key;
    }
  }

  /** A message of the room was deleted (its media time unknown here): drops the room's segments. */
  removedFrom(room: string): void {
    if (!this.enabled) return;
    const prefix = keyOf(room, '');
    for (const key of [...this.entries.keys(), ...this.flights.keys()]) {
      if (key.startsWith(prefix)) this.invalidate(key);
    }
  }

  /** Drops everything (retention removed messages of any room). */
  clear(): void {
    for (const key of [...this.entries.keys(), ...this.flights.keys()]) this.invalidate(key);
  }

  private invalidate(key: string): void {
    const entry = this.entries.get(key);
    if (entry) this.drop(key, entry);
    const flight = this.flights.get(key);
    if (flight) {
      // Later misses start a fresh read that sees the write; this one's answer is not kept.
      flight.stale = true;
      this.flights.delete(key);
    }
  }

  private store(key: string, segment: RenderedSegment, expires: number): void {
    const size = segment.body.byteLength + key.length + segment.etag.length + ENTRY_OVERHEAD;
    if (size > this.options.maxBytes) return;
    const old = this.entries.get(key);
    if (old) this.drop(key, old);
    this.entries.set(key, { segment, expires, size });
    this.counts.bytes += size;
    // Least recently used first in the map's order; expired ones go the same way.
    for (const [oldest, e] of this.entries) {
      if (this.counts.bytes <= this.options.maxBytes) break;
      this.drop(oldest, e);
      this.counts.evictions++;
    }
  }

  private drop(key: string, entry: Entry): void {
    this.entries.delete(key);
    this.counts.bytes -= entry.size;
  }
}

/** Room names never hold a newline (protocol/validate.ts), so `room\nsegment` is unique. */
function keyOf(room: string, segment: number | string): string {
  return `${room}\n${segment}`;
}
