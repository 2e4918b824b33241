import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { type RawData, WebSocket, WebSocketServer } from 'ws';
import { type ClientIpResolver, createClientIpResolver } from '../auth/index.js';
import type { Logger } from '../log.js';
import type { Node } from '../node/index.js';
import { CLOSE } from '../protocol/index.js';
import { type Identity, type Session, TokenRefused } from '../session/index.js';
import type { ConnectionGate } from './connection-gate.js';
import { malformedUpgrade, type Refusal, refuse, tokenOf } from './handshake.js';
import { createOriginCheck } from './origin.js';
import { closeCodeOfWsError } from './protocol-errors.js';
import { DEFLATE_OPTIONS, hasBoundedOffer, negotiatedWindowBits } from './ws-deflate.js';
import { SharedFrames } from './ws-frames.js';
import { type WsOwner, WsTransport } from './ws-transport.js';

/**
 * Socket chunks of one unfinished frame ws may buffer: a 64 KiB frame in segments of 64 bytes,
 * far smaller than any real network sends. A frame trickled one byte per segment is closed.
 */
const MAX_BUFFERED_CHUNKS = 1024;

/** Options of the WebSocket edge. */
export interface GatewayOptions {
  /** The upgrade path. @default '/ws' */
  path: string;
  /** Largest accepted message (a fragmented one counts whole); over it ws closes with 1009. */
  maxFrameBytes: number;
  /** Frames one message may arrive in; past it ws closes with 1008 (fragment amplification). */
  maxFragments: number;
  /** Origin allowlist (see createOriginCheck). */
  origins: readonly string[];
  /** The client address of an upgrade (trusted proxies' headers). @default the TCP peer */
  clientIp?: ClientIpResolver;
  /** How long a closing socket may take before it is destroyed, ms. */
  closeGraceMs: number;
  /** Base back-off advertised to a client turned away for load, ms (jittered 0.5x to 1.5x). */
  reconnectDelayMs: number;
  /**
   * Smallest outgoing message compressed (once, shared) for clients that negotiate
   * permessage-deflate; 0: permessage-deflate is not offered. @default 0
   */
  compressMinBytes?: number;
}

/**
 * The WebSocket edge, and the only server part that imports `ws`: checks each upgrade (shape,
 * origin, caps, token) and answers refusals in plain HTTP before a WebSocket exists, then wraps
 * the socket as a Transport and hands it to the node.
 */
export class WsGateway implements WsOwner {
  private readonly wss: WebSocketServer;
  private readonly clientIp: ClientIpResolver;
  private readonly originAllowed: (origin: string | undefined, host: string | undefined) => boolean;
  /** Frames built once per payload for every socket (and compressed once where negotiated). */
  readonly frames: SharedFrames;
  /** How long a closing socket may take before it is destroyed, ms. */
  readonly closeGraceMs: number;
  /** The compression window each upgrade's response granted, read from ws's `headers` event. */
  private readonly windowBits = new WeakMap<IncomingMessage, number>();
  /** Connections turned away by the admission rate, closed with 1013 and a back-off. */
  deferred = 0;

  constructor(
    private readonly node: Node,
    private readonly options: GatewayOptions,
    private readonly log: Logger,
    /** The node's connection account, shared with the other transports. */
    private readonly gate: ConnectionGate,
  ) {
    const compressMinBytes = options.compressMinBytes ?? 0;
    this.wss = new WebSocketServer({
      noServer: true,
      maxPayload: options.maxFrameBytes,
      // Each kept fragment and each buffered socket chunk costs a Buffer object and pins the
      // chunk it came in: ws's defaults (16 384 fragments, 262 144 chunks) let a connection make
      // the node hold ~20x what it sent. Past either cap ws closes with 1008.
      maxFragments: options.maxFragments,
      maxBufferedChunks: MAX_BUFFERED_CHUNKS,
      // Offered only when outgoing messages are compressed; without context takeover on the
      // server's side, one compressed frame is valid for every socket (see ws-frames.ts).
      perMessageDeflate: compressMinBytes > 0 ? DEFLATE_OPTIONS : false,
      clientTracking: false,
      // Pings are answered by WsTransport.answerPing with ws's own bound (60 pending pongs): ws's
      // automatic pong costs every socket a closure and its context, used only by a pinging client.
      autoPong: false,
      WebSocket: FlushingWebSocket,
    });
    this.frames = new SharedFrames({ compressMinBytes });
    this.closeGraceMs = options.closeGraceMs;
    if (compressMinBytes > 0) {
      this.wss.on('headers', (headers, req) => {
        const line = headers.find((h) => /^sec-websocket-extensions:/i.test(h));
        this.windowBits.set(req, negotiatedWindowBits(line?.slice(line.indexOf(':') + 1)));
      });
    }
    this.wss.on('error', (err) => this.log.warn({ err: err.message }, 'websocket server error'));
    this.originAllowed = createOriginCheck(options.origins);
    this.clientIp = options.clientIp ?? createClientIpResolver([]);
  }

