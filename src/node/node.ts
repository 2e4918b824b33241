import {
  type Broker,
  type BrokerHandler,
  hasModeration,
  type PublishResult,
  type PushTarget,
} from '../broker/types.js';
import { Hub, type Room } from '../hub/index.js';
import { type Logger, silentLogger } from '../log.js';
import type { MetricsSink } from '../metrics/types.js';
import {
  CLOSE,
  eventNameProblem,
  isShadowLine,
  lineSender,
  type Priority,
  pushLine,
  roomNameProblem,
  unshadowLine,
  userIdProblem,
  welcomeLine,
} from '../protocol/index.js';
import { type Identity, Session, TokenRefused, type Transport } from '../session/index.js';
import { Alerts, CONTROL_EVENT } from './alerts.js';
import { ClientCommands } from './commands.js';
import { encodeData } from './data.js';
import { ReplyError, viaBroker } from './errors.js';
import type { ConnectionInfo } from './hooks.js';
import { LatencySamples } from './latency.js';
import { sweepSessions } from './liveness.js';
import { RoomMembership } from './membership.js';
import { Moderation } from './moderation.js';
import type { NodeOptions } from './options.js';
import { sessionInfo } from './permissions.js';
import { PresenceTracker } from './presence.js';
import { Publishing } from './publishing.js';
import {
  NodeCounters,
  type NodeStats,
  nodeStats,
  type RoomStat,
  roomStats,
  topRooms,
} from './stats.js';

/** Why a token is refused on a node with no way to verify one (dev mode). */
const NO_VERIFIER =
  'this server verifies no tokens: no JWT secret, key or JWKS URL is configured (dev mode); connect without a token';

/** Clients closed per event-loop turn at shutdown, so a big node stays responsive while it empties. */
const SHUTDOWN_CLOSE_BATCH = 500;

/**
 * The engine: handles each client command, wires the hub to the broker, applies permissions and
 * hooks. One delivery path for every publish: `publish` → broker → `onPublication` → hub.
 */
export class Node implements BrokerHandler {
  readonly hub: Hub;
  /** Counters the node keeps itself; its stats read them (see stats.ts). */
  readonly counters = new NodeCounters();
  readonly fanoutLatency = new LatencySamples();
  /** How long each room batch's writes to its members took, ms (see HubOptions.onFlush). */
  readonly fanoutSpan = new LatencySamples();
  readonly startedAt = Date.now();
  readonly presence: PresenceTracker;
  /** Moderation rules, cluster-wide: `node.moderation.mute(userId, {room, durationMs})` etc. */
  readonly moderation: Moderation;
  /** The one path by which connections join and leave rooms (see membership.ts). */
  readonly membership: RoomMembership;
  /** Stored pushes and the per-user inbox (issue 13; disabled without a store). */
  readonly alerts: Alerts;
  private readonly commands: ClientCommands;
  private readonly publishing: Publishing;
  private readonly timers: NodeJS.Timeout[] = [];
  private nextConnId = 0;
  private stopping = false;

  constructor(
    readonly options: NodeOptions,
    readonly broker: Broker,
    readonly log: Logger = silentLogger,
    private readonly metrics?: MetricsSink,
  ) {
    this.hub = new Hub({
      policyFor: options.policyFor,
      onFlush: (_room, messages, sessions, waitedMs, spanMs) => {
        this.fanoutLatency.record(waitedMs);
        this.fanoutSpan.record(spanMs);
        this.metrics?.fanout(waitedMs, messages, sessions);
      },
      onRoomCreated: (name) => this.membership.roomCreated(name),
      onRoomEmptied: (name) => this.membership.roomEmptied(name),
    });
    this.presence = new PresenceTracker(this.hub, broker, log);
    this.moderation = new Moderation(
      hasModeration(broker) ? broker.moderation : null,
      {
        blockedWords: options.blockedWords ?? [],
        blockedWordsAction: options.blockedWordsAction ?? 'reject',
      },
      {
        banned: (userId, room) => this.membership.removeUser(userId, room, 'banned'),
        kicked: (userId, reason) => {
          for (const session of [...(this.hub.users.get(userId) ?? [])])
            session.closeWith(CLOSE.kicked, reason);
        },
      },
      log,
    );
    this.membership = new RoomMembership(this);
    this.alerts = new Alerts({ broker, log, metrics }, options.alerts);
    this.publishing = new Publishing(options, broker, this.counters);
    this.commands = new ClientCommands(this);
  }

