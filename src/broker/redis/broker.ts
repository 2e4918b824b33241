/**
 * The Redis broker: the cluster engine behind the `Broker` interface, with the same semantics as
 * the memory broker (offsets from 1 per room, all-or-nothing recovery, epochs), shared by every
 * node on one Redis or one Redis Cluster.
 *
 * Guarantees:
 * - A publish is acknowledged only after Redis ran publish.lua, which in one atomic step assigns
 *   the room's next offset, appends the line to the room's stream (exact count bound, TTL) and
 *   PUBLISHes (SPUBLISHes) it: every node sees the room's messages in history order. A publish
 *   Redis did not answer rejects with `BrokerUnavailableError` (it may still have happened, as
 *   with any timeout; it is never sent twice).
 * - Each node delivers a room's messages to its handler in offset order without duplicates;
 *   a gap or a lost subscription is repaired from the stream, or reported with `onResync`
 *   (see feed.ts). A room Redis lost gets a new epoch, so recovery across it says
 *   `recovered: false`.
 * - Subscriptions follow the rooms and users with local members (see subscriptions.ts) and come
 *   back by themselves after Redis does.
 */
import { randomBytes } from 'node:crypto';
import type { Cluster, Redis } from 'ioredis';
import {
  type Broker,
  type BrokerHandler,
  type BrokerHealth,
  type BrokerStats,
  BrokerUnavailableError,
  type HistoryRequest,
  type HistoryResult,
  type PublishInput,
  type PublishResult,
  type PushTarget,
  type StatsSharing,
} from '../types.js';
import { EmptyRooms } from './empty-rooms.js';
import { RoomFeed } from './feed.js';
import { RedisKeys } from './keys.js';
import { causeOf, createLink, LinkRefused, LinkTimeout, type RedisLink } from './link.js';
import { loadLuaScripts } from './lua.js';
import { RedisModeration } from './moderation.js';
import {
  type RedisBrokerOptions,
  type ResolvedRedisOptions,
  resolveRedisOptions,
} from './options.js';
import { Presence } from './presence.js';
import { PushRequests } from './push.js';
import { LuaScript } from './scripts.js';
import { SharedStats } from './stats.js';
import { Subscriptions } from './subscriptions.js';
import type { ChannelRef } from './wire.js';
import { decodePush, decodeReply, decodeRoomFrame, encodePush, encodeReply } from './wire.js';

/**
 * Forgets a room whose epoch Redis rolled back (see RoomFeed `rolledBack`), unless it already has
 * another epoch: the next publish or join starts a new epoch, which every node and client sees.
 * KEYS: room meta, room stream; ARGV: the epoch found rolled back.
 */
const FORGET_LUA = `if redis.call('HGET', KEYS[1], 'e') == ARGV[1] then
  redis.call('DEL', KEYS[1], KEYS[2])
  return 1
end
return 0`;

/** How often Redis is pinged and wanted-but-not-held subscriptions are retried, ms. */
const HEARTBEAT_MS = 1000;
/** A wanted channel Redis has not confirmed for this long makes the broker unhealthy, ms. */
const SUBSCRIBE_GRACE_MS = 2500;

/** ioredis' words for "no usable connection" (offline queue off, connection closed, ...). */
const NOT_CONNECTED =
  /Stream isn't writeable|Connection is closed|Cluster isn't ready|enableOfflineQueue|None of (the )?startup nodes|Failed to refresh slots|No (sharded )?subscriber|Cluster is ended|connect ETIMEDOUT|ECONNREFUSED|ENOTFOUND/i;
/** Redis' own refusals while it fails over or loads: it is there, but cannot serve yet. */
const NOT_SERVING = /^(CLUSTERDOWN|TRYAGAIN|LOADING|MASTERDOWN|READONLY)/;

