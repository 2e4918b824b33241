import { TokenBucket } from '../session/index.js';
import type { Refusal } from './handshake.js';

/** The limits every transport's connections count against together. */
export interface ConnectionGateOptions {
  /** Connections this node accepts, WebSocket and SSE together. */
  maxConnections: number;
  /** Connections one IP may hold, WebSocket and SSE together. */
  maxConnectionsPerIp: number;
  /** Seconds a refused client is told to wait (Retry-After). */
  retryAfterSec: number;
  /** New connections admitted per second, and at once above that. */
  admissionRate: number;
  admissionBurst: number;
}

/**
 * One account of the node's connections for every transport (WebSocket, SSE): the node cap, the
 * per-IP cap, the admission pace and shutdown. A transport asks `refusal` first, `reserve`s a slot
 * while it authenticates, then `opened` or `release`, and `closed` when the connection ends.
 */
export class ConnectionGate {
  private readonly perIp = new Map<string, number>();
  private readonly admissions: TokenBucket;
  private pending = 0;
  private open = 0;
  private accepting = true;

  constructor(private readonly options: ConnectionGateOptions) {
    this.admissions = new TokenBucket(options.admissionRate, options.admissionBurst, Date.now());
  }

  /** Connections open now, every transport. */
  get connections(): number {
    return this.open;
  }

  /** Refuses every new connection from now on (shutdown). */
  stopAccepting(): void {
    this.accepting = false;
  }

  /** Why a new connection from `ip` is refused: shutdown, node cap, per-IP cap; else null. */
  refusal(ip: string): Refusal | null {
    const headers = { 'Retry-After': String(this.options.retryAfterSec) };
    if (!this.accepting) return { status: 503, message: 'shutting down', headers };
    if (this.open + this.pending >= this.options.maxConnections) {
      return { status: 503, message: 'server full', headers };
    }
    if ((this.perIp.get(ip) ?? 0) >= this.options.maxConnectionsPerIp) {
      return { status: 429, message: 'too many connections from this address', headers };
    }
    return null;
  }

  /** Whether the admission pace lets one more in now (a storm is spread, not swallowed). */
  admit(): boolean {
    return this.admissions.take(Date.now());
  }

  /** Holds a slot for a connection being set up. */
  reserve(ip: string): void {
    this.pending++;
    this.count(ip, 1);
  }

  /** Gives a reserved slot back (the setup failed). */
  release(ip: string): void {
    this.pending--;
    this.count(ip, -1);
  }

  /** A reserved slot became an open connection. */
  opened(): void {
    this.pending--;
    this.open++;
  }

  /** An open connection ended. */
  closed(ip: string): void {
    this.open--;
    this.count(ip, -1);
  }

  private count(ip: string, delta: number): void {
    const n = (this.perIp.get(ip) ?? 0) + delta;
    if (n <= 0) this.perIp.delete(ip);
    else this.perIp.set(ip, n);
  }
}
