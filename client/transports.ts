import type { BarrageError } from './errors.js';
import { SseSocket } from './sse-socket.js';
import type { WebSocketConstructor, WebSocketLike } from './types.js';

/** A way to reach the server: a WebSocket, or Server-Sent Events plus POST. */
export type TransportName = 'websocket' | 'sse';

/** WebSocket attempts that close before `welcome` in a row before the client falls back. */
const MISSES_BEFORE_FALLBACK = 2;

/**
 * Which transport the next connection uses. The client starts with the first of `order` and moves
 * to the next when the current one cannot open: at once when the server or a proxy refused it
 * (an HTTP status other than 404, or a browser that hides why), after two attempts in a row that
 * opened but closed before `welcome`. A server that is down (refused, host not found) or a wrong
 * path (404) is not a reason: the next transport would not fare better, and a fallback that meets
 * one starts over with the first. When the last transport is blocked too, the next attempt starts
 * over with the first. Once connected, a transport stays until it fails that way.
 */
export class TransportPlan {
  private index = 0;
  private misses = 0;

  constructor(
    readonly order: readonly TransportName[],
    private readonly WS: WebSocketConstructor | undefined,
    private readonly sseUrl: string,
  ) {
    if (order.length === 0) throw new TypeError('transports: name at least one transport');
    for (const t of order) {
      if (t !== 'websocket' && t !== 'sse') {
        throw new TypeError(`transports: unknown transport "${String(t)}" (websocket, sse)`);
      }
    }
    if (!WS && order.length === 1 && order[0] === 'websocket') {
      throw new TypeError('No WebSocket: pass options.WebSocket (in Node 20: ws)');
    }
    if (!WS) this.order = order.filter((t) => t !== 'websocket');
  }

  /** The transport of the current (or next) connection. */
  get current(): TransportName {
    return this.order[this.index]!;
  }

  /** Opens a connection over the current transport. */
  create(url: string): WebSocketLike {
    if (this.current === 'sse') return new SseSocket({ sseUrl: this.sseUrl });
    return new this.WS!(url);
  }

  /**
   * A connection closed: `opened` when it reached `welcome` and auth, `failed` when the socket
   * never opened. True when the next attempt uses another transport.
   */
  closed(opened: boolean, failed: BarrageError | undefined): boolean {
    if (opened) {
      this.misses = 0;
      return false;
    }
    const last = this.index === this.order.length - 1;
    if (failed && !blocked(failed)) {
      // The server is down or the URL wrong: once it is back, the first transport is tried again.
      if (this.index === 0) return false;
      this.index = 0;
      return true;
    }
    if (!failed && ++this.misses < MISSES_BEFORE_FALLBACK) return false;
    this.misses = 0;
    if (last && this.index === 0) return false;
    this.index = last ? 0 : this.index + 1;
    return true;
  }
}

/** Whether a socket that never opened looks blocked (not a down server, not a wrong path). */
function blocked(err: BarrageError): boolean {
  return !/connection refused|host not found|HTTP 404|HTTP 401/.test(err.message);
}

/** The SSE endpoint beside a WebSocket URL: `ws://h/ws` → `http://h/sse`. */
export function sseUrlOf(wsUrl: string): string {
  const u = new URL('sse', wsUrl);
  u.protocol = u.protocol === 'wss:' ? 'https:' : 'http:';
  u.search = '';
  return u.toString();
}
