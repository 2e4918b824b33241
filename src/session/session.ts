import { CLOSE, type CloseSpec } from '../protocol/index.js';
import type { Identity } from './identity.js';
import { RoomNames } from './room-names.js';
import { takeToken, tokenWaitMs } from './token-bucket.js';
import type { Transport } from './transport.js';

/** Limits of one session's send path and commands. */
export interface SessionLimits {
  /** Over this many queued bytes, lossy messages are skipped for this session. */
  sendSoftLimitBytes: number;
  /** Over this many queued bytes, the session is closed with 4008. */
  sendHardLimitBytes: number;
  /**
   * A send queue that holds bytes and drains none for this long closes the session with 4008,
   * in every kind of room (lossy frames are skipped, so a stalled reader in a lossy room never
   * reaches the hard mark). Absent or 0: never.
   */
  sendStallTimeoutMs?: number;
  /** Client publishes allowed per second, and the burst above that. */
  publishRate: number;
  publishBurst: number;
  /** Client commands of any kind allowed per second, and the burst above that. */
  commandRate: number;
  commandBurst: number;
}

/** The outcome of offering a frame to a session. */
export enum SendResult {
  /** Queued on the socket. */
  Sent = 0,
  /** Lossy and the session is over its soft mark: skipped and counted. */
  Dropped = 1,
  /** The session went over its hard mark and was closed with 4008. */
  ClosedSlow = 2,
  /** The session was already closed. */
  Closed = 3,
}

/** What the heartbeat sweep should do with a session. */
export enum Liveness {
  Fine = 0,
  /** Nothing sent for a heartbeat: send an app-level ping. */
  NeedsPing = 1,
  /** Frames are going out but nothing was heard for a heartbeat: send a protocol ping. */
  NeedsProbe = 5,
  /** Nothing heard for two heartbeats: terminate. */
  Dead = 2,
  /** No auth within the auth timeout where auth is required. */
  AuthTimeout = 3,
  /** The identity's credential expired. */
  Expired = 4,
  /** The send queue has held bytes and drained none for the stall timeout: close with 4008. */
  Stalled = 6,
}

/**
 * One client connection, independent of the socket library: identity, rooms, heartbeat clocks,
 * rate limits and the byte-counted send path with its two marks.
 */
export class Session {
  /** The authenticated identity, or null for an anonymous connection. */
  identity: Identity | null = null;
  /** Pushes of these events only; null takes every event. */
  events: ReadonlySet<string> | null = null;
  /** Rooms joined or being joined. */
  readonly rooms = new RoomNames();
  /** Last time a frame was queued to the client, ms. */
  lastSentAt: number;
  /** Last time anything was heard from the client, ms. */
  lastHeardAt: number;
  /** Last time a protocol ping was sent, ms. */
  lastProbeAt: number;
  /** Lossy messages skipped for this session because it was over its soft mark. */
  dropped = 0;
  /** Set once the session is closing or closed; nothing is sent after that. */
  closed = false;
  /** The close code when the server closed it. */
  closeCode = 0;
  /** Since when the send queue has held bytes without draining any, ms; null while it moves. */
  stalledSince: number | null = null;
  /** Bytes handed to the transport so far, to tell a draining queue from a refilled one. */
  private offeredBytes = 0;
  /** The queue as the last progress check saw it: bytes offered so far, and bytes queued. */
  private markOffered = 0;
  private markBuffered = 0;
  /**
   * The command, publish and join rate limits, each a token bucket kept as one number (see
   * takeToken: an object per bucket was ~90 B per connection); 0 is a full bucket.
   */
  private commandClock = 0;
  private publishClock = 0;
  /** Set by the node's join limiter, whose rate and burst it follows (see JoinLimiter). */
  joinClock = 0;

  constructor(
    /** Unique id of the connection on this node. */
    readonly id: string,
    /** The peer's address, for per-IP accounting and logs. */
    readonly ip: string,
    private readonly transport: Transport,
    private readonly limits: SessionLimits,
    /** When the connection was accepted, ms. */
    readonly connectedAt: number,
  ) {
    this.lastSentAt = connectedAt;
    this.lastHeardAt = connectedAt;
    this.lastProbeAt = connectedAt;
  }

  /** Takes a command from the command rate limit; false when the client is over it. */
  takeCommand(now: number): boolean {
    const clock = takeToken(
      this.commandClock,
      now,
      this.limits.commandRate,
      this.limits.commandBurst,
    );
    if (Number.isNaN(clock)) return false;
    this.commandClock = clock;
    return true;
  }

  /** Ms until the command limit allows one more (a refusal's `retryAfterMs`). */
  commandWaitMs(now: number): number {
    return tokenWaitMs(this.commandClock, now, this.limits.commandRate, this.limits.commandBurst);
  }

  /** Takes a publish from the publish rate limit; false when the client is over it. */
  takePublish(now: number): boolean {
    const clock = takeToken(
      this.publishClock,
      now,
      this.limits.publishRate,
      this.limits.publishBurst,
    );
    if (Number.isNaN(clock)) return false;
    this.publishClock = clock;
    return true;
  }

