import { WebSocket } from 'ws';
import type { Transport } from '../session/index.js';

// One options object for every send: text frame, no compression (permessage-deflate is off).
const TEXT = { binary: false, compress: false, fin: true } as const;

/**
 * A `ws` socket as a session's Transport. A server-initiated close destroys the socket after a
 * grace period, so a client that stopped reading cannot hold its send buffer for ws's 30 s.
 */
export class WsTransport implements Transport {
  constructor(
    private readonly ws: WebSocket,
    private readonly closeGraceMs: number,
  ) {}

  send(frame: Buffer): boolean {
    // ws would count a frame sent after the closing handshake began as buffered, forever.
    if (this.ws.readyState !== WebSocket.OPEN) return false;
    this.ws.send(frame, TEXT);
    return true;
  }

  get bufferedAmount(): number {
    return this.ws.bufferedAmount;
  }

  ping(): void {
    this.ws.ping();
  }

  close(code: number, reason: string): void {
    this.ws.close(code, reason);
    const ws = this.ws;
    setTimeout(() => ws.terminate(), this.closeGraceMs).unref();
  }

  terminate(): void {
    this.ws.terminate();
  }
}
