import { encodePositions, type Position, readSse, type SseEventData } from './sse-reader.js';
import type { CloseEventLike, MessageEventLike, WebSocketLike } from './types.js';

/** How often the socket tells the client it is alive while its stream is healthy or idle, ms. */
const ALIVE_TICK_MS = 5_000;
/** The server's heartbeat until its `welcome` says otherwise, ms. */
const DEFAULT_HEARTBEAT_MS = 25_000;

/** What an SSE socket needs besides the URL. */
export interface SseSocketOptions {
  /** `http(s)://…/sse`; publishes go to `${sseUrl}/publish`. */
  sseUrl: string;
  /** The fetch to use. @default globalThis.fetch */
  fetch?: typeof fetch;
}

type Line = Record<string, unknown> & { type: string };
type Handler<E> = (ev: E) => void;

/**
 * Server-Sent Events plus `POST /sse/publish`, presented to the client as a WebSocket speaking the
 * same lines, so the client's whole cycle (auth, rejoin with `since`, requests, close codes,
 * back-off) is the same on either transport. It answers the client's commands itself:
 * - `auth`: kept for the stream and the POSTs (a stream is authorised when it opens);
 * - `join` / `leave`: the stream is reopened with the new room set, its positions sent as
 *   `Last-Event-ID` so the rooms already read resume without a gap or duplicate;
 * - `publish` and `ack`: one POST each (`/publish`, `/ack`), answered with the WebSocket reply line;
 * - `ping`: an `OPTIONS` round trip.
 * A stream the server ends with `event: close` closes this socket with that code; a stream cut
 * without it closes with 1006. Liveness: no bytes for two server heartbeats closes with 4000.
 */
export class SseSocket implements WebSocketLike {
  readyState = 0;
  onopen: Handler<unknown> | null = null;
  onmessage: Handler<MessageEventLike> | null = null;
  onclose: Handler<CloseEventLike> | null = null;
  onerror: Handler<unknown> | null = null;

  private readonly fetch: typeof fetch;
  private token: string | undefined;
  private events: string[] | undefined;
  /** Rooms of the stream, with the history a new room asks for and its render budget. */
  private readonly rooms = new Map<string, { history: number; budget: number }>();
  private readonly positions = new Map<string, Position>();
  /** Join requests waiting for their `joined`, by room: the client's request id. */
  private readonly pending = new Map<string, unknown>();
  private stream: AbortController | null = null;
  /** Room of each `sse-N` join id of the current stream. */
  private streamRooms: string[] = [];
  private reopenQueued = false;
  private heartbeatMs = DEFAULT_HEARTBEAT_MS;
  private lastBytes = Date.now();
  private tick: ReturnType<typeof setInterval> | undefined;

  constructor(private readonly options: SseSocketOptions) {
    const f = options.fetch ?? globalThis.fetch;
    if (!f) throw new TypeError('No fetch: SSE needs fetch (Node 20+, any current browser)');
    this.fetch = f.bind(globalThis);
    void this.probe();
  }

  send(text: string): void {
    if (this.readyState !== 1) throw new Error('SSE socket is not open');
    for (const raw of text.split('\n')) {
      if (raw.trim() !== '') this.command(JSON.parse(raw) as Line);
    }
  }

  close(): void {
    this.shut();
  }

  // ---- commands -----------------------------------------------------------------------------

  private command(c: Line): void {
    switch (c.type) {
      case 'auth':
        this.token = typeof c.token === 'string' ? c.token : undefined;
        this.events = Array.isArray(c.events) ? (c.events as string[]) : undefined;
        this.deliver({ type: 'ok', id: c.id });
        return;
      case 'join': {
        const room = String(c.room);
        const since = c.since as Position | undefined;
        if (since) this.positions.set(room, { epoch: since.epoch, offset: since.offset });
        else this.positions.delete(room);
        this.rooms.set(room, {
          history: typeof c.history === 'number' ? c.history : 0,
          budget: typeof c.budget === 'number' ? c.budget : 0,
        });
        this.pending.set(room, c.id);
        this.reopenSoon();
        return;
      }
      case 'leave':
        this.forget(String(c.room));
        this.deliver({ type: 'ok', id: c.id });
        this.reopenSoon();
        return;
      case 'publish': {
        const body: Record<string, unknown> = { room: c.room, data: c.data };
        if (c.priority !== undefined) body.priority = c.priority;
        if (c.t !== undefined) body.t = c.t;
        void this.post('publish', body, c.id);
        return;
      }
      case 'ack':
        void this.post('ack', { alerts: c.alerts }, c.id);
        return;
      case 'ping':
        void this.ping(c.id);
        return;
      case 'pong':
        return;
      default:
        this.deliver({
          type: 'error',
          id: c.id,
          code: 'bad_request',
          message: `${c.type} is not available over SSE`,
        });
    }
  }

