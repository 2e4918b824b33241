/**
 * A group of receiving clients in one process (WebSocket; SSE streams for `barrage-sse`): opens them with bounded concurrency
 * (spread over loopback source addresses 127.0.0.x), authenticates and joins their rooms, then
 * counts what arrives. Used directly in the main process or inside a worker process.
 */
import type { Socket } from 'node:net';
import WebSocket from 'ws';
import { ackFrame, alertIds } from './alert-lines.js';
import { type CounterSnapshot, DeliveryCounter } from './counter.js';
import { dialectOf, type TargetKind } from './dialects.js';
import { readFramesRaw } from './raw-frames.js';
import { openSseReceiver, type SseReceiver } from './sse-clients.js';

/** One client to open: its URL (base ws://host:port, the dialect adds the path) and rooms. */
export interface ConnSpec {
  url: string;
  rooms: string[];
  /** Barrage: a JWT sent in an `auth` message. */
  token?: string;
  /** Peers: the user id this connection claims. */
  user?: string;
  /** Alerts: acknowledge every alert this connection receives (one `ack` line per frame). */
  ack?: boolean;
}

/** What to open. */
export interface OpenSpec {
  kind: TargetKind;
  conns: ConnSpec[];
  /** How many loopback source addresses (127.0.0.1 .. 127.0.0.K) to spread over. */
  sourceIps: number;
  /** Index of the first connection in the whole run (so workers spread addresses alike). */
  indexOffset: number;
  /** Connections being opened at once. */
  concurrency: number;
  /** Deadline for one connection to be open, authenticated and joined. */
  timeoutMs: number;
  /** Offer permessage-deflate (the server decides whether to compress). @default false */
  deflate?: boolean;
  /** Record each message's first delivery too (alerts: the first device of a user). */
  trackFirst?: boolean;
}

/** The outcome of opening a group. */
export interface OpenResult {
  opened: number;
  failed: number;
  /** First few distinct errors. */
  errors: string[];
  /** Members per room among the connections that opened. */
  joined: Record<string, number>;
  ms: number;
}

/** A counter snapshot plus closes and this process's CPU use. */
export interface GroupSnapshot extends CounterSnapshot {
  /** Connections closed by the server since the reset, by close code. */
  closes: Record<string, number>;
  /** CPU seconds of this process (user + system) since it started. */
  cpuSeconds: number;
  /** Bytes the receivers read from their TCP sockets since the reset (frames as sent). */
  bytes: number;
}

/** The TCP socket under each client, for the bytes on the wire (taken from ws's `upgrade`). */
const wires = new WeakMap<WebSocket, Socket>();

/** The local address for connection `i` of the run. */
export function sourceAddress(i: number, sourceIps: number): string {
  const k = Math.max(1, Math.min(250, sourceIps));
  return `127.0.0.${1 + (i % k)}`;
}

/** Receivers of one process. */
export class ClientGroup {
  readonly counter = new DeliveryCounter();
  private readonly sockets: WebSocket[] = [];
  private readonly streams: SseReceiver[] = [];
  /** Bytes read by the sockets at the last reset. */
  private bytesBase = 0;
  private closes: Record<string, number> = {};
  private closing = false;

  /** Opens every connection of the spec; resolves when all have joined or failed. */
  async open(spec: OpenSpec): Promise<OpenResult> {
    const started = Date.now();
    const joined: Record<string, number> = {};
    const errors = new Set<string>();
    let opened = 0;
    let failed = 0;
    let next = 0;
    if (spec.trackFirst) this.counter.trackFirst();
    const worker = async (): Promise<void> => {
      while (next < spec.conns.length) {
        const i = next++;
        const conn = spec.conns[i]!;
        try {
          if (spec.kind === 'barrage-sse') {
            const index = spec.indexOffset + i;
            const local = spec.sourceIps > 1 ? sourceAddress(index, spec.sourceIps) : undefined;
            this.attachSse(
              await openSseReceiver({ ...conn, localAddress: local, timeoutMs: spec.timeoutMs }),
            );
          } else {
            const ws = await openClient(spec, conn, spec.indexOffset + i);
            this.attach(ws, spec.kind, conn.ack === true);
          }
          opened++;
          for (const room of conn.rooms) joined[room] = (joined[room] ?? 0) + 1;
        } catch (err) {
          failed++;
          if (errors.size < 5) errors.add((err as Error).message);
        }
      }
    };
    const lanes = Math.max(1, Math.min(spec.concurrency, spec.conns.length));
    await Promise.all(Array.from({ length: lanes }, worker));
    return { opened, failed, errors: [...errors], joined, ms: Date.now() - started };
  }

  private attach(ws: WebSocket, kind: TargetKind, ack: boolean): void {
    const d = dialectOf(kind);
    this.sockets.push(ws);
    const onMessage = (data: Buffer): void => {
      if (this.counter.onFrame(data) === 0) {
        const pong = d.pongFor(data.toString());
        if (pong !== null) ws.send(pong);
      } else if (ack) {
        const ids = alertIds(data);
        if (ids.length > 0) ws.send(ackFrame(ids));
      }
    };
    // The close code read by the raw reader (ws then sees only the socket end: 1006).
    let rawClose: number | null = null;
    const countClose = (code: number): void => {
      if (!this.closing) this.closes[code] = (this.closes[code] ?? 0) + 1;
    };
    const socket = wires.get(ws);
    const raw =
      socket !== undefined &&
      readFramesRaw(ws, socket, {
        message: onMessage,
        close: (code) => {
          rawClose = code;
        },
      });
    if (!raw) ws.on('message', onMessage);
    ws.on('error', () => {});
    ws.once('close', (code) => countClose(rawClose ?? code));
  }

