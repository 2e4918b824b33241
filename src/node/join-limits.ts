import { type Session, TokenBucket, takeToken } from '../session/index.js';

/** Bounds on room joins over time (not only on rooms held at once). */
export interface JoinLimits {
  /** Joins a second per connection (token bucket). */
  joinRate: number;
  /** Join burst per connection. */
  joinBurst: number;
  /** Joins a second from one client IP, all its connections together. */
  joinRatePerIp: number;
  /** Join burst from one client IP. */
  joinBurstPerIp: number;
}

interface IpBucket {
  bucket: TokenBucket;
  usedAt: number;
}

/** How often idle per-IP buckets are looked for, ms. */
const SWEEP_EVERY_MS = 10_000;

/**
 * Joins over time, per connection and per client IP. Joining and leaving made-up room names
 * costs the node and its broker work and, before a broker keeps nothing for empty rooms, state
 * (security.md, "room state flood"); `maxRoomsPerConnection` bounds only the rooms held at once.
 * Per-IP buckets are forgotten once they would be full again, so the map holds only the addresses
 * that joined recently.
 */
export class JoinLimiter {
  private readonly perIp = new Map<string, IpBucket>();
  private sweptAt = 0;

  constructor(private readonly limits: JoinLimits) {}

  /** Takes a join for the session: 0 when it may go, else about how long to wait, ms. */
  take(session: Session, now: number): number {
    const { joinRate, joinBurst, joinRatePerIp, joinBurstPerIp } = this.limits;
    if (now - this.sweptAt >= SWEEP_EVERY_MS) this.sweep(now);
    let ip = this.perIp.get(session.ip);
    if (!ip) {
      ip = { bucket: new TokenBucket(joinRatePerIp, joinBurstPerIp, now), usedAt: now };
      this.perIp.set(session.ip, ip);
    }
    // The connection's own bucket first: one greedy connection cannot drain its address's.
    // (Kept on the session as one number, not a bucket object in a map: see takeToken.)
    const own = takeToken(session.joinClock, now, joinRate, joinBurst);
    if (Number.isNaN(own)) return Math.ceil(1000 / joinRate);
    session.joinClock = own;
    ip.usedAt = now;
    if (!ip.bucket.take(now)) return Math.ceil(1000 / joinRatePerIp);
    return 0;
  }

  /** Addresses with a per-IP bucket (for tests). */
  get addresses(): number {
    return this.perIp.size;
  }

  private sweep(now: number): void {
    this.sweptAt = now;
    const refillMs = (this.limits.joinBurstPerIp / this.limits.joinRatePerIp) * 1000;
    for (const [ip, entry] of this.perIp) if (now - entry.usedAt >= refillMs) this.perIp.delete(ip);
  }
}