  /** Ms until the publish limit allows one more (a refusal's `retryAfterMs`). */
  publishWaitMs(now: number): number {
    return tokenWaitMs(this.publishClock, now, this.limits.publishRate, this.limits.publishBurst);
  }

  /** The user id, or null when anonymous. */
  get userId(): string | null {
    return this.identity === null ? null : this.identity.userId;
  }

  /** Whether a push of this event is for this connection. */
  accepts(event: string): boolean {
    return this.events === null || this.events.has(event);
  }

  /**
   * Offers a frame. A lossy frame is skipped while the queue is over the soft mark (so lossy
   * traffic alone never grows it past the soft mark plus one frame); a reliable frame that would
   * take the queue over the hard mark closes the session with 4008 instead. A frame is always
   * accepted into an empty queue, whatever its size.
   */
  send(frame: Buffer, lossy: boolean, now: number): SendResult {
    return this.offer(frame, lossy, now, false);
  }

  /**
   * Offers a reply to one of this connection's requests: reliable, like `send(frame, false, now)`,
   * but the transport may write it together with the rest of this turn's output (Transport.reply).
   */
  reply(frame: Buffer, now: number): SendResult {
    return this.offer(frame, false, now, true);
  }

  /** `send`, or with `asReply` `reply`: the marks, the transport, the counters. */
  private offer(frame: Buffer, lossy: boolean, now: number, asReply: boolean): SendResult {
    if (this.closed) return SendResult.Closed;
    const transport = this.transport;
    const queued = transport.bufferedAmount;
    if (lossy) {
      if (queued > this.limits.sendSoftLimitBytes) {
        this.dropped++;
        return SendResult.Dropped;
      }
    } else if (queued > 0 && queued + frame.length > this.limits.sendHardLimitBytes) {
      this.closeWith(CLOSE.tooSlow);
      return SendResult.ClosedSlow;
    }
    const taken = asReply && transport.reply ? transport.reply(frame) : transport.send(frame);
    if (!taken) return SendResult.Closed;
    this.offeredBytes += frame.length;
    this.lastSentAt = now;
    return SendResult.Sent;
  }

  /** Judges the session's clocks for the heartbeat sweep. */
  liveness(now: number, heartbeatMs: number, authDeadline: number | null): Liveness {
    if (now - this.lastHeardAt > 2 * heartbeatMs) return Liveness.Dead;
    if (authDeadline !== null && this.identity === null && now > authDeadline) {
      return Liveness.AuthTimeout;
    }
    const expiresAt = this.identity?.expiresAt;
    if (expiresAt !== undefined && now >= expiresAt) return Liveness.Expired;
    if (this.stalled(now)) return Liveness.Stalled;
    if (now - this.lastSentAt >= heartbeatMs) return Liveness.NeedsPing;
    // A client that only listens to a busy room never gets an app ping (the server is not quiet)
    // and so never pongs: probe it with a protocol ping, which its WebSocket stack answers.
    if (now - this.lastHeardAt >= heartbeatMs && now - this.lastProbeAt >= heartbeatMs) {
      return Liveness.NeedsProbe;
    }
    return Liveness.Fine;
  }

  /**
   * Whether the send queue has drained nothing for the stall timeout. Bytes drained since the
   * last check = queued then + offered since - queued now; any drained byte is progress, so a
   * slow reader is never judged stalled, only one that reads nothing at all. Called by the sweep.
   */
  private stalled(now: number): boolean {
    const timeout = this.limits.sendStallTimeoutMs ?? 0;
    if (timeout <= 0) return false;
    const buffered = this.transport.bufferedAmount;
    const drained = this.markBuffered + (this.offeredBytes - this.markOffered) - buffered;
    this.markOffered = this.offeredBytes;
    this.markBuffered = buffered;
    if (buffered === 0 || drained > 0) {
      this.stalledSince = null;
      return false;
    }
    this.stalledSince ??= now;
    return now - this.stalledSince >= timeout;
  }

  /** Sends a protocol ping (see Liveness.NeedsProbe). */
  probe(now: number): void {
    if (this.closed) return;
    this.lastProbeAt = now;
    this.transport.ping();
  }

  /** Closes with a code of the catalogue. Idempotent. */
  closeWith(spec: CloseSpec, reason: string = spec.reason): void {
    this.close(spec.code, reason);
  }

  /** Closes with a code and reason. Idempotent: later calls do nothing. */
  close(code: number, reason: string): void {
    if (this.closed) return;
    this.closed = true;
    this.closeCode = code;
    this.transport.close(code, reason);
  }

  /** Records a close the socket layer already started (e.g. ws refusing a frame). Idempotent. */
  markClosed(code: number): void {
    if (this.closed) return;
    this.closed = true;
    this.closeCode = code;
  }

  /** Destroys the connection without a closing handshake (dead peer). Idempotent. */
  terminate(): void {
    if (!this.closed) {
      this.closed = true;
      this.closeCode = 1006;
    }
    this.transport.terminate();
  }
}