  /** The HTTP server's `upgrade` listener. */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    socket.on('error', destroySocket);
    const ip = this.clientIp(peerAddress(req.socket), (name) => req.headers[name]);
    const refusal = this.admission(req, ip);
    if (refusal) {
      refuse(socket, refusal);
      return;
    }
    if (!this.gate.admit()) {
      this.defer(req, socket, head);
      return;
    }
    this.gate.reserve(ip);
    const token = tokenOf(req.url);
    if (token === null) {
      this.accept(req, socket, head, ip, null);
      return;
    }
    this.node
      .authenticate(token, { connId: '', ip, identity: null })
      .then((identity) => {
        if (identity) {
          this.accept(req, socket, head, ip, identity);
          return;
        }
        this.release(ip);
        refuse(socket, { status: 401, message: 'invalid token' });
      })
      .catch((err: Error) => {
        this.release(ip);
        if (err instanceof TokenRefused) {
          refuse(socket, { status: 401, message: err.message });
          return;
        }
        this.log.error({ err: err.message }, 'authenticate hook failed');
        refuse(socket, { status: 500, message: 'authentication failed' });
      });
  }

  /**
   * Turns a connection away for load in a way a browser can read: the upgrade completes and the
   * socket is closed at once with 1013 and a jittered `retryAfterMs` in the reason (an HTTP 503's
   * Retry-After never reaches browser code). The SDK waits that long before it tries again.
   */
  private defer(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    this.deferred++;
    this.node.countClose(CLOSE.overloaded.code);
    this.dropUnboundedOffer(req);
    this.wss.handleUpgrade(req, socket, head, (ws) => {
      ws.on('error', () => {});
      const wait = Math.round(this.options.reconnectDelayMs * (0.5 + Math.random()));
      ws.close(CLOSE.overloaded.code, `overloaded; retryAfterMs=${wait}`);
      setTimeout(() => ws.terminate(), this.options.closeGraceMs).unref();
    });
  }

  /** Why an upgrade is refused, in order: shape, origin, shutdown, node cap, per-IP cap. */
  private admission(req: IncomingMessage, ip: string): Refusal | null {
    const malformed = malformedUpgrade(req, this.options.path);
    if (malformed) return malformed;
    if (!this.originAllowed(req.headers.origin, req.headers.host)) {
      return { status: 403, message: 'origin not allowed' };
    }
    return this.gate.refusal(ip);
  }

  private accept(
    req: IncomingMessage,
    socket: Duplex,
    head: Buffer,
    ip: string,
    identity: Identity | null,
  ): void {
    // ws destroys a socket that closed mid-handshake without calling back: release its slot then.
    let settled = false;
    const onEarlyClose = () => {
      if (settled) return;
      settled = true;
      this.release(ip);
    };
    socket.once('close', onEarlyClose);
    if (socket.destroyed) {
      onEarlyClose();
      return;
    }
    this.dropUnboundedOffer(req);
    this.wss.handleUpgrade(req, socket, head, (ws) => {
      settled = true;
      socket.off('close', onEarlyClose);
      this.open(ws, socket, this.windowBits.get(req) ?? 0, ip, identity);
    });
  }

  /** A client that will not let the server bound its compressor connects uncompressed. */
  private dropUnboundedOffer(req: IncomingMessage): void {
    const offer = req.headers['sec-websocket-extensions'];
    if (this.frames.compresses && offer !== undefined && !hasBoundedOffer(offer)) {
      delete req.headers['sec-websocket-extensions'];
    }
  }

  /**
   * Wires an upgraded socket to a new session. The listeners are module functions that find the
   * session through the socket's transport, not closures: closures made here would share a
   * context with the upgrade's request and head and keep them alive for the connection's life
   * (heap snapshots of 10 000 idle connections: ~1.5 KiB each). `on`, not `once`, for the close:
   * ws emits it once, and `once` costs a wrapper function and a state object per socket.
   */
  private open(
    ws: WebSocket,
    socket: Duplex,
    windowBits: number,
    ip: string,
    identity: Identity | null,
  ): void {
    this.gate.opened();
    // ws's own error listener destroys the socket from now on: one listener, not an array of two.
    socket.off('error', destroySocket);
    const transport = new WsTransport(ws, socket, this, windowBits);
    transport.link(this.node.connect(transport, ip, identity));
    const session = transport.session;
    this.log.debug({ connId: session.id, ip, userId: identity?.userId }, 'connection open');
    (ws as LinkedSocket)[LINK] = transport;
    ws.on('message', onMessage);
    // Protocol-level pings and pongs count as signs of life too.
    ws.on('pong', onPong);
    ws.on('ping', onPing);
    ws.on('error', onError);
    ws.on('close', onClose);
  }

  /** A frame arrived on a session's socket (called by its listener). */
  received(session: Session, data: RawData, isBinary: boolean): void {
    if (isBinary) session.closeWith(CLOSE.binaryFrame);
    else this.node.handleFrame(session, rawToString(data));
  }

  /** The session's socket reported an error (called by its listener). */
  failed(session: Session, err: Error): void {
    const code = closeCodeOfWsError(err);
    if (code !== null) session.markClosed(code);
    this.log.debug({ err: err.message, connId: session.id }, 'socket error');
  }

  /** The session's socket closed (called by its listener). */
  ended(session: Session, code: number): void {
    this.log.debug({ connId: session.id, code }, 'connection closed');
    this.gate.closed(session.ip);
    this.node.disconnect(session, code);
  }

  private release(ip: string): void {
    this.gate.release(ip);
  }
}

