import { Emitter } from './emitter.js';
import type { BarrageError } from './errors.js';
import type { JoinedFrame, RoomMessage } from './types.js';

/** What a subscription tells the app after it rejoined its room on a new connection. */
export interface RejoinEvent {
  /** True when every missed message was recovered (and delivered); false means a gap. */
  recovered: boolean;
  /** The room's epoch now. A new epoch means the room's history was lost. */
  epoch: string;
  /** The room's offset on the server when it answered. */
  offset: number;
  /** How many recovered messages were delivered. */
  delivered: number;
}

/** Events of a {@link Subscription}. */
export interface SubscriptionEvents {
  /** A room message, in offset order, never twice; history first, then live. */
  message: RoomMessage;
  /** The server left out this many messages to keep within the join's `budget`. */
  skipped: number;
  /** The room's online count changed. */
  presence: number;
  /** The subscription rejoined after a reconnect; check `recovered`. */
  rejoin: RejoinEvent;
  /** The subscription ended: left by the app, refused on rejoin, or the client closed. */
  end: BarrageError | null;
}

/** Most messages kept while the subscription has no `message` listener yet. */
const MAX_QUEUED = 10_000;

/**
 * One joined room. Messages arriving before the app adds a `message` listener (the history in
 * the `joined` reply, or live lines in the same frame) are queued and handed to the first
 * listener, so nothing is lost between `await join()` and `sub.on('message', ...)`.
 */
export class Subscription extends Emitter<SubscriptionEvents> {
  /** The room name. */
  readonly room: string;
  /** The room's online count (from `joined`, then `presence`). */
  online = 0;
  /** The epoch of the room's history this subscription follows. */
  epoch = '';
  /** False once left or ended. */
  active = true;
  /** For a join with `since`: whether every missed message was recovered. Otherwise true. */
  recovered = true;
  /** The render budget given to `join` (messages a second), sent again on every rejoin. */
  budget: number | undefined;
  /** Messages the server left out for the budget so far. */
  skipped = 0;

  private seen: number | null = null;
  private base = 0;
  private queue: RoomMessage[] = [];
  private flushScheduled = false;
  private readonly leaveFn: (room: string) => Promise<void>;

  /** Created by the client; apps get subscriptions from `client.join()`. */
  constructor(room: string, leave: (room: string) => Promise<void>) {
    super();
    this.room = room;
    this.leaveFn = leave;
  }

  /** The last offset delivered (or the room's offset at join time when none was). */
  get offset(): number {
    return this.seen ?? this.base;
  }

  /** The position to rejoin from: `since` for the `join` after a reconnect. */
  position(): { offset: number; epoch: string } {
    return { offset: this.offset, epoch: this.epoch };
  }

  /** Leaves the room: no more messages, no rejoin on reconnect. */
  leave(): Promise<void> {
    return this.leaveFn(this.room);
  }

  /** Starts from a saved position (a join with `since`). @internal */
  resumeFrom(position: { offset: number; epoch: string }): void {
    this.epoch = position.epoch;
    this.base = position.offset;
    this.seen = position.offset;
  }

  /**
   * Applies a `joined` reply: the first join, or a rejoin after a reconnect. Delivers the reply's
   * messages that are newer than what was seen. Returns the rejoin event (for rejoins).
   * @internal
   */
  applyJoined(frame: JoinedFrame, rejoin: boolean): RejoinEvent {
    const sameHistory = this.epoch === frame.epoch;
    if (!sameHistory) this.seen = null;
    this.epoch = frame.epoch;
    this.base = frame.offset;
    this.online = frame.online;
    let delivered = 0;
    for (const m of Array.isArray(frame.messages) ? frame.messages : []) {
      if (this.deliver(m)) delivered++;
    }
    const recovered = rejoin ? frame.recovered === true && sameHistory : true;
    const event: RejoinEvent = { recovered, epoch: frame.epoch, offset: frame.offset, delivered };
    if (rejoin) this.emit('rejoin', event);
    return event;
  }

  /**
   * Delivers one message unless its offset is not newer than the last one seen in this epoch.
   * Returns whether it was delivered.
   * @internal
   */
  deliver(m: RoomMessage): boolean {
    if (!this.active || typeof m.offset !== 'number') return false;
    if (this.seen !== null && m.offset <= this.seen) return false;
    this.seen = m.offset;
    const msg: RoomMessage = {
      room: this.room,
      offset: m.offset,
      data: m.data,
      ts: m.ts,
      from: m.from ?? null,
    };
    if (m.priority !== undefined) msg.priority = m.priority;
    if (typeof m.t === 'number') msg.t = m.t;
    if (this.listenerCount('message') === 0 || this.flushScheduled) {
      if (this.queue.length >= MAX_QUEUED) this.queue.shift();
      this.queue.push(msg);
    } else {
      this.emit('message', msg);
    }
    return true;
  }

  /** Counts a `skipped` notice. @internal */
  addSkipped(count: number): void {
    if (!this.active || !(count > 0)) return;
    this.skipped += count;
    this.emit('skipped', count);
  }

  /** @internal */
  setOnline(online: number): void {
    if (online === this.online) return;
    this.online = online;
    this.emit('presence', online);
  }

  /** Marks the subscription over and tells the app why. @internal */
  end(reason: BarrageError | null): void {
    if (!this.active) return;
    this.active = false;
    this.queue = [];
    this.emit('end', reason);
  }

  protected override listenerAdded(event: keyof SubscriptionEvents): void {
    if (event !== 'message' || this.queue.length === 0 || this.flushScheduled) return;
    // Hand the queue over after the caller's `on()` returns; messages that arrive meanwhile
    // join the queue, so the order holds.
    this.flushScheduled = true;
    queueMicrotask(() => {
      this.flushScheduled = false;
      const queued = this.queue;
      this.queue = [];
      for (const msg of queued) this.emit('message', msg);
    });
  }
}
