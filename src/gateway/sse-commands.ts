import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from '../log.js';
import type { Node } from '../node/index.js';
import { ERROR_STATUS, type ErrorCode } from '../protocol/index.js';
import { type Identity, TokenBucket, TokenRefused, type Transport } from '../session/index.js';
import { answer, answerJson, bearerToken } from './http-answer.js';

/** Options of `POST /sse/publish` and `POST /sse/ack`. */
export interface SseCommandOptions {
  /** Largest body accepted, bytes (the WebSocket's frame limit). */
  maxBodyBytes: number;
  /** Publishes per second per user (per address when anonymous), and the burst above that. */
  publishRate: number;
  publishBurst: number;
  /** Other commands (`ack`) per second per user, and the burst: the WebSocket's command rate. */
  commandRate: number;
  commandBurst: number;
}

/** A command an SSE client sends by POST, since its stream is one-way. */
export interface SseCommand {
  type: 'publish' | 'ack';
  /** The body fields passed on as the WebSocket command's fields. */
  fields: readonly string[];
  /** Only an authenticated user may send it (a bearer token is required). */
  needsUser: boolean;
  /** What a refusal for rate says. */
  tooFast: string;
}

/** `POST /sse/publish`: a WebSocket `publish` without a socket. */
export const SSE_PUBLISH: SseCommand = {
  type: 'publish',
  fields: ['room', 'data', 't', 'priority'],
  needsUser: false,
  tooFast: 'publishing too fast',
};

/** `POST /sse/ack`: a WebSocket `ack` without a socket (docs/sse.md, docs/alerts.md). */
export const SSE_ACK: SseCommand = {
  type: 'ack',
  fields: ['alerts'],
  needsUser: true,
  tooFast: 'too many commands',
};

/** How long a socketless publish waits for the engine's reply, ms. */
const REPLY_TIMEOUT_MS = 10_000;

/** Publishers whose rate is tracked at once; the oldest is forgotten past this. */
const MAX_TRACKED_PUBLISHERS = 10_000;
const buckets = new WeakMap<Node, Map<string, TokenBucket>>();

/**
 * `POST /sse/publish` and `POST /sse/ack`: a command without a socket. The body is the WebSocket
 * command's fields; it runs through the same engine path (permissions, hooks, moderation,
 * filters; for `ack`, the user's own alerts only) in a short-lived session that lives for this
 * request only, so any node of a cluster can take it. The rate is kept per user (per address
 * when anonymous) across requests. The answer is the WebSocket reply line
 * (`{"type":"ok",...}` or `{"type":"error",...}` with its status).
 */
export async function commandOnce(
  node: Node,
  req: IncomingMessage,
  res: ServerResponse,
  options: SseCommandOptions,
  log: Logger,
  spec: SseCommand,
): Promise<void> {
  const ip = req.socket.remoteAddress ?? 'unknown';
  const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  if (type !== 'application/json') {
    answer(res, {
      status: 415,
      code: 'bad_request',
      message: 'Content-Type must be application/json',
    });
    req.resume();
    return;
  }
  const body = await readBody(req, options.maxBodyBytes);
  if (body === null) {
    answer(res, {
      status: 413,
      code: 'too_large',
      message: `body over ${options.maxBodyBytes} bytes`,
    });
    return;
  }
  let fields: Record<string, unknown>;
  try {
    const parsed: unknown = JSON.parse(body);
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error();
    fields = parsed as Record<string, unknown>;
  } catch {
    answer(res, { status: 400, code: 'bad_request', message: 'body is not a JSON object' });
    return;
  }
  let identity: Identity | null = null;
  const token = bearerToken(req);
  if (token !== null) {
    try {
      identity = await node.authenticate(token, { connId: '', ip, identity: null });
    } catch (err) {
      if (!(err instanceof TokenRefused)) {
        log.error({ err: (err as Error).message }, 'authenticate hook failed');
        answer(res, { status: 500, code: 'internal', message: 'authentication failed' });
        return;
      }
      answer(res, { status: 401, code: 'unauthorized', message: err.message });
      return;
    }
    if (!identity) {
      answer(res, { status: 401, code: 'unauthorized', message: 'invalid token' });
      return;
    }
  }
  if (spec.needsUser && !identity) {
    const message = `send a bearer token: ${spec.type} acts for the token's user`;
    answer(res, { status: 401, code: 'unauthorized', message });
    return;
  }
  const who = identity ? `u:${identity.userId}` : `ip:${ip}`;
  const bucket = bucketOf(node, `${spec.type}:${who}`, options, spec);
  const now = Date.now();
  if (!bucket.take(now)) {
    const wait = bucket.msUntilNext();
    answerJson(res, 429, {
      type: 'error',
      code: 'rate_limited',
      message: spec.tooFast,
      retryAfterMs: wait,
    });
    return;
  }
  const command: Record<string, unknown> = { type: spec.type, id: 1 };
  for (const key of spec.fields) if (key in fields) command[key] = fields[key];
  const line = await runOnce(node, ip, identity, JSON.stringify(command));
  const parsed = JSON.parse(line) as { type: string; code?: ErrorCode; id?: unknown };
  delete parsed.id;
  answerJson(
    res,
    parsed.type === 'error' ? (ERROR_STATUS[parsed.code ?? 'bad_request'] ?? 400) : 200,
    parsed,
  );
}

