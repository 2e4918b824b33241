import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from '../log.js';
import type { Node } from '../node/index.js';
import { CLOSE, MAX_RENDER_BUDGET } from '../protocol/index.js';
import { type Identity, TokenRefused } from '../session/index.js';
import type { ConnectionGate } from './connection-gate.js';
import { pathOf } from './handshake.js';
import { answer, bearerToken, type HttpRefusal } from './http-answer.js';
import { createOriginCheck } from './origin.js';
import { commandOnce, SSE_ACK, SSE_PUBLISH, type SseCommandOptions } from './sse-commands.js';
import { sseHeartbeat, ssePadding } from './sse-encoding.js';
import { decodePositions, type RoomPosition } from './sse-position.js';
import { SseTransport } from './sse-transport.js';

/** Options of the SSE edge. */
export interface SseGatewayOptions extends SseCommandOptions {
  /** The stream path; commands go to `${path}/publish` and `${path}/ack`. @default '/sse' */
  path: string;
  /** Origin allowlist (see createOriginCheck). */
  origins: readonly string[];
  /** Rooms one stream may read (the WebSocket's rooms per connection). */
  maxRooms: number;
  /** Most history a stream may ask for per room (`history=`). */
  maxHistory: number;
  /** A stream needs a token (there is no later `auth` on a one-way stream). */
  requireAuth: boolean;
  /** How long a closing stream may take before it is destroyed, ms. */
  closeGraceMs: number;
  /** Base back-off advertised to a client turned away for load or shutdown, ms. */
  reconnectDelayMs: number;
  /** Comment padding at the start and in every heartbeat, bytes (0: none). @default 0 */
  padBytes: number;
}

/** The close code counted when an SSE client goes away on its own. */
const CLIENT_LEFT = 1001;

/**
 * The Server-Sent Events edge: `GET /sse?rooms=…` streams a room set's lines as events (one
 * session per stream, the same engine as WebSocket), `POST /sse/publish` publishes and
 * `POST /sse/ack` acknowledges alerts without a socket. All check origin, caps and tokens as the WebSocket upgrade does; neither needs state on
 * the node beyond the stream itself, so a cluster needs no sticky sessions.
 */
export class SseGateway {
  private readonly originAllowed: (origin: string | undefined, host: string | undefined) => boolean;
  private readonly publishPath: string;
  private readonly ackPath: string;
  private readonly heartbeat: Buffer;
  private readonly opening: string;

  constructor(
    private readonly node: Node,
    private readonly gate: ConnectionGate,
    private readonly options: SseGatewayOptions,
    private readonly log: Logger,
  ) {
    this.originAllowed = createOriginCheck(options.origins);
    this.publishPath = `${options.path}/publish`;
    this.ackPath = `${options.path}/ack`;
    this.heartbeat = sseHeartbeat(options.padBytes);
    this.opening = ssePadding(options.padBytes);
  }

  /** Whether this request is the SSE edge's. */
  handles(req: IncomingMessage): boolean {
    const path = pathOf(req.url);
    return path === this.options.path || path === this.publishPath || path === this.ackPath;
  }

  /** Serves a request for which `handles` was true. */
  handle(req: IncomingMessage, res: ServerResponse): void {
    const path = pathOf(req.url);
    const origin = req.headers.origin;
    if (!this.originAllowed(origin, req.headers.host)) {
      answer(res, { status: 403, code: 'forbidden', message: 'origin not allowed' });
      return;
    }
    if (origin !== undefined) {
      res.setHeader('Access-Control-Allow-Origin', origin);
      res.setHeader('Vary', 'Origin');
    }
    if (req.method === 'OPTIONS') {
      res.writeHead(204, {
        'Access-Control-Allow-Methods': 'GET, POST',
        'Access-Control-Allow-Headers': 'authorization, content-type, last-event-id',
        'Access-Control-Max-Age': '600',
      });
      res.end();
      return;
    }
    if (path === this.publishPath || path === this.ackPath) {
      if (req.method !== 'POST') {
        answer(res, { status: 405, code: 'method_not_allowed', message: 'POST only' }, 'POST');
        return;
      }
      const spec = path === this.ackPath ? SSE_ACK : SSE_PUBLISH;
      void commandOnce(this.node, req, res, this.options, this.log, spec);
      return;
    }
    if (req.method !== 'GET') {
      answer(res, { status: 405, code: 'method_not_allowed', message: 'GET only' }, 'GET');
      return;
    }
    this.stream(req, res);
  }

  private stream(req: IncomingMessage, res: ServerResponse): void {
    const ip = req.socket.remoteAddress ?? 'unknown';
    const request = this.parse(req);
    if ('status' in request) {
      answer(res, request);
      return;
    }
    const capped = this.gate.refusal(ip);
    if (capped) {
      answer(res, {
        status: capped.status,
        code: capped.status === 429 ? 'rate_limited' : 'unavailable',
        message: capped.message,
        headers: capped.headers,
      });
      return;
    }
    if (!this.gate.admit()) {
      this.defer(res);
      return;
    }
    this.gate.reserve(ip);
    const token = request.token;
    if (token === null) {
      if (this.options.requireAuth) {
        this.gate.release(ip);
        answer(res, { status: 401, code: 'unauthorized', message: 'a token is required' });
        return;
      }
      this.open(req, res, ip, null, request);
      return;
    }
    this.node
      .authenticate(token, { connId: '', ip, identity: null })
      .then((identity) => {
        if (identity) return this.open(req, res, ip, identity, request);
        this.gate.release(ip);
        answer(res, { status: 401, code: 'unauthorized', message: 'invalid token' });
      })
      .catch((err: Error) => {
        this.gate.release(ip);
        if (err instanceof TokenRefused) {
          answer(res, { status: 401, code: 'unauthorized', message: err.message });
          return;
        }
        this.log.error({ err: err.message }, 'authenticate hook failed');
        answer(res, { status: 500, code: 'internal', message: 'authentication failed' });
      });
  }

