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
 *   node's history call read after subscribing (`settle`), or, without one, `resync(room)`.
 *
 * A joiner gets each message once, from its `joined` history or live, because the node's history
 * read is aligned with the feed (`settle`): a room that has delivered nothing yet starts at the
 * position read, and a feed behind the position read is waited for (those messages are on their
 * way; the node holds them for the joiner and passes on only those after its `joined` offset).
 */
import type { HistoryResult } from '../types.js';

/** What the feed needs from the broker. */
export interface FeedDeps {
  /** History after a position (the broker's `history` with `since`). */
  fetchSince(room: string, epoch: string, offset: number): Promise<HistoryResult>;
  deliver(room: string, offset: number, line: Buffer): void;
  resync(room: string): void;
  /**
   * Redis no longer holds what this node delivered at an offset of `epoch` (a failover lost an
   * acknowledged write, and the offset may be handed out again): make the room start over with a
   * new epoch, so every node and client learns of it instead of taking the new message at that
   * offset for one it already has.
   */
  rolledBack(room: string, epoch: string): void;
}

interface Live {
  offset: number;
  epoch: string;
  line: Buffer;
}

/** A history reader waiting for the feed to reach a position. */
interface Waiter {
  epoch: string;
  offset: number;
  resolve: () => void;
}

interface RoomState {
  /** Epoch of the last delivered message; null before the first one. */
  epoch: string | null;
  /** Offset of the last delivered message. */
  last: number;
  /** The line delivered at `last`, to tell a rolled-back offset from the same message; null when unknown. */
  lastLine: Buffer | null;
  /** A catch-up fetch is in flight; live messages wait in `buffered`. */
  catchingUp: boolean;
  /** The subscription was lost; live messages wait until `recover`. */
  stale: boolean;
  buffered: Live[];
  /** Messages were dropped from a full buffer. */
  overflowed: boolean;
  /** History readers waiting for the feed to reach their position (see `settle`). */
  waiters: Waiter[];
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
      lastLine: null,
      catchingUp: false,
      stale: false,
      buffered: [],
      overflowed: false,
      recheck: false,
      waiters: [],
    });
  }

  /** Stops tracking a room (on unsubscribe); its in-flight messages are then dropped. */
  remove(room: string): void {
    const state = this.rooms.get(room);
    this.rooms.delete(room);
    if (state) for (const w of state.waiters.splice(0)) w.resolve();
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
   * Aligns the feed with a position of the room read while its subscription was held (the
   * node's history call on join). Nothing delivered yet: the feed starts there (live messages at
   * or below it are in that history; a lost subscription catches up from it). Behind it in the
   * same epoch: resolves once the feed delivered up to it, or after `timeoutMs`. Otherwise at once.
   */
  settle(room: string, epoch: string, offset: number, timeoutMs: number): Promise<void> {
    const state = this.rooms.get(room);
    if (!state || state.stale) return Promise.resolve();
    if (state.epoch === null && !state.catchingUp) {
      state.epoch = epoch;
      state.last = offset;
      state.lastLine = null;
      return Promise.resolve();
    }
    if (state.epoch !== epoch || state.last >= offset) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, timeoutMs);
      state.waiters.push({
        epoch,
        offset,
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
      });
    });
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
    this.step(room, state, m, mayCatchUp);
    if (state.waiters.length > 0) this.wake(state);
  }

  /** Resolves the waiters the feed has now reached (or that wait on another epoch). */
  private wake(state: RoomState): void {
    const waiting: Waiter[] = [];
    for (const w of state.waiters) {
      if (state.epoch === w.epoch && state.last < w.offset) waiting.push(w);
      else w.resolve();
    }
    state.waiters = waiting;
  }

  private step(room: string, state: RoomState, m: Live, mayCatchUp: boolean): void {
    const { offset, epoch, line } = m;
    if (state.epoch === null || epoch !== state.epoch) {
      // First message, or a new epoch: Redis lost the room's history.
      if (state.epoch !== null) this.deps.resync(room);
      state.epoch = epoch;
      state.last = offset;
      state.lastLine = line;
      this.deps.deliver(room, offset, line);
      return;
    }
    if (offset <= state.last) return;
    if (offset === state.last + 1) {
      state.last = offset;
      state.lastLine = line;
      this.deps.deliver(room, offset, line);
      return;
    }
    if (!mayCatchUp) {
      this.deps.resync(room);
      state.last = offset;
      state.lastLine = line;
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
    // Fetch from one before: the stream must still hold what was delivered at `from`, the same
    // message (a failover can lose it and hand its offset to another).
    const known = from >= 1 ? state.lastLine : null;
    let result: HistoryResult | null = null;
    try {
      result = await this.deps.fetchSince(room, epoch, known ? from - 1 : from);
    } catch {
      result = null;
    }
    if (this.rooms.get(room) !== state) return; // unsubscribed meanwhile
    let lines = result?.lines ?? [];
    let recovered = result?.recovered === true;
    let rolledBack = result !== null && result.epoch === epoch && result.offset < from;
    if (recovered && known) {
      if (lines[0]?.equals(known)) lines = lines.slice(1);
      else rolledBack = true;
    } else if (known && result?.epoch === epoch && result.offset === from) {
      // The entry at `from` left the history (a quiet room, older than historyTtlMs): nothing
      // came after it, and a rolled-back offset would be fresh, so there is nothing to compare.
      recovered = true;
      lines = [];
    }
    if (
      recovered &&
      !rolledBack &&
      !state.overflowed &&
      state.epoch === epoch &&
      state.last === from
    ) {
      lines.forEach((line, i) => {
        this.deps.deliver(room, from + 1 + i, line);
      });
      state.last = from + lines.length;
      if (lines.length > 0) state.lastLine = lines[lines.length - 1]!;
    } else {
      this.deps.resync(room);
      state.overflowed = false;
      state.lastLine = null;
      if (rolledBack) {
        this.deps.rolledBack(room, epoch);
        // Keep the position: what comes at or below it in this epoch is not news to the members
        // (they were told to resync); the room's new epoch, once it comes, is taken as such.
      } else if (result) {
        state.epoch = result.epoch;
        state.last = result.offset;
      } else {
        // Redis is away: restart from whatever comes next.
        state.epoch = null;
      }
    }
    state.catchingUp = false;
    if (state.waiters.length > 0) this.wake(state);
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
