import { type BarrageError, closedError, removedError } from './errors.js';
import type { ClientEvents, JoinOptions } from './options.js';
import type { RequestTable } from './requests.js';
import { Subscription } from './subscription.js';
import type { JoinedFrame, ServerFrame, WebSocketLike } from './types.js';

/** What the room list needs from its client. */
export interface RoomsHost {
  /** Emits one of the room events to the app. */
  emit<K extends 'presence' | 'left' | 'error'>(event: K, payload: ClientEvents[K]): void;
  /**
   * Sends a request once connected (idempotent ones are resent after a reconnect). `onReply`
   * runs as the reply is read, before any later line of the same connection.
   */
  request(
    body: Record<string, unknown>,
    idempotent: boolean,
    onReply?: (frame: ServerFrame) => void,
  ): Promise<ServerFrame>;
  /** Whether the client is connected now / closed for good. */
  isOpen(): boolean;
  isClosed(): boolean;
  /** Gives up on the current connection (it reconnects): a rejoin got no reply in time. */
  drop(reason: string): void;
}

/**
 * The rooms a client has joined (docs/client.md): one {@link Subscription} per room, joins of
 * the same room shared while in flight, every room rejoined from its last offset on a new
 * connection, and the room lines (`message`, `skipped`, `presence`, `left`) routed to them.
 */
export class Rooms {
  private readonly subs = new Map<string, Subscription>();
  private readonly joining = new Map<string, Promise<Subscription>>();

  constructor(private readonly host: RoomsHost) {}

  /** The names of the rooms joined now. */
  names(): string[] {
    return [...this.subs.keys()];
  }

  /** Joins a room, or returns its subscription (or the join already under way). */
  join(room: string, options: JoinOptions): Promise<Subscription> {
    const existing = this.subs.get(room);
    if (existing) return Promise.resolve(existing);
    let joining = this.joining.get(room);
    if (!joining) {
      joining = this.doJoin(room, options).finally(() => this.joining.delete(room));
      this.joining.set(room, joining);
    }
    return joining;
  }

  /** Leaves a room: its subscription ends and it is not rejoined. */
  async leave(room: string): Promise<void> {
    const sub = this.subs.get(room);
    if (!sub) return;
    this.subs.delete(room);
    sub.end(null);
    if (!this.host.isOpen()) return; // a new connection will simply not rejoin it
    await this.host.request({ type: 'leave', room }, false).catch((err: BarrageError) => {
      if (err.code !== 'disconnected') throw err;
    });
  }

  /** Handles the room lines; false for any other line. */
  onFrame(f: ServerFrame): boolean {
    switch (f.type) {
      case 'message':
        this.subs.get(f.room)?.deliver(f);
        return true;
      case 'skipped':
        this.subs.get(f.room)?.addSkipped(f.count);
        return true;
      case 'presence':
        this.subs.get(f.room)?.setOnline(f.online);
        this.host.emit('presence', { room: f.room, online: f.online });
        return true;
      case 'left':
        this.removed(f.room, f.reason);
        return true;
      default:
        return false;
    }
  }

  /** A new connection is authenticated: every room is joined again from its last offset. */
  rejoinAll(ws: WebSocketLike, requests: RequestTable, deadline: number): void {
    for (const sub of this.subs.values()) this.rejoin(ws, sub, requests, deadline);
  }

  /** The client closed for good: every subscription ends with `err` (null: closed by the app). */
  endAll(err: BarrageError | null): void {
    for (const sub of this.subs.values()) sub.end(err);
    this.subs.clear();
  }

  private async doJoin(room: string, options: JoinOptions): Promise<Subscription> {
    const sub = new Subscription(room, (r) => this.leave(r));
    const body: Record<string, unknown> = { type: 'join', room };
    if (options.history !== undefined) body.history = options.history;
    if (options.budget !== undefined) body.budget = sub.budget = options.budget;
    if (options.since) {
      body.since = options.since;
      sub.resumeFrom(options.since);
    }
    // Registered as the reply is read, so live messages right behind it are not missed.
    await this.host.request(body, true, (reply) => {
      const { recovered } = sub.applyJoined(reply as JoinedFrame, options.since !== undefined);
      sub.recovered = recovered;
      this.subs.set(room, sub);
    });
    if (this.host.isClosed()) throw closedError();
    return sub;
  }

  private rejoin(
    ws: WebSocketLike,
    sub: Subscription,
    requests: RequestTable,
    deadline: number,
  ): void {
    const body: Record<string, unknown> = { type: 'join', room: sub.room, since: sub.position() };
    if (sub.budget !== undefined) body.budget = sub.budget;
    // Applied as the reply is read: the live messages right behind it must find the recovered
    // ones delivered first, or they would be taken as newer and the recovered ones dropped.
    const apply = (reply: ServerFrame) => {
      if (this.subs.get(sub.room) === sub) sub.applyJoined(reply as JoinedFrame, true);
    };
    requests.send(ws, body, deadline, apply).catch((err: BarrageError) => {
      if (err.code === 'disconnected' || this.subs.get(sub.room) !== sub) return;
      if (err.code === 'timeout') return this.host.drop('rejoin timed out');
      this.subs.delete(sub.room);
      sub.end(err);
      this.host.emit('error', err);
    });
  }

  /** The server took this connection out of a room (a ban): the subscription ends. */
  private removed(room: string, reason: string): void {
    const sub = this.subs.get(room);
    if (!sub) return;
    this.subs.delete(room);
    const err = removedError(room, reason);
    sub.end(err);
    this.host.emit('left', { room, reason, error: err });
  }
}
