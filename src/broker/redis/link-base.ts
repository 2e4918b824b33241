/**
 * What the Redis link's modes share (link.ts says why ioredis and how failures are handled): the
 * link's surface, the connection options, error wording and the heartbeat's silence count.
 */
import type { Cluster, Redis, RedisOptions } from 'ioredis';
import type { BrokerHealth } from '../types.js';

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

export const retry = (times: number) => Math.min(50 * times, 1000);

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
export function isCause(err: unknown): boolean {
  const e = err as { code?: unknown; name?: string };
  return typeof e?.code === 'string' || e?.name === 'ReplyError';
}

export function hostPort(address: string): { host: string; port: number } {
  const at = address.lastIndexOf(':');
  return { host: address.slice(0, at), port: Number(address.slice(at + 1)) };
}

export function baseOptions(o: LinkOptions): RedisOptions {
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

export async function withTimeout<T>(what: string, p: Promise<T>, ms: number): Promise<T> {
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
export class Silence {
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