/** The Redis implementation of `Broker`. Build it with `createRedisBroker`. */
export class RedisBroker implements Broker, StatsSharing {
  readonly kind = 'redis';
  /** Moderation rules shared by every node (see moderation.ts). */
  readonly moderation: RedisModeration;
  private readonly options: ResolvedRedisOptions;
  private readonly keys: RedisKeys;
  private readonly link: RedisLink;
  private readonly cmd: Redis | Cluster;
  private readonly publishScript: LuaScript;
  private readonly historyScript: LuaScript;
  private readonly forgetScript = new LuaScript(FORGET_LUA);
  private readonly touchScript: LuaScript;
  private readonly emptyRooms: EmptyRooms;
  /** Room meta keys this node wrote (first publish, or a member's read of an empty room). */
  private metaCreated = 0;
  private readonly subs: Subscriptions;
  private readonly feed: RoomFeed;
  private readonly pushes: PushRequests;
  private readonly presence: Presence;
  private readonly stats: SharedStats;
  private readonly channels = new Map<string, ChannelRef>();
  private readonly epochSeed = randomBytes(6).toString('base64url');
  private epochSeq = 0;
  private handler: BrokerHandler | null = null;
  private repairTimer: NodeJS.Timeout | null = null;
  private closed = false;
  /** Why the last Redis call failed; null once one succeeded again. */
  private failure: string | null = null;
  /** When Redis was found unreachable (logged once); null while it answers. */
  private lostAt: number | null = null;

  constructor(options: RedisBrokerOptions) {
    this.options = resolveRedisOptions(options);
    const o = this.options;
    this.keys = new RedisKeys(o.prefix);
    const scripts = loadLuaScripts();
    this.publishScript = new LuaScript(scripts.publish);
    this.historyScript = new LuaScript(scripts.history);
    this.touchScript = new LuaScript(scripts.touch);
    this.emptyRooms = new EmptyRooms(
      async (room) =>
        Number(
          await this.touchScript.run(this.cmd, [this.keys.roomMeta(room)], [o.presenceTtlMs]),
        ) === 1,
      o.presenceTtlMs,
    );
    this.link = createLink(
      {
        url: o.url,
        cluster: o.cluster,
        sentinels: o.sentinels,
        masterName: o.masterName,
        commandTimeoutMs: o.commandTimeoutMs,
        connectTimeoutMs: o.connectTimeoutMs,
        name: `barrage:${o.nodeId}`,
      },
      {
        message: (channel, payload) => this.onMessage(channel, payload),
        subscriberReady: () => this.onSubscriberReady(),
        subscriberLost: () => this.onSubscriberLost(),
      },
    );
    this.cmd = this.link.cmd;
    this.subs = new Subscriptions(this.link, (channels) => this.onConfirmed(channels));
    this.feed = new RoomFeed({
      fetchSince: (room, epoch, offset) => this.read({ room, since: { epoch, offset } }, false),
      // A throwing handler must not break the subscriber connection's reader.
      deliver: (room, offset, line) => {
        try {
          this.handler?.onPublication(room, offset, line);
        } catch {}
      },
      resync: (room) => {
        try {
          this.handler?.onResync?.(room);
        } catch {}
      },
      rolledBack: (room, epoch) => {
        this.call(() =>
          this.forgetScript.run(
            this.cmd,
            [this.keys.roomMeta(room), this.keys.roomStream(room)],
            [epoch],
          ),
        ).catch(() => {}); // Redis away again: the next catch-up finds the same and retries
      },
    });
    this.pushes = new PushRequests(o.pushTimeoutMs);
    this.presence = new Presence(this.cmd, this.keys, o.nodeId, o.presenceTtlMs);
    this.stats = new SharedStats(this.cmd, this.keys, o.nodeId, o.presenceTtlMs);
    this.moderation = new RedisModeration(this.cmd, this.keys, (c, m) => this.link.publish(c, m));
  }

  /** This broker's node id. */
  get nodeId(): string {
    return this.options.nodeId;
  }

  async start(handler: BrokerHandler): Promise<void> {
    this.handler = handler;
    try {
      await this.connect();
      await Promise.all([
        this.want(this.keys.allChannel, { kind: 'all' }),
        this.want(this.keys.replyChannel(this.options.nodeId), { kind: 'reply' }),
        this.want(this.keys.moderationChannel, { kind: 'moderation' }),
      ]);
    } catch (err) {
      await this.link.close();
      throw this.unavailable(err);
    }
    this.repairTimer = setInterval(() => this.heartbeat(), HEARTBEAT_MS);
    this.repairTimer.unref();
    this.emptyRooms.start();
  }

