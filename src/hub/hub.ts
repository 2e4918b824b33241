import { performance } from 'node:perf_hooks';
import { mergeLines } from '../protocol/index.js';
import { SendResult, type Session } from '../session/index.js';
import { makeBatch, writeBatch } from './fanout.js';
import {
  adaptiveWindowMs,
  NODE_QUIET_DELIVERIES,
  nodeQuietDeliveries,
  RateMeter,
  SAMPLED_FLUSH_RATE,
} from './rate.js';
import { type HeldFrame, Room, type RoomPolicy } from './room.js';
import { budgetTier } from './sampling.js';

/** Counters of the local fan-out, cumulative. */
export interface HubCounters {
  /** Messages handed to sessions (one per message per member). */
  messagesOut: number;
  /** Frames written to sockets. */
  framesOut: number;
  /** Messages skipped for sessions over their soft mark. */
  droppedSlow: number;
  /** Sessions closed because they went over their hard mark. */
  closedSlow: number;
  /** Messages sampled out for members with a render budget (one per message per member). */
  sampledOut: number;
}

/** Options of the hub. */
export interface HubOptions {
  /** The delivery policy of a room, decided once when the room is created on this node. */
  policyFor(room: string): RoomPolicy;
  /**
   * Called after each room frame is written: messages merged, sessions reached, ms its oldest
   * message waited in the batch, and ms the writes to every member took (the fan-out's span: the
   * last member gets the frame that much after the first, and the loop reads nothing meanwhile).
   */
  onFlush?(room: Room, messages: number, sessions: number, waitedMs: number, spanMs: number): void;
  /** A windowed room's batch is flushed early once it holds this many bytes. @default 65536 */
  maxBatchBytes?: number;
  /**
   * Deliveries a second on this node above which every room merges sooner (see
   * nodeQuietDeliveries in rate.ts). @default NODE_QUIET_DELIVERIES
   */
  nodeQuietDeliveries?: number;
  /** Clock, ms. @default Date.now */
  now?: () => number;
  /** A room got its first session on this node (the node subscribes the broker to it). */
  onRoomCreated?(name: string): void;
  /** A room's last session on this node left (the node unsubscribes the broker). */
  onRoomEmptied?(name: string): void;
}

/**
 * This process's rooms and users and the local fan-out. A room's messages are merged per window
 * into one frame, built once, and the same buffer is offered to every member.
 *
 * Membership has one path: `join` and `leave` (and `removeSession`, which leaves every room) keep
 * both sides in step, a session's `rooms` and a room's members, and announce a room created on its
 * first session and emptied by its last (`onRoomCreated` / `onRoomEmptied`), as socket.io's
 * in-memory adapter announces `create-room` and `delete-room`.
 */
export class Hub {
  readonly rooms = new Map<string, Room>();
  readonly users = new Map<string, Set<Session>>();
  readonly sessions = new Set<Session>();
  readonly counters: HubCounters = {
    messagesOut: 0,
    framesOut: 0,
    droppedSlow: 0,
    closedSlow: 0,
    sampledOut: 0,
  };
  private readonly now: () => number;
  private readonly maxBatchBytes: number;
  /** Deliveries a second on this node, every room's (members x messages), for the merge rule. */
  private readonly deliveries = new RateMeter();
  private readonly nodeBudget: number;
  private readonly usersOf = (userId: string): Set<Session> | undefined => this.users.get(userId);
  /** Flushes the room it is given: the one callback of every merge timer and immediate. */
  private readonly flushRoom = (room: Room): void => this.flush(room);

  constructor(private readonly options: HubOptions) {
    this.now = options.now ?? Date.now;
    this.maxBatchBytes = options.maxBatchBytes ?? 64 * 1024;
    this.nodeBudget = options.nodeQuietDeliveries ?? NODE_QUIET_DELIVERIES;
  }

  /** Deliveries a second on this node over about the last quarter second (members x rate). */
  deliveriesPerSecond(now = this.now()): number {
    return this.deliveries.perSecond(now);
  }

  /** Registers a connected session. */
  addSession(session: Session): void {
    this.sessions.add(session);
  }

  /** Forgets a session everywhere; true when it was its user's last connection here. */
  removeSession(session: Session): { lastOfUser: boolean } {
    this.sessions.delete(session);
    for (const name of [...session.rooms]) this.leave(session, name);
    return { lastOfUser: this.removeUser(session) };
  }

  /** Indexes an authenticated session under its user; true when it is the user's first here. */
  addUser(session: Session): boolean {
    const userId = session.userId;
    if (userId === null) return false;
    let set = this.users.get(userId);
    const first = set === undefined;
    if (!set) {
      set = new Set();
      this.users.set(userId, set);
    }
    set.add(session);
    return first;
  }

  /** Removes a session from its user's index; true when it was the user's last here. */
  removeUser(session: Session): boolean {
    const userId = session.userId;
    if (userId === null) return false;
    const set = this.users.get(userId);
    if (!set?.delete(session)) return false;
    if (set.size > 0) return false;
    this.users.delete(userId);
    return true;
  }

