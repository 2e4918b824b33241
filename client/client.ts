import { AlertDesk } from './alerts.js';
import { backoffDelay, resolveBackoff, serverRetryAfter } from './backoff.js';
import { ABNORMAL, CLIENT_DROPPED, CLOSE_CODES, closeReconnects, NORMAL } from './close-codes.js';
import { watchOpening } from './connect-error.js';
import { Emitter } from './emitter.js';
import { BarrageError, closedError, finalCloseError, isBarrageError, toError } from './errors.js';
import { frameText, parseFrame } from './frames.js';
import type {
  ClientEvents,
  ClientOptions,
  ClientState,
  InboxOptions,
  JoinOptions,
  PublishOptions,
} from './options.js';
import { RequestTable, sendWithRetries } from './requests.js';
import { Rooms } from './rooms.js';
import { detach, safeSend, wsUrl } from './socket.js';
import type { Subscription } from './subscription.js';
import { Timeline, type TimelineOptions } from './timeline.js';
import { TokenSource } from './token.js';
import { sseUrlOf, type TransportName, TransportPlan } from './transports.js';
import type { Inbox, ServerFrame, WebSocketConstructor, WebSocketLike } from './types.js';
import { Waiters } from './waiters.js';

/** The longest back-off the client accepts from a server hint (a guard against nonsense). */
const MAX_SERVER_DELAY_MS = 600_000;

const UNAUTHORIZED = CLOSE_CODES.unauthorized.code;

/**
 * A Barrage connection that reconnects by itself. Requests wait for the connection; rooms are
 * rejoined from their last offset after every reconnect, and messages reach each subscription in
 * offset order without duplicates. Create it with {@link connect} or {@link createClient}.
 */
export class BarrageClient extends Emitter<ClientEvents> {
  /** The WebSocket URL. */
  readonly url: string;
  /** The current state. */
  state: ClientState = 'connecting';
  /** The server's id of the current connection. */
  connId = '';
  /** The authenticated user id, or null when anonymous. */
  userId: string | null = null;
  /** Heartbeat interval from `welcome`, in ms. */
  heartbeatMs = 25_000;
  /** The transport of the current connection (`sse` after a fallback, see `transports`). */
  get transport(): TransportName {
    return this.plan.current;
  }
  /** The number of connections made so far (1 after the first). */
  connections = 0;
  /** The largest frame the server reads, bytes, from `welcome` (0 when it did not say). */
  get maxFrameBytes(): number {
    return this.requests.maxFrameBytes;
  }

  private readonly opts: ClientOptions;
  private readonly plan: TransportPlan;
  private readonly backoff;
  private ws: WebSocketLike | null = null;
  private readonly tokens: TokenSource;
  private attempt = 0;
  private lastHeard = 0;
  private retryAfterMs: number | undefined;
  private readonly requests = new RequestTable();
  private readonly joined: Rooms;
  private readonly waiters = new Waiters();
  private readonly alerts: AlertDesk;
  private timer: ReturnType<typeof setTimeout> | undefined;