  private attachSse(stream: SseReceiver): void {
    this.streams.push(stream);
    stream.attach(
      (events) => this.counter.onEvents(events),
      (code) => {
        if (!this.closing) this.closes[code] = (this.closes[code] ?? 0) + 1;
      },
    );
  }

  /** Starts a new measurement (see DeliveryCounter.reset). */
  reset(startMs: number): void {
    this.counter.reset(startMs);
    this.closes = {};
    this.bytesBase = this.bytesRead();
  }

  private bytesRead(): number {
    let n = 0;
    for (const ws of this.sockets) n += wires.get(ws)?.bytesRead ?? 0;
    for (const s of this.streams) n += s.bytesRead;
    return n;
  }

  /** Counts, latency, closes and CPU so far. */
  snapshot(): GroupSnapshot {
    const cpu = process.cpuUsage();
    return {
      ...this.counter.snapshot(),
      closes: { ...this.closes },
      cpuSeconds: (cpu.user + cpu.system) / 1e6,
      bytes: this.bytesRead() - this.bytesBase,
    };
  }

  /** Number of open connections. */
  get size(): number {
    return this.sockets.length + this.streams.length;
  }

  /** Closes every connection (terminate: the bench does not wait for close handshakes). */
  close(): void {
    this.closing = true;
    for (const ws of this.sockets) {
      ws.removeAllListeners('message');
      ws.on('error', () => {});
      ws.terminate();
    }
    this.sockets.length = 0;
    for (const s of this.streams) s.close();
    this.streams.length = 0;
  }
}

/**
 * Opens one client: WebSocket, transport handshake (Socket.IO), auth when the spec has a token or
 * user, then joins every room and waits for each confirmation. Resolves with the socket and no
 * `message` listener attached; rejects (socket terminated) on error, close or timeout.
 */
export function openClient(
  spec: Pick<OpenSpec, 'kind' | 'sourceIps' | 'timeoutMs' | 'deflate'>,
  conn: ConnSpec,
  index: number,
): Promise<WebSocket> {
  const d = dialectOf(spec.kind);
  const ws = new WebSocket(conn.url + d.wsPath, {
    perMessageDeflate: spec.deflate === true,
    skipUTF8Validation: true,
    // One source address: let connect() pick the port (it may reuse TIME_WAIT ports on
    // loopback); binding an address first would need a port free on that address alone.
    ...(spec.sourceIps > 1 ? { localAddress: sourceAddress(index, spec.sourceIps) } : {}),
    handshakeTimeout: spec.timeoutMs,
  });
  ws.once('upgrade', (res) => wires.set(ws, res.socket as Socket));
  return new Promise<WebSocket>((resolve, reject) => {
    let pendingJoins = conn.rooms.length;
    let stage: 'handshake' | 'auth' | 'join' | 'ready' = d.handshake ? 'handshake' : 'auth';
    const timer = setTimeout(() => fail(new Error(`timeout in ${stage}`)), spec.timeoutMs);
    const fail = (err: Error): void => {
      if (stage === 'ready') return;
      clearTimeout(timer);
      ws.removeAllListeners();
      ws.on('error', () => {});
      ws.terminate();
      reject(err);
    };
    const ready = (): void => {
      stage = 'ready';
      clearTimeout(timer);
      ws.removeAllListeners();
      resolve(ws);
    };
    const sendJoins = (): void => {
      stage = 'join';
      if (pendingJoins === 0) {
        ready();
        return;
      }
      conn.rooms.forEach((room, k) => {
        ws.send(d.joinFrame(room, k));
      });
    };
    const afterConnect = (): void => {
      if (spec.kind !== 'socketio' && (conn.token || conn.user)) {
        stage = 'auth';
        ws.send(d.authFrame(conn.token ?? '', conn.user ?? ''));
      } else sendJoins();
    };
    ws.on('open', () => {
      if (!d.handshake) afterConnect();
    });
    ws.on('message', (data: Buffer) => {
      const text = data.toString();
      const pong = d.pongFor(text);
      if (pong !== null) return void ws.send(pong);
      if (stage === 'handshake') {
        if (text.startsWith('0{')) ws.send(d.connectFrame(conn.user ? { user: conn.user } : null));
        else if (d.isConnected(text)) sendJoins();
        else if (text.startsWith('44')) fail(new Error(`connect refused: ${text.slice(0, 80)}`));
        return;
      }
      if (d.errorIds(text).length > 0) return fail(new Error(text.slice(0, 120)));
      if (stage === 'auth' && d.isAuthed(text)) return sendJoins();
      if (stage === 'join') {
        pendingJoins -= d.countJoined(text);
        if (pendingJoins <= 0) ready();
      }
    });
    ws.on('error', (err) => fail(err));
    ws.on('close', (code) => fail(new Error(`closed ${code} in ${stage}`)));
  });
}