  /**
   * Starts a session's join of a room, created here (and announced) if it had no session on this
   * node. The session counts as in the room from now on (`session.rooms`, the room's
   * `localCount`) but receives nothing live yet: frames flushed meanwhile are held so that
   * `completeJoin` can pass on exactly those after the offset its `joined` covered.
   */
  join(session: Session, name: string, budget = 0): Room {
    let room = this.rooms.get(name);
    const created = room === undefined;
    if (!room) {
      room = new Room(name, this.options.policyFor(name));
      this.rooms.set(name, room);
    }
    // The room's own name, not the command's copy: one string per room, not one per member.
    session.rooms.add(room.name);
    room.joining.set(session, { held: [], readyAfter: null, budget: budgetTier(budget) });
    if (created) this.options.onRoomCreated?.(name);
    return room;
  }

  /**
   * Ends a join after the `joined` reply was sent: held frames with offsets above `offset` are
   * sent (a straddling frame is rebuilt from its lines). If a batch is pending, it may hold lines
   * the reply already covered, so the session waits for that flush and takes only the lines after
   * `offset`; otherwise it becomes a member at once. Returns false when the join was cancelled
   * meanwhile (leave or disconnect).
   */
  completeJoin(room: Room, session: Session, offset: number): boolean {
    const state = room.joining.get(session);
    if (state === undefined) return false;
    const now = this.now();
    for (const h of state.held) sendHeldAfter(session, h, offset, room.policy.lossy, now);
    if (room.pendingLines.length > 0) {
      state.held = [];
      state.readyAfter = offset;
      return true;
    }
    room.joining.delete(session);
    room.addMember(session, state.budget);
    return true;
  }

  /**
   * Records that a line of the room was published by a session here, so that sampling never
   * hides a client's own message from it. Lines already written are ignored.
   */
  markOwn(name: string, offset: number, session: Session): void {
    const room = this.rooms.get(name);
    if (room && offset > room.flushedThrough) room.own.set(offset, session);
  }

  /**
   * Removes a session from a room, member or mid-join (which cancels the join). A room left
   * without sessions is dropped and announced. Returns false when the session was not in it.
   */
  leave(session: Session, name: string): boolean {
    if (!session.rooms.delete(name)) return false;
    const room = this.rooms.get(name);
    if (!room) return true;
    room.removeMember(session);
    room.joining.delete(session);
    if (room.isEmpty) {
      this.dropRoom(room);
      this.options.onRoomEmptied?.(name);
    }
    return true;
  }

  /**
   * A room message arrived (from the broker): merge it into the room's batch, or send it at once
   * when the room has no window (an adaptive policy: while its deliveries a second, members x
   * rate, are low; see `adaptiveWindowMs`). A line at or below the room's last offset is a duplicate (e.g.
   * replayed by a broker after a reconnect) and is skipped. Continuity is the broker's job.
   */
  deliver(name: string, offset: number, line: Buffer): void {
    const room = this.rooms.get(name);
    if (!room || offset <= room.lastOffset) return;
    const now = this.now();
    // The rate this message arrives into (itself not counted: a lone message is no load).
    const rate = room.rate.perSecond(now);
    room.lastOffset = offset;
    room.messagesIn++;
    room.rate.add(now);
    this.deliveries.add(now, room.members.size);
    if (room.pendingLines.length === 0) room.pendingSince = now;
    room.pendingLines.push(line);
    room.pendingOffsets.push(offset);
    room.pendingBytes += line.length + 1;
    if (room.timer !== null || room.immediate !== null) {
      if (room.pendingBytes >= this.maxBatchBytes) this.flush(room);
      return;
    }
    const { mergeWindowMs, adaptive } = room.policy;
    const window = adaptive
      ? adaptiveWindowMs(
          rate,
          room.members.size,
          mergeWindowMs,
          room.samples(rate) ? SAMPLED_FLUSH_RATE : Number.POSITIVE_INFINITY,
          nodeQuietDeliveries(this.deliveries.perSecond(now), this.nodeBudget),
        )
      : mergeWindowMs;
    if (room.pendingBytes >= this.maxBatchBytes) this.flush(room);
    else if (window > 0) room.timer = setTimeout(this.flushRoom, window, room);
    // No window: still let the messages this turn already read join the batch (no timer, no added
    // delay). Flushing each at once would let a backlog feed itself: every message's fan-out
    // blocks the loop, the rate the meter sees stays low, and the room never merges again.
    else if (adaptive && mergeWindowMs > 0) room.immediate = setImmediate(this.flushRoom, room);
    else this.flush(room);
  }