  async publish(input: PublishInput): Promise<PublishResult> {
    const o = this.options;
    const room = input.room;
    const reply = (await this.call(() =>
      this.publishScript.run(
        this.cmd,
        [this.keys.roomMeta(room), this.keys.roomStream(room)],
        [
          input.parts.head,
          input.parts.tail,
          input.ts,
          o.historySize,
          o.historyTtlMs,
          o.metaTtlMs,
          this.newEpoch(),
          this.keys.roomChannel(room),
          this.link.publishCommand,
        ],
      ),
    )) as [number, string, number];
    if (Number(reply[2]) === 1) this.metaCreated++;
    return { offset: Number(reply[0]), epoch: String(reply[1]) };
  }

  history(request: HistoryRequest): Promise<HistoryResult> {
    return this.read(request, true);
  }

  /** Reads history; `settle`: align the room's feed with the answer (see RoomFeed.settle). */
  private async read(request: HistoryRequest, settle: boolean): Promise<HistoryResult> {
    const o = this.options;
    const since = request.since;
    const usable =
      since !== undefined &&
      typeof since.epoch === 'string' &&
      since.epoch.length > 0 &&
      Number.isSafeInteger(since.offset) &&
      since.offset >= 0;
    const limit = Math.min(Math.max(0, Math.floor(request.limit ?? 0)), o.historySize);
    const channel = this.keys.roomChannel(request.room);
    const held = this.subs.holds(channel);
    const epochBefore = this.subs.epoch;
    // Only a room this node is subscribed to (a member is here) gets an empty meta stored.
    const member = this.feed.has(request.room);
    const reply = (await this.call(() =>
      this.historyScript.run(
        this.cmd,
        [this.keys.roomMeta(request.room), this.keys.roomStream(request.room)],
        [
          member ? this.newEpoch() : '',
          o.metaTtlMs,
          usable ? since.epoch : '',
          usable ? since.offset : 0,
          Number.isFinite(limit) ? limit : 0,
          Date.now() - o.historyTtlMs,
          o.presenceTtlMs,
          this.newEpoch(),
        ],
        true,
      ),
    )) as [Buffer, number, number, number, ...Buffer[]];
    const result: HistoryResult = {
      epoch: reply[0].toString(),
      offset: Number(reply[1]),
      recovered: Number(reply[2]) === 1,
      lines: reply.slice(4) as Buffer[],
    };
    if (Number(reply[3]) === 1) this.metaCreated++;
    if (result.offset === 0 && member && this.feed.has(request.room))
      this.emptyRooms.hold(request.room);
    // Read while the room's subscription was held throughout: the feed and the answer agree.
    if (settle && held && this.subs.epoch === epochBefore && this.subs.holds(channel)) {
      await this.feed.settle(request.room, result.epoch, result.offset, o.commandTimeoutMs);
    }
    return result;
  }

  async subscribeRoom(room: string): Promise<void> {
    this.feed.add(room);
    await this.want(this.keys.roomChannel(room), { kind: 'room', room });
  }

  async unsubscribeRoom(room: string): Promise<void> {
    this.feed.remove(room);
    this.emptyRooms.release(room);
    await this.unwant(this.keys.roomChannel(room));
  }

  async subscribeUser(userId: string): Promise<void> {
    await this.want(this.keys.userChannel(userId), { kind: 'user', userId });
  }

  async unsubscribeUser(userId: string): Promise<void> {
    await this.unwant(this.keys.userChannel(userId));
  }

  async push(target: PushTarget, event: string, line: Buffer): Promise<number> {
    const id = this.pushes.begin();
    const header =
      target.kind === 'user'
        ? { r: id, n: this.options.nodeId, e: event, u: target.userId }
        : { r: id, n: this.options.nodeId, e: event };
    const channel =
      target.kind === 'user' ? this.keys.userChannel(target.userId) : this.keys.allChannel;
    let receivers: number;
    try {
      receivers = await this.call(() => this.link.publish(channel, encodePush(header, line)));
    } catch (err) {
      this.pushes.cancel(id);
      throw err;
    }
    return await this.pushes.wait(id, receivers);
  }

