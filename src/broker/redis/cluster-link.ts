import { Cluster, type Redis } from 'ioredis';
import type { BrokerHealth } from '../types.js';
import {
  baseOptions,
  causeOf,
  hostPort,
  isCause,
  type LinkEvents,
  type LinkOptions,
  type RedisLink,
  retry,
  Silence,
  withTimeout,
} from './link-base.js';

/** A Cluster client whose sharded subscribers (one per master) carry every channel we use. */
export class ClusterLink implements RedisLink {
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
