/**
 * The Redis connections of one broker, standalone, Sentinel or Cluster, behind one small surface.
 *
 * Why ioredis rather than node-redis: one client covers the three modes we need. ioredis 5 has
 * Redis Cluster support with slot routing of EVALSHA by key, and since 5.x sharded pub/sub in
 * Cluster mode (`shardedSubscribers: true`: one subscriber connection per master, SSUBSCRIBE routed
 * by the channel's slot, `smessageBuffer` events, resubscription after topology changes). It
 * follows a Sentinel-managed primary through failovers (`sentinels`, `failoverDetector`). It also
 * gives buffer replies (`messageBuffer`, `callBuffer`) so payloads never become JS strings.
 *
 * Failure policy: no offline queue and no retry of a command in flight (`enableOfflineQueue:
 * false`, `maxRetriesPerRequest: 0`, `autoResendUnfulfilledCommands: false`) plus a command
 * timeout, so a command fails fast while Redis is away and is never sent twice. Connections
 * themselves reconnect forever with a capped backoff. Commands issued in one tick are sent as one
 * pipeline (`enableAutoPipelining`): about +30% publish throughput in our measurement.
 *
 * Ended connections: ioredis gives up on a connection for good in one Sentinel failover race; the
 * link connects such a connection again for as long as it is open (revive.ts).
 *
 * Dead connections: a peer that vanished without a RST (a black hole, a host gone) leaves the TCP
 * connection open. The heartbeat PINGs every connection; one that leaves `DEAD_AFTER` PINGs in a
 * row unanswered is dropped and reconnected. TCP keepalive (`keepAlive`) covers idle sockets too.
 */
import { Cluster, Redis, type RedisOptions } from 'ioredis';
import type { BrokerHealth } from '../types.js';
import { redactUrl, redisDatabase } from './options.js';
import { Reviver } from './revive.js';

/** What the link reports to its broker. */
export interface LinkEvents {
  /** A pub/sub message, channel and payload as received. */
  message(channel: Buffer, payload: Buffer): void;
  /**
   * The subscriber connection is (again) ready. Standalone: it holds no subscriptions (they are
   * not restored automatically). Cluster: ioredis restored its own; the broker asks again anyway.
   */
  subscriberReady(): void;
  /** The subscriber connection (or one shard's) went away: messages may be missed. */
  subscriberLost(): void;
}

/** Connections to Redis: commands, scripts and pub/sub. */
export interface RedisLink {
  /** `spublish` in Cluster mode (sharded pub/sub), `publish` otherwise. */
  readonly publishCommand: 'publish' | 'spublish';
  /** The command connection (standalone) or the Cluster client. */
  readonly cmd: Redis | Cluster;
  /** Where Redis is, for messages and logs (never with a password). */
  readonly where: string;
  /** Why the last connection attempt failed, in words (`connection refused`), or null. */
  readonly connectionError: string | null;
  /** Connects, or rejects when Redis does not answer within `timeoutMs`. */
  connect(timeoutMs: number): Promise<void>;
  subscribe(channels: readonly string[]): Promise<void>;
  unsubscribe(channels: readonly string[]): Promise<void>;
  /** Publishes; resolves with the number of subscribers (nodes) that received it. */
  publish(channel: string, payload: Buffer | string): Promise<number>;
  /**
   * PINGs every connection, each within `timeoutMs`; rejects naming those that did not answer.
   * A connection silent `DEAD_AFTER` times in a row is dropped (and reconnects).
   */
  ping(timeoutMs: number): Promise<void>;
  health(): BrokerHealth;
  close(): Promise<void>;
}

/** How to reach Redis and how patient to be. */
export interface LinkOptions {
  url: string;
  cluster: string[] | null;
  sentinels: string[] | null;
  masterName: string;
  commandTimeoutMs: number;
  connectTimeoutMs: number;
  /** Connection name prefix shown in CLIENT LIST. */
  name: string;
}

/** Unanswered heartbeat PINGs in a row after which a connection is taken for dead. */
const DEAD_AFTER = 3;
/** TCP keepalive: first probe after this much idle time, ms. */
const KEEPALIVE_MS = 5000;

const retry = (times: number) => Math.min(50 * times, 1000);