  /** A command as one POST to `${sseUrl}/${path}`; its answer is the WebSocket reply line. */
  private async post(path: string, body: Record<string, unknown>, id: unknown): Promise<void> {
    try {
      const res = await this.fetch(`${this.options.sseUrl}/${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...this.auth() },
        body: JSON.stringify(body),
      });
      const reply = (await res.json()) as Line;
      this.deliver({ ...reply, id });
    } catch (err) {
      this.deliver({ type: 'error', id, code: 'unavailable', message: describe(err) });
    }
  }

  private async ping(id: unknown): Promise<void> {
    try {
      await this.fetch(this.options.sseUrl, { method: 'OPTIONS' });
      this.deliver({ type: 'pong', id });
    } catch (err) {
      this.deliver({ type: 'error', id, code: 'unavailable', message: describe(err) });
    }
  }

  // ---- the stream ---------------------------------------------------------------------------

  /** Checks the endpoint answers (an `OPTIONS`), then opens with a local `welcome`. */
  private async probe(): Promise<void> {
    let status = 0;
    try {
      status = (await this.fetch(this.options.sseUrl, { method: 'OPTIONS' })).status;
    } catch (err) {
      return this.fail(describe(err));
    }
    if (this.readyState !== 0) return;
    if (status !== 204) return this.fail(`Unexpected server response: ${status}`);
    this.readyState = 1;
    this.onopen?.({});
    // The stream's own welcome (it needs a room) stays local: the client handshakes once.
    this.deliver({ type: 'welcome', connId: '', heartbeat: ALIVE_TICK_MS * 2 });
    this.tick = setInterval(() => this.alive(), ALIVE_TICK_MS);
  }

  /** Tells the client the transport lives, or drops a stream silent for two heartbeats. */
  private alive(): void {
    if (this.stream && Date.now() - this.lastBytes > this.heartbeatMs * 2) {
      this.end(4000, 'server silent for 2 heartbeats');
      return;
    }
    this.onmessage?.({ data: null });
  }

  private reopenSoon(): void {
    if (this.reopenQueued) return;
    this.reopenQueued = true;
    // A burst of joins (a rejoin after reconnect) becomes one stream.
    queueMicrotask(() => {
      this.reopenQueued = false;
      if (this.readyState === 1) void this.open();
    });
  }

  private async open(): Promise<void> {
    this.stream?.abort();
    this.stream = null;
    if (this.rooms.size === 0) return; // idle: nothing to read until a join
    const rooms = [...this.rooms.keys()];
    const history = Math.max(0, ...rooms.map((r) => this.rooms.get(r)!.history));
    const url = new URL(this.options.sseUrl);
    url.searchParams.set('rooms', rooms.join(','));
    if (history > 0) url.searchParams.set('history', String(history));
    // A stream has one render budget for all its rooms: the smallest any room asked for.
    const budgets = rooms.map((r) => this.rooms.get(r)!.budget).filter((b) => b > 0);
    if (budgets.length > 0) url.searchParams.set('budget', String(Math.min(...budgets)));
    if (this.events) url.searchParams.set('events', this.events.join(','));
    const known = new Map<string, Position>();
    for (const r of rooms) {
      const p = this.positions.get(r);
      if (p) known.set(r, p);
    }
    const headers: Record<string, string> = { accept: 'text/event-stream', ...this.auth() };
    if (known.size > 0) headers['last-event-id'] = encodePositions(known);
    const ctrl = new AbortController();
    this.stream = ctrl;
    this.streamRooms = rooms;
    this.lastBytes = Date.now();
    let res: Response;
    try {
      res = await this.fetch(url, { headers, signal: ctrl.signal, cache: 'no-store' });
    } catch (err) {
      if (ctrl === this.stream) this.end(1006, `SSE stream: ${describe(err)}`);
      return;
    }
    if (ctrl !== this.stream) return;
    if (res.status !== 200 || !res.body) return this.refused(res);
    let closed = false;
    try {
      await readSse(res.body, {
        onBytes: () => {
          if (ctrl === this.stream) this.lastBytes = Date.now();
        },
        onId: () => {},
        onEvent: (e) => {
          if (ctrl !== this.stream || closed) return;
          closed = this.onEvent(e);
        },
      });
    } catch {
      // cut or aborted: handled below
    }
    if (ctrl === this.stream && !closed) this.end(1006, 'SSE stream ended');
  }

  /** Handles one event; true when it was the server's `close`. */
  private onEvent(e: SseEventData): boolean {
    let line: Line;
    try {
      line = JSON.parse(e.data) as Line;
    } catch {
      return false;
    }
    switch (line.type) {
      case 'close':
        this.end(Number(line.code) || 1006, String(line.reason ?? ''));
        return true;
      case 'welcome':
        if (Number(line.heartbeat) > 0) this.heartbeatMs = Number(line.heartbeat);
        return false;
      case 'joined':
      case 'error': {
        const room = joinRoom(line.id, this.streamRooms);
        if (room === undefined) break;
        const asked = this.pending.has(room);
        const id = this.pending.get(room);
        this.pending.delete(room);
        if (line.type === 'joined') {
          this.positions.set(room, { epoch: String(line.epoch), offset: Number(line.offset) || 0 });
        } else {
          this.forget(room);
        }
        if (!asked) return this.rejoined(room, line);
        line.id = id;
        break;
      }
      case 'message': {
        const p = this.positions.get(String(line.room));
        if (p && Number(line.offset) > p.offset) p.offset = Number(line.offset);
        break;
      }
      case 'left':
        this.forget(String(line.room));
        break;
    }
    this.deliver(line);
    return false;
  }

  /**
   * The reply for a room read before the stream was reopened: its recovered messages go to the
   * client as live ones (the subscription drops what it has seen). A room that could not be
   * recovered closes with 4009, so the client rejoins it itself and learns of the gap.
   */
  private rejoined(room: string, line: Line): boolean {
    if (line.type === 'error') {
      this.deliver({ ...line, id: undefined });
      return false;
    }
    if (line.recovered === false) {
      this.end(4009, `resync: ${room} could not be recovered`);
      return true;
    }
    for (const m of Array.isArray(line.messages) ? (line.messages as Line[]) : []) {
      this.deliver({ ...m, type: 'message', room });
    }
    return false;
  }

  /** A stream answered with a status other than 200. */
  private async refused(res: Response): Promise<void> {
    let message = `HTTP ${res.status}`;
    try {
      const body = (await res.json()) as { message?: unknown };
      if (typeof body.message === 'string') message += `: ${body.message}`;
    } catch {
      // no JSON body
    }
    if (res.status === 401) return this.end(4501, message);
    if (res.status === 429 || res.status === 503) {
      const after = Number(res.headers.get('retry-after'));
      const wait = after > 0 ? `; retryAfterMs=${after * 1000}` : '';
      return this.end(1013, `${message}${wait}`);
    }
    if (res.status === 400 && this.pending.size > 0) {
      // The new room set was refused (too many rooms, a bad name): the new joins fail, the
      // stream goes on with the rooms it had.
      for (const [room, id] of this.pending) {
        this.forget(room);
        this.deliver({ type: 'error', id, code: 'bad_request', message });
      }
      this.reopenSoon();
      return;
    }
    this.end(1008, message);
  }

  // ---- helpers ------------------------------------------------------------------------------

  private auth(): Record<string, string> {
    return this.token === undefined ? {} : { authorization: `Bearer ${this.token}` };
  }

  private forget(room: string): void {
    this.rooms.delete(room);
    this.positions.delete(room);
    this.pending.delete(room);
  }

  private deliver(line: Record<string, unknown>): void {
    if (this.readyState !== 1) return;
    this.onmessage?.({ data: JSON.stringify(line) });
  }

  private fail(cause: string): void {
    if (this.readyState === 3) return;
    this.onerror?.({ message: cause });
    this.end(1006, cause);
  }

  private end(code: number, reason: string): void {
    if (this.readyState === 3) return;
    this.shut();
    this.onclose?.({ code, reason });
  }

  private shut(): void {
    this.readyState = 3;
    clearInterval(this.tick);
    this.stream?.abort();
    this.stream = null;
  }
}

/** The room of a stream join's reply id (`sse-N`), or undefined for other ids. */
function joinRoom(id: unknown, rooms: readonly string[]): string | undefined {
  const m = typeof id === 'string' ? /^sse-(\d+)$/.exec(id) : null;
  return m ? rooms[Number(m[1])] : undefined;
}

function describe(err: unknown): string {
  const cause = (err as { cause?: { code?: unknown } } | null)?.cause;
  if (cause && typeof cause.code === 'string') return cause.code;
  return err instanceof Error ? err.message : String(err);
}
