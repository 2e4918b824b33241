/**
 * Continuity of each subscribed room's message feed on this node.
 *
 * Redis pub/sub is at most once: a subscriber that reconnects has missed whatever was published
 * meanwhile, and a room Redis lost restarts with a new epoch. This tracker remembers, per
 * subscribed room, the epoch and last offset delivered, and keeps delivery exactly in offset order:
 *
 * - next offset: delivered; an offset already delivered: dropped (a catch-up got it first).
 * - a gap (offset > last + 1), or a resubscription after the subscriber connection was lost:
 *   the missed range is fetched from the room's stream and delivered in order, then the live
 *   messages that arrived meanwhile (buffered) follow. When the stream no longer holds the
 *   range (trimmed, expired, or a new epoch), `resync(room)` is called instead and delivery
 *   continues from the room's current position.
 * - a new epoch on the channel: Redis lost the room; `resync(room)`, then delivery goes on.
 * - lost subscription of a room that had delivered nothing yet: catch up from the position the
 *   node's history call read after subscribing (`observe`), or, without one, `resync(room)`.
 */
import type { HistoryResult } from '../types.js';

/** What the feed needs from the broker. */
export interface FeedDeps {
  /** History after a position (the broker's `history` with `since`). */
  fetchSince(room: string, epoch: string, offset: number): Promise<HistoryResult>;
  deliver(room: string, offset: number, line: Buffer): void;
  resync(room: string): void;
}

interface Live {
  offset: number;
  epoch: string;
  line: Buffer;
}

interface RoomState {
  /** Epoch of the last delivered message; null before the first one. */
  epoch: string | null;
  /** Offset of the last delivered message. */
  last: number;
  /** A catch-up fetch is in flight; live messages wait in `buffered`. */
  catchingUp: boolean;
  /** The subscription was lost; live messages wait until `recover`. */
  stale: boolean;
  buffered: Live[];
  /** Messages were dropped from a full buffer. */
  overflowed: boolean;
  /**
   * A position read after the subscription was confirmed, while nothing was delivered yet: a
   * lost subscription can then catch up from it instead of asking for a resync.
   */
  floor: { epoch: string; offset: number } | null;
  /** Recovered while a catch-up ran: run one more after it, the first may have been too early. */
  recheck: boolean;
}

/** Live messages kept per room while its catch-up runs. */
const MAX_BUFFERED = 10_000;

/** Per-room continuity state of the subscribed rooms. */
export class RoomFeed {
  private readonly rooms = new Map<string, RoomState>();

  constructor(private readonly deps: FeedDeps) {}

  /** Starts tracking a room (on subscribe). Keeps existing state. */
  add(room: string): void {
    if (this.rooms.has(room)) return;
    this.rooms.set(room, {
      epoch: null,
      last: 0,
      catchingUp: false,
      stale: false,
      buffered: [],
      overflowed: false,
      recheck: false,
      floor: null,
    });
  }

  /** Stops tracking a room (on unsubscribe); its in-flight messages are then dropped. */
  remove(room: string): void {
    this.rooms.delete(room);
  }

  /** Whether a room is tracked. */
  has(room: string): boolean {
    return this.rooms.has(room);
  }

  /** Rooms tracked. */
  get size(): number {
    return this.rooms.size;
  }

  /**
   * A position of the room read while its subscription was held (by the node's history call on
   * join): remembered as the floor to catch up from if nothing gets delivered before a loss.
   */
  observe(room: string, epoch: string, offset: number): void {
    const state = this.rooms.get(room);
    if (!state || state.epoch !== null || state.stale) return;
    if (state.floor && state.floor.epoch === epoch && state.floor.offset >= offset) return;
    state.floor = { epoch, offset };
  }

  /** Every subscription was lost (subscriber connection down): mark all rooms stale. */
  markAllStale(): void {
    for (const state of this.rooms.values()) state.stale = true;
  }

  /** The room's subscription is confirmed again: catch up if it was stale. */
  recover(room: string): void {
    const state = this.rooms.get(room);
    if (!state?.stale) return;
    state.stale = false;
    if (state.catchingUp) {
      state.recheck = true;
      return;
    }
    if (state.epoch === null && state.floor) {
      state.epoch = state.floor.epoch;
      state.last = state.floor.offset;
    }
    state.floor = null;
    if (state.epoch === null) {
      // Nothing delivered and no position known: what was missed cannot be told.
      this.deps.resync(room);
      this.drain(room, state, true);
      return;
    }
    void this.catchUp(room, state);
  }

  /** A live message from the room's channel. */
  onMessage(room: string, offset: number, epoch: string, line: Buffer): void {
    const state = this.rooms.get(room);
    if (!state) return;
    if (state.catchingUp || state.stale) {
      if (state.buffered.length < MAX_BUFFERED) state.buffered.push({ offset, epoch, line });
      else state.overflowed = true;
      return;
    }
    this.accept(room, state, { offset, epoch, line });
  }

  /**
   * Delivers one live message in order. `mayCatchUp` is false right after a catch-up: a gap then
   * means the stream itself does not hold the range, so it is a resync, not another fetch.
   */
  private accept(room: string, state: RoomState, m: Live, mayCatchUp = true): void {
    const { offset, epoch, line } = m;
    if (state.epoch === null || epoch !== state.epoch) {
      // First message, or a new epoch: Redis lost the room's history.
      if (state.epoch !== null) this.deps.resync(room);
      state.epoch = epoch;
      state.last = offset;
      this.deps.deliver(room, offset, line);
      return;
    }
    if (offset <= state.last) return;
    if (offset === state.last + 1) {
      state.last = offset;
      this.deps.deliver(room, offset, line);
      return;
    }
    if (!mayCatchUp) {
      this.deps.resync(room);
      state.last = offset;
      this.deps.deliver(room, offset, line);
      return;
    }
    state.buffered.push(m);
    void this.catchUp(room, state);
  }

  private async catchUp(room: string, state: RoomState): Promise<void> {
    state.catchingUp = true;
    const epoch = state.epoch!;
    const from = state.last;
    let result: HistoryResult | null = null;
    try {
      result = await this.deps.fetchSince(room, epoch, from);
    } catch {
      result = null;
    }
    if (this.rooms.get(room) !== state) return; // unsubscribed meanwhile
    if (result?.recovered && !state.overflowed && state.epoch === epoch && state.last === from) {
      result.lines.forEach((line, i) => {
        this.deps.deliver(room, from + 1 + i, line);
      });
      state.last = from + result.lines.length;
    } else {
      this.deps.resync(room);
      state.overflowed = false;
      if (result) {
        state.epoch = result.epoch;
        state.last = result.offset;
      } else {
        // Redis is away: restart from whatever comes next.
        state.epoch = null;
      }
    }
    state.catchingUp = false;
    if (state.stale) return; // recover() continues
    if (state.recheck && state.epoch !== null) {
      state.recheck = false;
      void this.catchUp(room, state);
      return;
    }
    state.recheck = false;
    this.drain(room, state, false);
  }

  /** Delivers the buffered live messages in arrival order (a new gap starts a new catch-up). */
  private drain(room: string, state: RoomState, mayCatchUp: boolean): void {
    const buffered = state.buffered;
    state.buffered = [];
    for (let i = 0; i < buffered.length; i++) {
      const m = buffered[i]!;
      if (state.catchingUp) state.buffered.push(m);
      else this.accept(room, state, m, mayCatchUp);
    }
  }
}