/** A socket or Redis error in words a user can act on. */
export function causeOf(err: unknown): string {
  const e = err as { code?: string; message?: string; hostname?: string };
  switch (e?.code) {
    case 'ECONNREFUSED':
      return 'connection refused';
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return `unknown host${e.hostname ? ` ${e.hostname}` : ''}`;
    case 'ETIMEDOUT':
      return 'connect timed out';
    case 'ECONNRESET':
      return 'connection reset';
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return 'host unreachable';
    default:
      return String(e?.message ?? err);
  }
}

/**
 * Whether an 'error' event tells why a connection failed: a socket error (with a code) or Redis'
 * own refusal (e.g. WRONGPASS). ioredis also emits its bookkeeping ("Stream isn't writeable"),
 * which says nothing a user can act on.
 */
function isCause(err: unknown): boolean {
  const e = err as { code?: unknown; name?: string };
  return typeof e?.code === 'string' || e?.name === 'ReplyError';
}

function hostPort(address: string): { host: string; port: number } {
  const at = address.lastIndexOf(':');
  return { host: address.slice(0, at), port: Number(address.slice(at + 1)) };
}

function baseOptions(o: LinkOptions): RedisOptions {
  return {
    lazyConnect: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    autoResendUnfulfilledCommands: false,
    commandTimeout: o.commandTimeoutMs,
    connectTimeout: o.connectTimeoutMs,
    keepAlive: KEEPALIVE_MS,
    retryStrategy: retry,
    // A primary demoted under us (Sentinel failover, partition): reconnect to the new one. The
    // refused command itself is not resent.
    reconnectOnError: (err) => (err.message.startsWith('READONLY') ? 1 : false),
  };
}