  /** Starts the broker delivery, the heartbeat sweep and the presence ticks. */
  async start(): Promise<void> {
    await this.broker.start(this);
    const { heartbeatMs, authTimeoutMs, presenceIntervalMs } = this.options;
    const stallMs = this.options.sendStallTimeoutMs || 4000;
    const sweepMs = Math.max(
      20,
      Math.min(1000, heartbeatMs / 4, (authTimeoutMs ?? 4000) / 4, stallMs / 4),
    );
    this.every(sweepMs, () => {
      const now = Date.now();
      this.counters.stalledCloses += sweepSessions(
        this.hub.sessions,
        now,
        heartbeatMs,
        authTimeoutMs,
      );
    });
    this.every(presenceIntervalMs, () => void this.presence.tick());
    const alertSweepMs = this.alerts.sweepEveryMs;
    if (alertSweepMs !== null) this.every(alertSweepMs, () => void this.alerts.sweep());
  }

  /**
   * Accepts a connection: a session, its `welcome`, and its identity if the upgrade had a token
   * (then its user's unread alerts, unless `redeliver` is false: a session for one command).
   */
  connect(transport: Transport, ip: string, identity: Identity | null, redeliver = true): Session {
    const now = Date.now();
    const id = `${this.options.nodeId}-${(this.nextConnId++).toString(36)}`;
    const session = new Session(id, ip, transport, this.options, now);
    this.hub.addSession(session);
    this.counters.connectionsTotal++;
    if (identity) this.identify(session, identity, undefined);
    const { heartbeatMs, maxFrameBytes } = this.options;
    session.send(welcomeLine(id, heartbeatMs, session.userId, maxFrameBytes), false, now);
    if (identity && redeliver) void this.alerts.redeliver(session);
    return session;
  }

  /** Forgets a closed connection and unsubscribes what it alone held here. */
  disconnect(session: Session, code: number): void {
    this.commands.forget(session);
    session.closed = true;
    const { lastOfUser } = this.hub.removeSession(session);
    if (lastOfUser && session.userId !== null)
      this.quietly(this.broker.unsubscribeUser(session.userId));
    const finalCode = session.closeCode || code;
    this.counters.countClose(finalCode);
    try {
      this.options.hooks.onDisconnect?.(sessionInfo(session), finalCode);
    } catch (err) {
      this.log.error({ err: (err as Error).message }, 'onDisconnect hook threw');
    }
  }

  /** Counts a close of a connection that never became a session (e.g. turned away for load). */
  countClose(code: number): void {
    this.counters.countClose(code);
  }

  /** Handles one text frame from a client: each line is a command, answered in order. */
  handleFrame(session: Session, text: string): void {
    this.commands.handleFrame(session, text);
  }

  /**
   * Gives a session its identity: on its first authentication the session is indexed under its
   * user (and the broker subscribed to the user's pushes); a later one must be for the same user
   * and replaces the claims, and `events` (when given) replaces the push filter.
   */
  identify(session: Session, identity: Identity, events: string[] | undefined): void {
    const current = session.identity;
    if (current && current.userId !== identity.userId) {
      throw new ReplyError('bad_request', 'connection is already authenticated as another user');
    }
    session.identity = identity;
    if (events !== undefined) session.events = new Set(events);
    if (current === null && this.hub.addUser(session))
      this.quietly(this.broker.subscribeUser(identity.userId));
  }

  /**
   * Turns a token into an identity through the configured hook; null when refused, TokenRefused
   * when the refusal has a reason the client may read (no verifier at all, an expired token).
   */
  async authenticate(token: string, connection: ConnectionInfo): Promise<Identity | null> {
    const hook = this.options.hooks.authenticate;
    if (!hook) throw new TokenRefused(NO_VERIFIER);
    const identity = await hook(token, connection);
    if (identity && userIdProblem(identity.userId)) return null;
    return identity ?? null;
  }

  /**
   * Publishes into a room (client or API): see Publishing.publish (shadow publishes, stored rooms,
   * media time `t`). Rejects with ReplyError.
   */
  publish(
    room: string,
    data: unknown,
    connection: ConnectionInfo | null,
    priority: Priority = 'normal',
    options: { shadow?: boolean; t?: number } = {},
  ): Promise<PublishResult> {
    return this.publishing.publish(room, data, connection, priority, options);
  }

  /** `publish` without a promise when nothing in it waits, else null: see Publishing.publishNow. */
  publishNow(
    room: string,
    data: unknown,
    from: string | null,
    priority: Priority,
    t: number | undefined,
  ): PublishResult | null {
    return this.publishing.publishNow(room, data, from, priority, t);
  }

  /** Whether a publish into `room` can take `publishStored`: see Publishing.storesAtOnce. */
  storesAtOnce(room: string): boolean {
    return this.publishing.storesAtOnce(room);
  }