  /**
   * A room message only one user's sessions here may see (a shadow-banned user's comment, as its
   * author receives it): the pending batch goes first, to keep offset order; the user's members
   * get the line at once, their sessions mid-join hold it; everyone else sees its offset skipped.
   */
  deliverToUser(name: string, offset: number, line: Buffer, userId: string): void {
    const room = this.rooms.get(name);
    if (!room || offset <= room.lastOffset) return;
    this.flush(room);
    room.lastOffset = offset;
    room.flushedThrough = offset;
    const now = this.now();
    for (const session of this.users.get(userId) ?? []) {
      if (room.members.has(session)) {
        if (session.send(line, room.policy.lossy, now) === SendResult.Sent) {
          this.counters.framesOut++;
          this.counters.messagesOut++;
        }
      } else
        room.joining.get(session)?.held.push({ frame: line, lines: [line], offsets: [offset] });
    }
  }

  /** Writes the room's pending batch as one frame to every member. */
  flush(room: Room): void {
    cancelFlush(room);
    const lines = room.pendingLines;
    if (lines.length === 0) return;
    const offsets = room.pendingOffsets;
    room.pendingLines = [];
    room.pendingOffsets = [];
    room.pendingBytes = 0;
    const now = this.now();
    const batch = makeBatch(lines, offsets);
    const started = performance.now();
    const tally = writeBatch(room, batch, room.rate.perSecond(now), now, this.usersOf);
    if (room.joining.size > 0) this.passToJoining(room, batch, now);
    const spanMs = performance.now() - started;
    room.flushedThrough = offsets[offsets.length - 1]!;
    if (room.own.size > 0) for (const offset of offsets) room.own.delete(offset);
    room.batches++;
    room.droppedSlow += tally.droppedSlow;
    room.sampledOut += tally.sampledOut;
    const c = this.counters;
    c.framesOut += tally.framesOut;
    c.messagesOut += tally.messagesOut;
    c.droppedSlow += tally.droppedSlow;
    c.closedSlow += tally.closedSlow;
    c.sampledOut += tally.sampledOut;
    this.options.onFlush?.(room, lines.length, tally.framesOut, now - room.pendingSince, spanMs);
  }

  /** Sends one frame to every member of a room (e.g. `presence`); returns sessions reached. */
  sendToRoom(name: string, frame: Buffer, lossy: boolean): number {
    const room = this.rooms.get(name);
    if (!room) return 0;
    return this.sendToAll(room.members, frame, lossy, null);
  }

  /**
   * Sends a push to every connection of a user that takes the event (null: every connection of
   * the user, whatever its filter); returns how many took it.
   */
  pushToUser(userId: string, event: string | null, frame: Buffer): number {
    const set = this.users.get(userId);
    return set ? this.sendToAll(set, frame, false, event) : 0;
  }

  /** Sends a push to every connection that takes the event; returns how many took it. */
  broadcast(event: string, frame: Buffer): number {
    return this.sendToAll(this.sessions, frame, false, event);
  }

  /** Flushes every pending batch now (before shutdown). */
  flushAll(): void {
    for (const room of this.rooms.values()) this.flush(room);
  }

  /** Holds a flushed frame for sessions mid-join, or hands it over to those ready for it. */
  private passToJoining(room: Room, held: HeldFrame, now: number): void {
    for (const [session, state] of room.joining) {
      if (state.readyAfter === null) {
        state.held.push(held);
        continue;
      }
      sendHeldAfter(session, held, state.readyAfter, room.policy.lossy, now);
      room.joining.delete(session);
      room.addMember(session, state.budget);
    }
  }

  private sendToAll(
    sessions: Iterable<Session>,
    frame: Buffer,
    lossy: boolean,
    event: string | null,
  ): number {
    const now = this.now();
    let sent = 0;
    let closed = 0;
    for (const session of sessions) {
      if (event !== null && !session.accepts(event)) continue;
      const result = session.send(frame, lossy, now);
      if (result === SendResult.Sent) sent++;
      else if (result === SendResult.ClosedSlow) closed++;
    }
    this.counters.framesOut += sent;
    this.counters.messagesOut += sent;
    this.counters.closedSlow += closed;
    return sent;
  }

  private dropRoom(room: Room): void {
    cancelFlush(room);
    this.rooms.delete(room.name);
  }
}

/** Stops a room's pending flush (the batch is being flushed now, or the room is gone). */
function cancelFlush(room: Room): void {
  if (room.timer !== null) clearTimeout(room.timer);
  if (room.immediate !== null) clearImmediate(room.immediate);
  room.timer = null;
  room.immediate = null;
}

/** Sends the part of a held frame that comes after `offset`. */
function sendHeldAfter(
  session: Session,
  held: HeldFrame,
  offset: number,
  lossy: boolean,
  now: number,
): void {
  const { offsets, lines } = held;
  if (offsets[offsets.length - 1]! <= offset) return;
  if (offsets[0]! > offset) {
    session.send(held.frame, lossy, now);
    return;
  }
  const after = lines.filter((_, i) => offsets[i]! > offset);
  session.send(mergeLines(after), lossy, now);
}
