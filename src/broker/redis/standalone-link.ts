import { Redis, type RedisOptions } from 'ioredis';
import type { BrokerHealth } from '../types.js';
import {
  baseOptions,
  causeOf,
  hostPort,
  isCause,
  type LinkEvents,
  type LinkOptions,
  LinkRefused,
  type RedisLink,
  Silence,
  withTimeout,
} from './link-base.js';
import { redactUrl, redisDatabase } from './options.js';
import { Reviver } from './revive.js';

/**
 * One command connection and one subscriber connection to a standalone Redis, or to the primary
 * that Redis Sentinel names (each connection asks the Sentinels, and again after a failover).
 */
export class StandaloneLink implements RedisLink {
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