/** Runs one command line in a session that lives for it alone; resolves with the reply line. */
function runOnce(node: Node, ip: string, identity: Identity | null, line: string): Promise<string> {
  return new Promise((resolve) => {
    const transport = new ReplyCatcher((reply) => {
      clearTimeout(timer);
      node.disconnect(session, 1000);
      resolve(reply);
    });
    // The engine answers every command; this only bounds a hook that never settles.
    const timer = setTimeout(() => transport.close(1011, 'no reply in time'), REPLY_TIMEOUT_MS);
    // No redelivery: this session lives for one command and reads nothing.
    const session = node.connect(transport, ip, identity, false);
    // The engine runs a client's publish with the session's own bucket; the caller's bucket
    // (per user across requests) was taken above.
    node.handleFrame(session, line);
  });
}

/** A Transport that waits for the reply to request id 1 and drops everything else. */
class ReplyCatcher implements Transport {
  private done = false;
  constructor(private readonly onReply: (line: string) => void) {}
  readonly bufferedAmount = 0;
  send(frame: Buffer): boolean {
    if (this.done) return false;
    for (const line of frame.toString('utf8').split('\n')) {
      if (!line.includes('"id":1')) continue;
      const m = /^\{"type":"(ok|error)"/.exec(line);
      if (m) {
        this.done = true;
        this.onReply(line);
        return true;
      }
    }
    return true;
  }
  ping(): void {}
  close(code: number, reason: string): void {
    if (this.done) return;
    this.done = true;
    this.onReply(
      JSON.stringify({ type: 'error', code: 'unavailable', message: `closed ${code}: ${reason}` }),
    );
  }
  terminate(): void {
    this.close(1006, 'terminated');
  }
}

function bucketOf(
  node: Node,
  key: string,
  options: SseCommandOptions,
  spec: SseCommand,
): TokenBucket {
  let map = buckets.get(node);
  if (!map) {
    map = new Map();
    buckets.set(node, map);
  }
  let bucket = map.get(key);
  if (bucket) {
    map.delete(key); // re-inserted below: the map's order is least recently used first
  } else {
    const publish = spec.type === 'publish';
    const rate = publish ? options.publishRate : options.commandRate;
    const burst = publish ? options.publishBurst : options.commandBurst;
    bucket = new TokenBucket(rate, burst, Date.now());
    if (map.size >= MAX_TRACKED_PUBLISHERS) map.delete(map.keys().next().value!);
  }
  map.set(key, bucket);
  return bucket;
}

/** The request body as text, or null when it is over `limit` bytes. */
function readBody(req: IncomingMessage, limit: number): Promise<string | null> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let over = false;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) over = true;
      else chunks.push(chunk);
    });
    req.on('end', () => resolve(over ? null : Buffer.concat(chunks).toString('utf8')));
    req.on('error', () => resolve(null));
  });
}