async function withTimeout<T>(what: string, p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new LinkTimeout(`${what}: no answer within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([p, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** A bound of ours expired (not an ioredis error). */
export class LinkTimeout extends Error {}

/** Redis answered, but refused what the configuration asks (e.g. a database that does not exist). */
export class LinkRefused extends Error {}

/** Counts unanswered PINGs per connection and drops a connection silent for too long. */
class Silence {
  private readonly counts = new WeakMap<Redis, number>();

  /** PINGs `client`; on no answer counts it and, at `DEAD_AFTER`, calls `drop`. */
  async ping(label: string, client: Redis, timeoutMs: number, drop: () => void): Promise<void> {
    try {
      await withTimeout(label, client.ping(), timeoutMs);
      this.counts.set(client, 0);
    } catch (err) {
      const timedOut = err instanceof LinkTimeout || /timed out/i.test((err as Error).message);
      const n = timedOut ? (this.counts.get(client) ?? 0) + 1 : 0;
      this.counts.set(client, n >= DEAD_AFTER ? 0 : n);
      if (n >= DEAD_AFTER && client.status === 'ready') drop();
      throw new Error(`${label}: ${timedOut ? `no answer within ${timeoutMs} ms` : causeOf(err)}`);
    }
  }
}

/** Creates the link for the configured mode (nothing connects before `connect`). */
export function createLink(o: LinkOptions, events: LinkEvents): RedisLink {
  return o.cluster ? new ClusterLink(o, o.cluster, events) : new StandaloneLink(o, events);
}

/**
 * One command connection and one subscriber connection to a standalone Redis, or to the primary
 * that Redis Sentinel names (each connection asks the Sentinels, and again after a failover).
 */
class StandaloneLink implements RedisLink {
  readonly publishCommand = 'publish' as const;
  readonly cmd: Redis;
  readonly where: string;
  private readonly sub: Redis;
  private readonly silence = new Silence();
  private lastError: string | null = null;
  /** Connects again the connections ioredis gave up on. */
  private readonly reviver = new Reviver((err) => {
    if (isCause(err)) this.lastError = causeOf(err);
  });
  /** The database the URL names (0 under Sentinel). */
  private readonly db: number;

  constructor(o: LinkOptions, events: LinkEvents) {
    this.db = o.sentinels ? 0 : redisDatabase(o.url);
    const base = baseOptions(o);
    const sentinel = o.sentinels
      ? {
          sentinels: o.sentinels.map(hostPort),
          name: o.masterName,
          sentinelCommandTimeout: o.commandTimeoutMs,
          // Told of +switch-master by the Sentinels: reconnect at once, not at the next error.
          failoverDetector: true,
        }
      : null;
    this.where = sentinel
      ? `primary "${o.masterName}" of Sentinels ${o.sentinels!.join(',')}`
      : redactUrl(o.url);
    const make = (extra: RedisOptions) =>
      sentinel
        ? new Redis({ ...base, ...sentinel, ...extra })
        : new Redis(o.url, { ...base, ...extra });
    this.cmd = make({ connectionName: `${o.name}:cmd`, enableAutoPipelining: true });
    // We reconcile subscriptions ourselves (desired vs actual), so ioredis must not.
    this.sub = make({ connectionName: `${o.name}:sub`, autoResubscribe: false });
    // Errors surface through failed commands and health(); the listeners also keep the cause.
    for (const client of [this.cmd, this.sub]) {
      client.on('error', (err: Error) => {
        if (isCause(err)) this.lastError = causeOf(err);
      });
      this.reviver.watch(client);
    }
    this.cmd.on('ready', () => {
      this.lastError = null;
    });
    this.sub.on('messageBuffer', (channel: Buffer, payload: Buffer) =>
      events.message(channel, payload),
    );
    this.sub.on('ready', () => events.subscriberReady());
    this.sub.on('close', () => events.subscriberLost());
  }

  get connectionError(): string | null {
    return this.lastError;
  }

  async connect(timeoutMs: number): Promise<void> {
    await withTimeout(
      `Redis at ${this.where}`,
      Promise.all([this.cmd.connect(), this.sub.connect()]),
      timeoutMs,
    );
    if (this.db === 0) return;
    // ioredis selects the URL's database on connect, but reports a failure only as an 'error'
    // event and goes on in database 0: ask again, and refuse to start on a refusal.
    for (const client of [this.cmd, this.sub]) {
      try {
        await client.select(this.db);
      } catch (err) {
        throw new LinkRefused(`database ${this.db} cannot be used (${(err as Error).message})`);
      }
    }
  }

  async subscribe(channels: readonly string[]): Promise<void> {
    await this.sub.subscribe(...channels);
  }

  async unsubscribe(channels: readonly string[]): Promise<void> {
    await this.sub.unsubscribe(...channels);
  }

  async publish(channel: string, payload: Buffer | string): Promise<number> {
    return await this.cmd.publish(channel, payload);
  }

  async ping(timeoutMs: number): Promise<void> {
    const results = await Promise.allSettled(
      (
        [
          ['command connection', this.cmd],
          ['subscriber connection', this.sub],
        ] as const
      ).map(([label, client]) =>
        this.silence.ping(label, client, timeoutMs, () => client.disconnect(true)),
      ),
    );
    const failed = results.filter((r) => r.status === 'rejected');
    if (failed.length > 0) {
      throw new Error(failed.map((r) => (r as PromiseRejectedResult).reason.message).join('; '));
    }
  }

  health(): BrokerHealth {
    for (const [label, client] of [
      ['command connection', this.cmd],
      ['subscriber connection', this.sub],
    ] as const) {
      if (client.status !== 'ready') {
        const cause = this.lastError ? ` (${this.lastError})` : '';
        return { ok: false, detail: `Redis ${label} to ${this.where}: ${client.status}${cause}` };
      }
    }
    return { ok: true };
  }

  async close(): Promise<void> {
    this.reviver.stop();
    for (const client of [this.cmd, this.sub]) {
      client.removeAllListeners('ready');
      client.removeAllListeners('close');
      client.disconnect();
    }
  }
}

/** A Cluster client whose sharded subscribers (one per master) carry every channel we use. */
class ClusterLink implements RedisLink {
  readonly publishCommand = 'spublish' as const;
  readonly cmd: Cluster;
  readonly where: string;
  private readonly silence = new Silence();
  private lastError: string | null = null;

  constructor(o: LinkOptions, seeds: string[], events: LinkEvents) {
    this.where = `Redis Cluster ${seeds.join(',')}`;
    this.cmd = new Cluster(seeds.map(hostPort), {
      lazyConnect: true,
      shardedSubscribers: true,
      enableOfflineQueue: false,
      enableAutoPipelining: true,
      // ioredis' auto-pipeline groups commands by node and pins a whole pipeline to the
      // connection of its first command, and it does not exclude the sharded (un)subscribe
      // commands: an SSUBSCRIBE issued in the same tick as a publish either puts the master's
      // command connection into subscriber mode (every later command to that master refused with
      // "Connection in subscriber mode", until the connection drops) or sends the publish down
      // the sharded subscriber connection. Seen at start (joins while subscribing) and after a
      // failover (resubscribing while publishing). SSUBSCRIBE / SUNSUBSCRIBE go unpipelined.
      autoPipeliningIgnoredCommands: ['ssubscribe', 'sunsubscribe'],
      clusterRetryStrategy: retry,
      redisOptions: { ...baseOptions(o), connectionName: o.name },
    });
    this.cmd.on('error', (err: Error) => {
      if (isCause(err)) this.lastError = causeOf(err);
    });
    this.cmd.on('node error', (err: Error, key: string) => {
      if (isCause(err)) this.lastError = `${key}: ${causeOf(err)}`;
    });
    this.cmd.on('ready', () => {
      this.lastError = null;
    });
    this.cmd.on('smessageBuffer', (channel: Buffer, payload: Buffer) =>
      events.message(channel, payload),
    );
    // A sharded subscriber connection ended (or lost its slots): the group drops it ('-subscriber')
    // before creating its replacement and resubscribing ('subscribersReady').
    this.cmd.on('-subscriber', () => events.subscriberLost());
    this.cmd.on('subscribersReady', () => events.subscriberReady());
  }

  get connectionError(): string | null {
    return this.lastError;
  }

  async connect(timeoutMs: number): Promise<void> {
    await withTimeout(this.where, this.cmd.connect(), timeoutMs);
  }

  async subscribe(channels: readonly string[]): Promise<void> {
    // ioredis wants the channels of one SSUBSCRIBE on one slot: send one per channel.
    await Promise.all(channels.map((c) => this.cmd.ssubscribe(c)));
  }

  async unsubscribe(channels: readonly string[]): Promise<void> {
    await Promise.all(channels.map((c) => this.cmd.sunsubscribe(c)));
  }

  async publish(channel: string, payload: Buffer | string): Promise<number> {
    // A sharded channel lives on one shard: the count is every node subscribed to it.
    return Number(await this.cmd.spublish(channel, payload));
  }

  /** PINGs every master's command connection (the masters hold every key and channel). */
  async ping(timeoutMs: number): Promise<void> {
    if (this.cmd.status !== 'ready') throw new Error(`${this.where}: ${this.cmd.status}`);
    const masters = this.cmd.nodes('master');
    const results = await Promise.allSettled(
      masters.map((node) =>
        this.silence.ping(
          `Redis Cluster master ${node.options.host}:${node.options.port}`,
          node,
          timeoutMs,
          // Pool connections do not reconnect themselves: the Cluster client refreshes its
          // slots and opens a new one where needed.
          () => node.disconnect(),
        ),
      ),
    );
    const failed = results.filter((r) => r.status === 'rejected');
    if (failed.length > 0) {
      throw new Error(failed.map((r) => (r as PromiseRejectedResult).reason.message).join('; '));
    }
  }

  health(): BrokerHealth {
    if (this.cmd.status !== 'ready') {
      const cause = this.lastError ? ` (${this.lastError})` : '';
      return { ok: false, detail: `${this.where}: ${this.cmd.status}${cause}` };
    }
    const byKey = new Map<string, Redis>(
      this.cmd.nodes('all').map((n) => [`${n.options.host}:${n.options.port}`, n]),
    );
    // Every master the slot map names (until a refresh replaces it): a dead one has already left
    // the client's pool, which then shows only the healthy ones.
    const masters = new Set<string>();
    for (const owners of this.cmd.slots) if (owners?.[0]) masters.add(owners[0]);
    for (const key of masters) {
      const status = byKey.get(key)?.status ?? 'unreachable';
      // `wait`: not connected yet because nothing was asked of it (lazy), not a failure.
      if (status === 'ready' || status === 'wait') continue;
      const cause = this.lastError?.startsWith(key) ? ` (${this.lastError})` : '';
      return { ok: false, detail: `Redis Cluster master ${key}: ${status}${cause}` };
    }
    return { ok: true };
  }

  async close(): Promise<void> {
    this.cmd.removeAllListeners('subscribersReady');
    this.cmd.removeAllListeners('-subscriber');
    this.cmd.disconnect();
  }
}
