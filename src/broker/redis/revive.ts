/**
 * Connections ioredis gave up on, connected again. ioredis ends a connection for good (status
 * `end`, no retry) when its connector fails instead of its socket. Under Sentinel that happens when
 * a `+switch-master` notice (failoverDetector) arrives while the connection is asking the Sentinels
 * for the primary: the lookup is cut short with "Connection is closed." and every later command is
 * refused (ioredis #1683). A failover under load hits that window.
 */
import type { Redis } from 'ioredis';

/** Wait before connecting again a connection ioredis gave up on, ms. */
const REVIVE_MS = 200;

export class Reviver {
  private stopped = false;
  private readonly pending = new Map<Redis, NodeJS.Timeout>();

  /** `onError` hears a failed attempt; the attempt's own `end` brings the client back here. */
  constructor(private readonly onError: (err: unknown) => void) {}

  /** Connects `client` again whenever it ends, until `stop`. */
  watch(client: Redis): void {
    client.on('end', () => this.revive(client));
  }

  /** Cancels pending attempts; no more are made. */
  stop(): void {
    this.stopped = true;
    for (const timer of this.pending.values()) clearTimeout(timer);
    this.pending.clear();
  }

  private revive(client: Redis): void {
    if (this.stopped || this.pending.has(client)) return;
    const timer = setTimeout(() => {
      this.pending.delete(client);
      if (this.stopped || client.status !== 'end') return;
      client.connect().catch(this.onError);
    }, REVIVE_MS);
    timer.unref();
    this.pending.set(client, timer);
  }
}