  /** A publish into a stored room, taken at once: see Publishing.publishStored. */
  publishStored(
    room: string,
    data: unknown,
    from: string | null,
    priority: Priority,
    t: number | undefined,
  ): Promise<PublishResult> {
    return this.publishing.publishStored(room, data, from, priority, t);
  }

  /** Pushes to every connection of a user, cluster-wide; resolves with connections reached. */
  async push(userId: string, event: string, data: unknown): Promise<number> {
    const problem = userIdProblem(userId) ?? eventNameProblem(event);
    if (problem) throw new ReplyError('bad_request', problem);
    return this.sendPush({ kind: 'user', userId }, event, data);
  }

  /** Pushes to every connection that takes the event, cluster-wide. */
  async broadcast(event: string, data: unknown): Promise<number> {
    const problem = eventNameProblem(event);
    if (problem) throw new ReplyError('bad_request', problem);
    return this.sendPush({ kind: 'all' }, event, data);
  }

  /** A room's online count (cluster-wide), offset and epoch. */
  async roomInfo(
    room: string,
  ): Promise<{ room: string; online: number; offset: number; epoch: string }> {
    const problem = roomNameProblem(room);
    if (problem) throw new ReplyError('bad_request', problem);
    const history = await viaBroker(() => this.broker.history({ room }));
    const remote = await viaBroker(() => this.broker.remoteOnline([room]));
    const local = this.hub.rooms.get(room)?.localCount ?? 0;
    return {
      room,
      online: local + (remote.get(room) ?? 0),
      offset: history.offset,
      epoch: history.epoch,
    };
  }

  /** A snapshot of this node's counters. */
  stats(): NodeStats {
    return nodeStats(this);
  }

  /** This node's busiest rooms by members or by message rate. */
  topRooms(sort: 'members' | 'rate', limit: number): RoomStat[] {
    return topRooms(roomStats(this.hub), sort, limit);
  }

  /**
   * Stops the timers, flushes pending batches and closes every client with 1001, in batches. Each
   * client is told a random wait up to `reconnectSpreadMs` (`retryAfterMs=` in the close reason),
   * so a restart does not come back as one reconnect storm.
   */
  async shutdown(reconnectSpreadMs = 0): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    for (const timer of this.timers) clearInterval(timer);
    this.hub.flushAll();
    const sessions = [...this.hub.sessions];
    for (let i = 0; i < sessions.length; i += SHUTDOWN_CLOSE_BATCH) {
      for (const session of sessions.slice(i, i + SHUTDOWN_CLOSE_BATCH)) {
        const wait = Math.round(Math.random() * reconnectSpreadMs);
        session.closeWith(CLOSE.shuttingDown, `${CLOSE.shuttingDown.reason}; retryAfterMs=${wait}`);
      }
      await new Promise((resolve) => setImmediate(resolve));
    }
  }

  // BrokerHandler: what the broker delivers into this node.

  onPublication(room: string, offset: number, line: Buffer): void {
    if (!isShadowLine(line)) this.hub.deliver(room, offset, line);
    else this.hub.deliverToUser(room, offset, unshadowLine(line), lineAuthor(line));
  }

  onPush(target: PushTarget, event: string, line: Buffer): number {
    if (target.kind === 'all') return this.hub.broadcast(event, line);
    // Alert notices (read, withdrawn, dropped) reach every connection of the user.
    return this.hub.pushToUser(target.userId, event === CONTROL_EVENT ? null : event, line);
  }

  onResync(name: string): void {
    const room = this.hub.rooms.get(name);
    if (!room) return;
    this.log.warn({ room: name }, 'room stream lost continuity: members re-sync');
    room.lastOffset = 0;
    for (const session of [...room.members, ...room.joining.keys()])
      session.closeWith(CLOSE.resync);
  }

  private async sendPush(target: PushTarget, event: string, data: unknown): Promise<number> {
    const json = encodeData(data ?? null);
    const delivered = await viaBroker(() =>
      this.broker.push(target, event, pushLine(event, json, Date.now())),
    );
    this.counters.pushes++;
    return delivered;
  }

  /** Logs the failure of a broker subscription change nobody waits for. */
  private quietly(promise: Promise<unknown>): void {
    promise.catch((err: Error) =>
      this.log.warn({ err: err.message }, 'broker subscription change failed'),
    );
  }

  private every(ms: number, fn: () => void): void {
    const timer = setInterval(fn, ms);
    timer.unref();
    this.timers.push(timer);
  }
}

export type { Room };

/** The user id of a shadow line's author (`from`, never null on a shadow line). */
function lineAuthor(line: Buffer): string {
  return String(JSON.parse(lineSender(line)));
}