  /** What a stream request asks for, or why it is refused (400). */
  private parse(req: IncomingMessage): StreamRequest | HttpRefusal {
    const url = new URL(req.url ?? '/', 'http://sse.invalid');
    const bad = (message: string): HttpRefusal => ({ status: 400, code: 'bad_request', message });
    const roomsParam = url.searchParams.get('rooms') ?? '';
    const rooms = [...new Set(roomsParam.split(',').filter((r) => r !== ''))];
    if (rooms.length === 0) return bad('rooms: name at least one room (rooms=a,b)');
    if (rooms.length > this.options.maxRooms) {
      return bad(`rooms: at most ${this.options.maxRooms} rooms per stream`);
    }
    const historyParam = url.searchParams.get('history');
    let history = 0;
    if (historyParam !== null) {
      history = Number(historyParam);
      if (!Number.isInteger(history) || history < 0 || history > this.options.maxHistory) {
        return bad(`history: an integer from 0 to ${this.options.maxHistory}`);
      }
    }
    const budgetParam = url.searchParams.get('budget');
    let budget: number | undefined;
    if (budgetParam !== null) {
      budget = Number(budgetParam);
      if (
        budgetParam === '' ||
        !Number.isInteger(budget) ||
        budget < 0 ||
        budget > MAX_RENDER_BUDGET
      ) {
        return bad(
          `budget: an integer from 0 to ${MAX_RENDER_BUDGET} (messages a second; 0: no limit)`,
        );
      }
    }
    const eventsParam = url.searchParams.get('events');
    const events = eventsParam === null ? undefined : eventsParam.split(',').filter(Boolean);
    const lastId = headerValue(req.headers['last-event-id']) ?? url.searchParams.get('lastEventId');
    let positions = new Map<string, RoomPosition>();
    if (lastId !== null && lastId !== '') {
      const decoded = decodePositions(lastId);
      if (typeof decoded === 'string') return bad(decoded);
      positions = decoded;
    }
    const token = bearerToken(req) ?? url.searchParams.get('token');
    return { rooms, history, budget, events, positions, token: token === '' ? null : token };
  }

  /** Opens the stream: headers, a session, and a join per room (with `since` when resuming). */
  private open(
    req: IncomingMessage,
    res: ServerResponse,
    ip: string,
    identity: Identity | null,
    request: StreamRequest,
  ): void {
    if (req.socket.destroyed) {
      this.gate.release(ip);
      return;
    }
    this.gate.opened();
    res.writeHead(200, {
      'Content-Type': 'text/event-stream; charset=utf-8',
      'Cache-Control': 'no-cache, no-transform',
      Connection: 'keep-alive',
      'X-Accel-Buffering': 'no',
    });
    req.socket.setNoDelay(true);
    res.write(`${this.opening}retry: ${this.options.reconnectDelayMs}\n\n`);
    const transport = new SseTransport(
      res,
      this.options.closeGraceMs,
      this.options.reconnectDelayMs,
      request.rooms.length,
      this.heartbeat,
    );
    const session = this.node.connect(transport, ip, identity);
    transport.onFlushed = () => {
      session.lastHeardAt = Date.now();
    };
    transport.onRefusedAll = (wait) => {
      session.closeWith(CLOSE.overloaded, `joins refused; retryAfterMs=${wait}`);
    };
    if (identity && request.events !== undefined)
      this.node.identify(session, identity, request.events);
    res.once('close', () => {
      this.gate.closed(ip);
      // The client went away (counted as 1001, a browser leaving a page) unless the server
      // closed it, in which case the session keeps the server's code.
      this.node.disconnect(session, CLIENT_LEFT);
    });
    const joins = request.rooms.map((room, i) => {
      const since = request.positions.get(room);
      return JSON.stringify({
        type: 'join',
        room,
        id: `sse-${i}`,
        ...(since ? { since } : request.history > 0 ? { history: request.history } : {}),
        ...(request.budget !== undefined ? { budget: request.budget } : {}),
      });
    });
    this.node.handleFrame(session, joins.join('\n'));
  }

  /**
   * Turned away for load: a 200 stream that says when to come back and closes with 1013, so that
   * EventSource (which gives up for good on any non-200 answer) reconnects after the back-off.
   */
  private defer(res: ServerResponse): void {
    this.node.countClose(CLOSE.overloaded.code);
    const wait = Math.round(this.options.reconnectDelayMs * (0.5 + Math.random()));
    const line = JSON.stringify({
      type: 'close',
      code: CLOSE.overloaded.code,
      reason: `overloaded; retryAfterMs=${wait}`,
    });
    res.writeHead(200, { 'Content-Type': 'text/event-stream; charset=utf-8' });
    res.end(`retry: ${wait}\nevent: close\ndata: ${line}\n\n`);
  }
}

/** A parsed `GET /sse`. */
interface StreamRequest {
  rooms: string[];
  history: number;
  /** The render budget of every join (messages a second), as the WebSocket `join` takes it. */
  budget: number | undefined;
  events: string[] | undefined;
  positions: Map<string, RoomPosition>;
  token: string | null;
}

function headerValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}