  async reportOnline(counts: ReadonlyMap<string, number>): Promise<void> {
    await this.call(() => this.presence.report(counts));
  }

  async remoteOnline(rooms: readonly string[]): Promise<Map<string, number>> {
    return await this.call(() => this.presence.remote(rooms));
  }

  /** Stores this node's stats report for the other nodes (expires after `presenceTtlMs`). */
  async shareStats(report: string): Promise<void> {
    await this.call(() => this.stats.share(report));
  }

  /** The other live nodes' latest stats reports. */
  async clusterStats(): Promise<string[]> {
    return await this.call(() => this.stats.others());
  }

  roomState(): BrokerStats {
    return { streams: this.feed.size, streamsCreated: this.metaCreated };
  }

  /**
   * Not ok while a connection is down, while the last Redis call failed (a hung Redis keeps
   * its TCP connection; a PING every second notices it within the command timeout), or while
   * a wanted channel has not been confirmed for `SUBSCRIBE_GRACE_MS` (a subscriber connection
   * that is up but lost or was refused its subscriptions delivers nothing).
   */
  health(): BrokerHealth {
    if (this.closed) return { ok: false, detail: 'closed' };
    if (!this.handler) return { ok: false, detail: 'not started' };
    const link = this.link.health();
    if (!link.ok) return link;
    if (this.failure !== null) return { ok: false, detail: this.failure };
    const { channels, forMs } = this.subs.unheld();
    if (forMs < SUBSCRIBE_GRACE_MS) return link;
    return {
      ok: false,
      detail: `redis subscriber: ${channels} channel(s) not subscribed for ${forMs} ms`,
    };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.repairTimer) clearInterval(this.repairTimer);
    this.repairTimer = null;
    this.emptyRooms.stop();
    this.pushes.finishAll();
    // Best effort: our presence and stats go at once instead of after their TTL.
    // Bounded like every call (ioredis' own timeout starts only when a command is written).
    await this.call(() => this.stats.clear()).catch(() => {});
    await this.call(() => this.presence.clear()).catch(() => {});
    this.handler = null;
    await this.link.close();
  }

  /** Connects, naming the cause when Redis cannot be reached or the database cannot be used. */
  private async connect(): Promise<void> {
    try {
      await this.link.connect(this.options.connectTimeoutMs);
    } catch (err) {
      if (err instanceof LinkRefused) {
        throw new BrokerUnavailableError(`Redis at ${this.link.where}: ${err.message}`);
      }
      const cause = this.link.connectionError ?? causeOf(err);
      throw new BrokerUnavailableError(
        `the broker is unreachable: cannot connect to ${this.link.where} (${cause})`,
      );
    }
  }

  /** Maps a failure to the product's words, naming where Redis is and why it failed. */
  private unavailable(err: unknown): BrokerUnavailableError {
    if (err instanceof BrokerUnavailableError) return err;
    const message = String((err as Error)?.message ?? err);
    const where = this.link.where;
    if (err instanceof LinkTimeout || /timed out/i.test(message)) {
      return new BrokerUnavailableError(
        `the broker timed out: no answer from ${where} within ${this.options.commandTimeoutMs} ms`,
      );
    }
    if (NOT_CONNECTED.test(message)) {
      const cause = this.link.connectionError;
      return new BrokerUnavailableError(
        `the broker is unreachable: no connection to ${where}${cause ? ` (${cause})` : ''}`,
      );
    }
    if (NOT_SERVING.test(message)) {
      return new BrokerUnavailableError(
        `the broker is failing over: ${where} cannot serve yet (${message.split('\n')[0]})`,
      );
    }
    return new BrokerUnavailableError(`the broker failed: ${where}: ${message.split('\n')[0]}`);
  }

  /**
   * Runs a Redis call within the command timeout, records its outcome for health() and the
   * lost/back log lines, and maps failures to unavailable. The bound is ours, from the call's
   * start: ioredis' own timeout starts only when the command is written, and with auto-pipelining
   * a command waits for the previous pipeline to the same node, so against a black-holed Redis it
   * would fail only after two timeouts.
   */
  private async call<T>(fn: () => Promise<T>): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const ms = this.options.commandTimeoutMs;
    try {
      const value = await Promise.race([
        fn(),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new LinkTimeout(`no answer within ${ms} ms`)), ms);
        }),
      ]);
      this.failure = null;
      this.reachable();
      return value;
    } catch (err) {
      const e = this.unavailable(err);
      this.failure = e.message;
      if (!/^the broker failed/.test(e.message)) this.unreachable(e.message);
      throw e;
    } finally {
      clearTimeout(timer);
    }
  }

  /** One warning per outage. */
  private unreachable(why: string): void {
    if (this.lostAt !== null || this.closed) return;
    this.lostAt = Date.now();
    this.options.log?.warn(
      { redis: this.link.where, err: why },
      'redis lost: publishes and joins are refused until it is back',
    );
  }

  /** One line when Redis answers again after an outage. */
  private reachable(): void {
    if (this.lostAt === null) return;
    const downMs = Date.now() - this.lostAt;
    this.lostAt = null;
    this.options.log?.info({ redis: this.link.where, downMs }, 'redis back');
  }

  private heartbeat(): void {
    if (this.closed) return;
    this.call(() => this.link.ping(this.options.commandTimeoutMs)).catch(() => {});
    this.repair();
  }

  private newEpoch(): string {
    return `${this.epochSeed}${(++this.epochSeq).toString(36)}`;
  }

  private async want(channel: string, ref: ChannelRef): Promise<void> {
    this.channels.set(channel, ref);
    await this.subs.want(channel);
  }

  private async unwant(channel: string): Promise<void> {
    this.channels.delete(channel);
    try {
      await this.subs.unwant(channel);
    } catch {
      // Not wanted any more: the repair loop or the next reconnect settles it.
    }
  }

  private onMessage(channelBytes: Buffer, payload: Buffer): void {
    const ref = this.channels.get(channelBytes.toString());
    if (!ref || !this.handler) return;
    if (ref.kind === 'room') {
      const frame = decodeRoomFrame(payload);
      if (frame) this.feed.onMessage(ref.room, frame.offset, frame.epoch, frame.line);
    } else if (ref.kind === 'reply') {
      const reply = decodeReply(payload);
      if (reply) this.pushes.reply(reply.requestId, reply.delivered);
    } else if (ref.kind === 'moderation') this.moderation.onMessage(payload);
    else {
      this.onPushFrame(ref, payload);
    }
  }

  private onPushFrame(ref: ChannelRef, payload: Buffer): void {
    const push = decodePush(payload);
    if (!push || !this.handler) return;
    const { header, line } = push;
    const target: PushTarget =
      ref.kind === 'user' ? { kind: 'user', userId: ref.userId } : { kind: 'all' };
    let delivered = 0;
    try {
      delivered = this.handler.onPush(target, header.e, line);
    } catch {
      delivered = 0; // the handler's failure must not stop the reply
    }
    if (header.n === this.options.nodeId) {
      this.pushes.reply(header.r, delivered);
    } else {
      this.link
        .publish(this.keys.replyChannel(header.n), encodeReply(header.r, delivered))
        .catch(() => {}); // the requester times out and counts without us
    }
  }

  /** Channels confirmed by Redis: rooms whose subscription had been lost catch up now. */
  private onConfirmed(channels: readonly string[]): void {
    for (const channel of channels) {
      const ref = this.channels.get(channel);
      if (ref?.kind === 'room') this.feed.recover(ref.room);
    }
  }

  private onSubscriberLost(): void {
    this.feed.markAllStale();
    this.subs.lost();
  }

  private onSubscriberReady(): void {
    // The loss was seen first (standalone 'close', Cluster '-subscriber') and marked every channel
    // not held: subscribing again now (idempotent in Cluster mode, where ioredis restores its
    // own) tells exactly when each room is back, and its catch-up starts from there.
    this.repair();
  }

  private repair(): void {
    if (this.closed || !this.subs.pending) return;
    this.subs.flush().catch(() => {}); // retried on the next tick or reconnect
  }
}