/** Where a socket keeps its transport (which knows the gateway and the session). */
const LINK = Symbol('barrage.link');
type LinkedSocket = WebSocket & { [LINK]: WsTransport };

function linkOf(ws: WebSocket): WsTransport {
  return (ws as LinkedSocket)[LINK];
}

/**
 * ws's socket, whose close first writes the replies its transport holds for the end of the turn
 * (turn-flush.ts). ws closes by itself in the middle of a read: on the client's close frame, or on
 * a protocol error, after the commands that came before it in the same read were answered; nothing
 * may follow its close frame, so the replies go out before it. A method of the class, not a
 * listener: no memory per connection. (A deferred socket has no transport.)
 */
class FlushingWebSocket extends WebSocket {
  override close(code?: number, data?: string | Buffer): void {
    (this as { [LINK]?: WsTransport })[LINK]?.flushTurn();
    super.close(code, data);
  }
}

function onMessage(this: WebSocket, data: RawData, isBinary: boolean): void {
  const link = linkOf(this);
  link.gateway.received(link.session, data, isBinary);
}

function onPong(this: WebSocket): void {
  linkOf(this).session.lastHeardAt = Date.now();
}

function onPing(this: WebSocket, data: Buffer): void {
  const link = linkOf(this);
  link.session.lastHeardAt = Date.now();
  link.answerPing(data);
}

function onError(this: WebSocket, err: Error): void {
  const link = linkOf(this);
  link.gateway.failed(link.session, err);
}

function onClose(this: WebSocket, code: number): void {
  const link = linkOf(this);
  link.gateway.ended(link.session, code);
}

/** The part of a net.Socket's libuv handle read here (net's `_handle`, not in @types/node). */
interface PeerHandle {
  getpeername?(out: { address?: string }): number;
}

/**
 * The TCP peer's address, read from the socket's handle: `socket.remoteAddress` would cache it on
 * the socket (`_peername`: an object and its own address string, ~90 B for the connection's life;
 * the session keeps the resolved address). Falls back to `remoteAddress` without such a handle.
 */
function peerAddress(socket: Socket): string | undefined {
  const handle = (socket as unknown as { _handle?: PeerHandle | null })._handle;
  if (typeof handle?.getpeername !== 'function') return socket.remoteAddress;
  const out: { address?: string } = {};
  return handle.getpeername(out) === 0 ? out.address : socket.remoteAddress;
}

function destroySocket(this: Duplex): void {
  this.destroy();
}

function rawToString(data: RawData): string {
  if (Buffer.isBuffer(data)) return data.toString('utf8');
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
  return Buffer.from(data).toString('utf8');
}