  /** Starts connecting at once; see {@link ClientOptions}. */
  constructor(url: string, options: ClientOptions = {}) {
    super();
    this.url = wsUrl(url);
    this.opts = options;
    this.tokens = new TokenSource(options);
    this.backoff = resolveBackoff(options.backoff);
    const WS = options.WebSocket ?? (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
    const order = options.transports ?? ['websocket', 'sse'];
    this.plan = new TransportPlan(order, WS, options.sseUrl ?? sseUrlOf(this.url));
    this.joined = new Rooms({
      emit: (event, payload) => this.emit(event, payload),
      request: (body, idempotent, onReply) => this.request(body, idempotent, onReply),
      isOpen: () => this.state === 'open',
      isClosed: () => this.isClosed(),
      drop: (reason) => this.drop(CLIENT_DROPPED, reason),
    });
    this.alerts = new AlertDesk(
      {
        emit: (event, payload) => this.emit(event, payload),
        listening: () => this.listenerCount('alert') > 0,
        request: (body) => this.request(body, true),
        fail: (err) => this.emit('error', err),
      },
      { autoAck: options.autoAck === true, seenIds: options.seenAlertIds ?? 5000 },
    );
    // After the caller's next statements: listeners added right after `new` see the first try.
    queueMicrotask(() => {
      if (this.state !== 'closed') void this.open();
    });
  }

  /** Resolves when the client is connected (at once if it is); rejects once it is closed. */
  ready(timeoutMs = this.opts.requestTimeoutMs ?? 10_000): Promise<void> {
    if (this.state === 'open') return Promise.resolve();
    if (this.state === 'closed') return Promise.reject(closedError());
    return this.waiters.wait(timeoutMs);
  }

  /** Joins a room (or returns the existing subscription). Rejoined after every reconnect. */
  join(room: string, options: JoinOptions = {}): Promise<Subscription> {
    return this.joined.join(room, options);
  }

  /** Publishes `data` (any JSON) to a room; resolves with the message's offset. */
  async publish(room: string, data: unknown, options: PublishOptions = {}): Promise<number> {
    if (data === undefined) throw new TypeError('publish: data is required');
    const body: Record<string, unknown> = { type: 'publish', room, data };
    if (options.priority !== undefined) body.priority = options.priority;
    if (options.t !== undefined) body.t = options.t;
    const reply = await this.request(body, false);
    return (reply as { offset: number }).offset;
  }

  /**
   * A player's view of a timeline room (`vod:*`): segments around the playhead, comments at
   * their media time, live ones merged, publishing at the playhead. Call `start()` on it.
   */
  timeline(room: string, options: TimelineOptions = {}): Timeline {
    return new Timeline(this, room, options);
  }

  /** Leaves a room: its subscription ends and it is not rejoined. */
  leave(room: string): Promise<void> {
    return this.joined.leave(room);
  }

  /** Measures a round trip to the server, in ms. */
  async ping(): Promise<number> {
    const start = Date.now();
    await this.request({ type: 'ping' }, true);
    return Date.now() - start;
  }

  /**
   * Acknowledges alerts by id (e.g. ones listed by `inbox()`): they are marked read on every
   * device. Ids acknowledged in the same turn share one `ack` line (100 ids a line). Ids that
   * are no longer in the inbox (expired, replaced) are ignored by the server.
   */
  ack(ids: string | readonly string[]): Promise<void> {
    return this.alerts.ack(typeof ids === 'string' ? [ids] : ids);
  }

  /** The signed-in user's inbox (oldest first), or only its unread alerts. */
  inbox(options: InboxOptions = {}): Promise<Inbox> {
    return this.alerts.inbox(options);
  }

  /** The rooms joined now. */
  rooms(): string[] {
    return this.joined.names();
  }

  /** Closes for good: no reconnect; pending requests fail with `closed`. */
  close(): void {
    if (this.state === 'closed') return;
    const ws = this.ws;
    this.ws = null;
    if (ws) detach(ws, NORMAL, 'client closed');
    this.finish(NORMAL, 'client closed', null);
  }

  // ---- connection cycle -------------------------------------------------------------------

  private async open(): Promise<void> {
    this.timer = undefined;
    this.setState('connecting');
    if (this.tokens.shouldFetch()) {
      try {
        await this.tokens.fetch();
      } catch (err) {
        if (this.state !== 'connecting') return; // closed meanwhile
        const message = `getToken failed: ${err instanceof Error ? err.message : String(err)}`;
        const error = new BarrageError('unauthorized', message, { cause: err });
        this.emit('error', error);
        this.retry(CLIENT_DROPPED, message, error);
        return;
      }
      if (this.state !== 'connecting') return; // closed meanwhile
    }
    let ws: WebSocketLike;
    try {
      ws = this.plan.create(this.url);
    } catch (err) {
      const error = new BarrageError('bad_request', `cannot open ${this.url}: ${String(err)}`);
      this.retry(ABNORMAL, error.message, error);
      return;
    }
    this.ws = ws;
    this.connections++;
    this.lastHeard = Date.now();
    const failure = watchOpening(ws, this.url);
    ws.onmessage = (ev) => {
      if (ws === this.ws) this.onText(ws, frameText(ev.data));
    };
    ws.onclose = (ev) => {
      if (ws !== this.ws) return;
      const failed = failure();
      void this.onClose(ev.code, failed?.message ?? String(ev.reason ?? ''), failed);
    };
    this.armTimer(this.opts.connectTimeoutMs ?? 10_000);
  }

  private onText(ws: WebSocketLike, text: string | null): void {
    this.lastHeard = Date.now();
    if (text === null) return;
    for (const frame of parseFrame(text).frames) {
      if (ws !== this.ws) return;
      this.onFrame(ws, frame);
    }
  }

  private onFrame(ws: WebSocketLike, f: ServerFrame): void {
    if (this.alerts.onFrame(f) || this.joined.onFrame(f)) return;
    switch (f.type) {
      case 'push':
        this.emit('push', { event: f.event, data: f.data, ts: f.ts });
        return;
      case 'ping':
        safeSend(
          ws,
          JSON.stringify(f.id === undefined ? { type: 'pong' } : { type: 'pong', id: f.id }),
        );
        return;
      case 'welcome':
        this.connId = f.connId;
        if (f.heartbeat > 0) this.heartbeatMs = f.heartbeat;
        this.requests.maxFrameBytes = (f.maxFrameBytes ?? 0) > 0 ? f.maxFrameBytes! : 0;
        this.userId = f.userId ?? null;
        void this.handshake(ws);
        return;
      case 'error':
        if (f.id !== undefined && this.requests.settle(f.id, f)) return;
        this.retryAfterMs = serverRetryAfter(f.retryAfterMs) ?? this.retryAfterMs;
        this.emit('error', toError(f));
        return;
      default:
        if ('id' in f && f.id !== undefined) this.requests.settle(f.id, f);
    }
  }

  private async handshake(ws: WebSocketLike): Promise<void> {
    const token = this.tokens.current;
    if (token !== undefined) {
      const auth = {
        type: 'auth',
        token,
        ...(this.opts.events ? { events: this.opts.events } : {}),
      };
      try {
        const ok = await this.requests.send(
          ws,
          auth,
          Date.now() + (this.opts.connectTimeoutMs ?? 10_000),
        );
        this.userId = (ok as { userId?: string }).userId ?? this.userId;
      } catch (err) {
        if (ws !== this.ws || (isBarrageError(err) && err.code === 'disconnected')) return;
        const code =
          isBarrageError(err) && err.code === 'unauthorized' ? UNAUTHORIZED : CLIENT_DROPPED;
        this.drop(code, (err as Error).message);
        return;
      }
    }
    if (ws !== this.ws) return;
    const reconnected = this.connections > 1;
    this.joined.rejoinAll(ws, this.requests, Date.now() + (this.opts.requestTimeoutMs ?? 10_000));
    this.attempt = 0;
    this.retryAfterMs = undefined;
    this.setState('open');
    this.armTimer(this.heartbeatMs * 2);
    this.waiters.resolveAll();
    this.emit('open', { reconnected, connId: this.connId, userId: this.userId });
  }

  /** One timer serves the connect timeout, then the dead-server check (2 x heartbeat). */
  private armTimer(ms: number): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      if (this.state === 'open') {
        const quiet = Date.now() - this.lastHeard;
        if (quiet < this.heartbeatMs * 2) return this.armTimer(this.heartbeatMs * 2 - quiet);
        return this.drop(CLIENT_DROPPED, 'server silent for 2 heartbeats');
      }
      if (this.state === 'connecting') this.drop(CLIENT_DROPPED, 'connect timeout');
    }, ms);
  }

  /** Gives up on the current socket (dead or refused) and handles it as a close. */
  private drop(code: number, reason: string): void {
    const ws = this.ws;
    if (ws) detach(ws, code === UNAUTHORIZED ? CLIENT_DROPPED : code, reason);
    void this.onClose(code, reason);
  }

  /**
   * A connection ended. `failed` is set when the socket never opened (refused, HTTP 404, ...).
   * Whether to reconnect comes from the close-code catalogue (close-codes.ts): the listed codes,
   * then the ranges (4000-4499 reconnect, 4500-4999 do not).
   */
  private async onClose(code: number, reason: string, failed?: BarrageError): Promise<void> {
    this.ws = null;
    const switched = this.state !== 'closed' && this.plan.closed(this.state === 'open', failed);
    if (switched) this.emit('transport', this.plan.current);
    if (switched && this.plan.current !== this.plan.order[0]) {
      // Blocked: the next transport at once, not an error yet (connect() keeps waiting). Back to
      // the first one goes through the back-off below.
      clearTimeout(this.timer);
      this.requests.failAll(new BarrageError('disconnected', `connection closed (${code})`));
      this.emit('close', { code, reason, willReconnect: true, delayMs: 0 });
      return void this.open();
    }
    clearTimeout(this.timer);
    this.requests.failAll(
      new BarrageError('disconnected', `connection closed (${code})`, { closeCode: code }),
    );
    if (this.state === 'closed') return;
    this.setState('reconnecting');
    if (code === UNAUTHORIZED) {
      const renewed = await this.tokens.renew();
      if (this.isClosed()) return; // closed by the app while the token was fetched
      if (!renewed) return this.finish(code, reason, finalCloseError(code, reason));
    } else if (!closeReconnects(code)) {
      return this.finish(code, reason, finalCloseError(code, reason));
    }
    if (this.opts.reconnect === false)
      return this.finish(code, reason, failed ?? closedError(code));
    this.retry(code, reason, failed);
  }

  private retry(code: number, reason: string, error?: BarrageError): void {
    let delay = backoffDelay(this.attempt++, this.backoff);
    const asked = serverRetryAfter(reason) ?? this.retryAfterMs;
    if (asked !== undefined) delay = Math.max(delay, Math.min(asked, MAX_SERVER_DELAY_MS));
    if (code === CLOSE_CODES.overloaded.code) delay = Math.max(delay, this.backoff.initialMs * 4);
    this.setState('reconnecting');
    const event: ClientEvents['close'] = { code, reason, willReconnect: true, delayMs: delay };
    if (error) event.error = error;
    this.emit('close', event);
    clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.open(), delay);
  }

  private finish(code: number, reason: string, err: BarrageError | null): void {
    clearTimeout(this.timer);
    this.setState('closed');
    const e = err ?? closedError(code);
    this.requests.failAll(e);
    this.waiters.rejectAll(e);
    this.joined.endAll(err);
    const event: ClientEvents['close'] = { code, reason, willReconnect: false, delayMs: 0 };
    if (err) event.error = err;
    this.emit('close', event);
    if (err) this.emit('error', err);
  }

  // ---- requests ---------------------------------------------------------------------------

  /** Sends a request once connected; idempotent ones are resent after a reconnect. */
  private request(
    body: Record<string, unknown>,
    idempotent: boolean,
    onReply?: (frame: ServerFrame) => void,
  ): Promise<ServerFrame> {
    const deadline = Date.now() + (this.opts.requestTimeoutMs ?? 10_000);
    const link = { ready: (ms: number) => this.ready(ms), socket: () => this.ws! };
    return sendWithRetries(this.requests, link, body, { idempotent, deadline, onReply });
  }

  protected override listenerAdded(event: keyof ClientEvents): void {
    if (event === 'alert') this.alerts.listenerAdded();
  }

  private isClosed(): boolean {
    return this.state === 'closed';
  }

  private setState(state: ClientState): void {
    if (this.state === state) return;
    this.state = state;
    this.emit('state', state);
  }
}
