import type { Duplex } from 'node:stream';
import type { RawData } from 'ws';
import { WebSocket } from 'ws';
import type { Session, Transport } from '../session/index.js';
import { directHandle, type TcpHandle, writeToSocket } from './socket-writer.js';
import { flushAtEndOfTurn, type TurnFlushable } from './turn-flush.js';
import { DEFLATE_WINDOW_BITS } from './ws-deflate.js';
import type { SharedFrames } from './ws-frames.js';

/**
 * The gateway as its sockets see it: the shared frames, the close grace, and where their events
 * go (one object for every socket, so a transport keeps one pointer to it).
 */
export interface WsOwner {
  readonly frames: SharedFrames;
  readonly closeGraceMs: number;
  received(session: Session, data: RawData, isBinary: boolean): void;
  failed(session: Session, err: Error): void;
  ended(session: Session, code: number): void;
}

/**
 * Pongs written to a socket but not yet flushed past which a pinging client is terminated: ws's
 * own bound for its automatic pongs (`maxPendingAutoPongs`), kept when the gateway answers pings.
 */
export const MAX_PENDING_PONGS = 60;

/**
 * A `ws` socket as a session's Transport, and the link its listeners follow to the gateway and
 * the session. A server-initiated close destroys the socket after a
 * grace period, so a client that stopped reading cannot hold its send buffer for ws's 30 s.
 *
 * Messages bypass `ws.send`: the frame of a payload is built once (SharedFrames) and written to
 * the TCP socket ws was given (socket-writer.ts: to its descriptor while nothing is queued, else
 * through `socket.write`), which keeps ws's guarantees because
 * - ordering: ws queues a frame only while it compresses or reads a Blob, and this server never
 *   asks it to do either (every message goes through here), so ws writes its own frames (ping,
 *   pong, close) to the socket at once, in call order with ours;
 * - `bufferedAmount`: ws reports the socket's writable length (plus its empty queue), so bytes
 *   written here count the same as bytes ws writes, for the soft/hard marks and the stall check;
 * - nothing after close: the readyState check stops sends once the closing handshake began.
 *
 * Replies are held until the end of the turn (turn-flush.ts) and leave with everything else this
 * socket is sent in that turn in one write. While frames are held, every send joins them (in
 * order); a close writes them first, ours and ws's own (the client's close frame or a protocol
 * error in the same read as commands: the gateway's socket class flushes in `close`). ws's other
 * frames are not held: a pong may overtake them (control frames may come between messages). Held
 * frames are dropped only when the socket is no longer open at the flush (terminated). The held
 * bytes count in `bufferedAmount`.
 */
export class WsTransport implements Transport, TurnFlushable {
  /** Whether this socket takes the shared compressed frames. */
  private readonly deflate: boolean;
  /** The socket's TCP handle and descriptor for direct writes (socket-writer.ts); null: none. */
  private readonly handle: TcpHandle | null;
  private readonly fd: number;
  /** The session on this socket (set by `link` once the node made it). */
  session!: Session;
  /** Pongs handed to the socket and not yet flushed (see MAX_PENDING_PONGS). */
  private pendingPongs = 0;
  /** Counts a pong flushed; made on the first ping (browsers never send pings). */
  private pongFlushed: (() => void) | null = null;
  /** Frames held for the end of the turn, in order (header and payload buffers); null: none. */
  private held: Buffer[] | null = null;
  private heldBytes = 0;

  constructor(
    private readonly ws: WebSocket,
    /** The socket ws was upgraded on (the same object ws writes to). */
    private readonly socket: Duplex,
    /** The gateway: shared frames, close grace and the sockets' event handlers. */
    readonly gateway: WsOwner,
    /** server_max_window_bits this socket negotiated; 0: no permessage-deflate. */
    windowBits: number,
  ) {
    this.deflate = gateway.frames.compresses && windowBits >= DEFLATE_WINDOW_BITS;
    this.handle = directHandle(socket);
    this.fd = this.handle?.fd ?? -1;
  }

  /** Ties the transport to its session, for the socket's listeners. */
  link(session: Session): void {
    this.session = session;
  }

  /**
   * Answers a client's ping with a pong of the same data, as ws's automatic pong did (ws's
   * `autoPong` is off: its per-socket callback cost every connection a closure): a client with
   * MAX_PENDING_PONGS pongs not yet flushed is terminated (a ping flood from a client that does
   * not read).
   */
  answerPing(data: Buffer): void {
    if (this.ws.readyState !== WebSocket.OPEN) return;
    if (this.pendingPongs >= MAX_PENDING_PONGS) {
      this.ws.terminate();
      return;
    }
    this.pendingPongs++;
    this.pongFlushed ??= () => {
      this.pendingPongs--;
    };
    this.ws.pong(data, false, this.pongFlushed);
  }

  send(frame: Buffer): boolean {
    // ws would count a frame sent after the closing handshake began as buffered, forever.
    if (this.ws.readyState !== WebSocket.OPEN) return false;
    const frames = this.gateway.frames;
    const bytes = this.deflate ? frames.deflated(frame) : frames.plain(frame);
    if (this.held !== null) {
      this.held.push(bytes);
      this.heldBytes += bytes.length;
    } else writeToSocket(this.socket, this.handle, this.fd, bytes);
    return true;
  }

  reply(frame: Buffer): boolean {
    if (this.ws.readyState !== WebSocket.OPEN) return false;
    const parts = this.gateway.frames.single(frame, this.deflate);
    if (this.held === null) {
      this.held = parts;
      flushAtEndOfTurn(this);
    } else for (let i = 0; i < parts.length; i++) this.held.push(parts[i]!);
    for (let i = 0; i < parts.length; i++) this.heldBytes += parts[i]!.length;
    return true;
  }

  /** Writes the held frames in one write (called at the end of the turn, and before a close). */
  flushTurn(): void {
    const held = this.held;
    if (held === null) return;
    const bytes = held.length === 1 ? held[0]! : Buffer.concat(held, this.heldBytes);
    this.held = null;
    this.heldBytes = 0;
    // Terminated since (a close flushes first): nothing may be written.
    if (this.ws.readyState !== WebSocket.OPEN) return;
    writeToSocket(this.socket, this.handle, this.fd, bytes);
  }

  get bufferedAmount(): number {
    return this.ws.bufferedAmount + this.heldBytes;
  }

  ping(): void {
    this.ws.ping();
  }

  close(code: number, reason: string): void {
    this.flushTurn();
    this.ws.close(code, reason);
    const ws = this.ws;
    setTimeout(() => ws.terminate(), this.gateway.closeGraceMs).unref();
  }

  terminate(): void {
    this.held = null;
    this.heldBytes = 0;
    this.ws.terminate();
  }
}
