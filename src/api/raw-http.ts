/**
 * The pieces of `node:http` the fast path (fast-path.ts) needs, each matching what the router
 * (hono on @hono/node-server) does, so an answer cannot tell which one served it: headers read
 * like Web `Headers`, the body read under the size limit like hono's `bodyLimit`, an unread body
 * drained like @hono/node-server does, and answers written with the router's header list.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';

/**
 * A request header by lower-case name the way Web `Headers.get` reads it: every occurrence, in
 * order, joined with `, ` (node's `req.headers` keeps only the first of some names, e.g. a second
 * `Authorization`, which the router would see joined and refuse).
 */
export function headerOf(raw: readonly string[], name: string): string | undefined {
  let value: string | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    const key = raw[i]!;
    if (key.length === name.length && key.toLowerCase() === name) {
      value = value === undefined ? raw[i + 1]! : `${value}, ${raw[i + 1]!}`;
    }
  }
  return value;
}

/**
 * A request's headers looked up by lower-case name as `headerOf` reads them, each name lowered
 * once per request instead of once per lookup (the fast path reads eight of them).
 */
export class RequestHeaders {
  private readonly names: string[];

  constructor(private readonly raw: readonly string[]) {
    this.names = [];
    for (let i = 0; i < raw.length; i += 2) this.names.push(raw[i]!.toLowerCase());
  }

  /** Every occurrence of `name` (lower-case), in order, joined with `, `; undefined if none. */
  get(name: string): string | undefined {
    let value: string | undefined;
    for (let i = 0; i < this.names.length; i++) {
      if (this.names[i] === name) {
        const next = this.raw[2 * i + 1]!;
        value = value === undefined ? next : `${value}, ${next}`;
      }
    }
    return value;
  }
}

/** Every request header (lower-case names, sorted, repeated ones joined) as `Headers` lists them. */
export function headersOf(raw: readonly string[]): Record<string, string> {
  const names = new Set<string>();
  for (let i = 0; i < raw.length; i += 2) names.add(raw[i]!.toLowerCase());
  const out: Record<string, string> = {};
  for (const name of [...names].sort()) out[name] = headerOf(raw, name)!;
  return out;
}

/** The body read whole, or why not: over `limit` bytes, or the client went away. */
export type BodyRead = { ok: true; body: Buffer } | { ok: false; reason: 'too_large' | 'aborted' };

/**
 * Reads the body under `limit` bytes as hono's `bodyLimit` does: a `Content-Length` (without
 * `Transfer-Encoding`) over the limit is refused before reading; a chunked body is refused as soon
 * as it passes the limit. The caller answers, then `drainAfterAnswer` disposes of the rest.
 */
export function readBody(
  req: IncomingMessage,
  limit: number,
  header: (name: string) => string | undefined = (name) => headerOf(req.rawHeaders, name),
): Promise<BodyRead> {
  const length = header('content-length');
  if (length !== undefined && header('transfer-encoding') === undefined) {
    if (Number.parseInt(length, 10) > limit) {
      return Promise.resolve({ ok: false, reason: 'too_large' });
    }
  }
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const done = (result: BodyRead): void => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onAbort);
      req.off('close', onClose);
      resolve(result);
    };
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size > limit) {
        req.pause();
        done({ ok: false, reason: 'too_large' });
      } else chunks.push(chunk);
    };
    const onEnd = (): void =>
      done({ ok: true, body: chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks) });
    const onAbort = (): void => done({ ok: false, reason: 'aborted' });
    const onClose = (): void => (req.readableEnded ? onEnd() : onAbort());
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onAbort);
    req.on('close', onClose);
  });
}

/** How long an answered request's unread body may take to arrive before the socket closes, ms. */
const DRAIN_TIMEOUT_MS = 500;
/** The most bytes of an answered request's unread body read and dropped before the socket closes. */
const MAX_DRAIN_BYTES = 64 * 1024 * 1024;

/**
 * After an answer given before the body was read (a refusal), reads and drops the rest so the
 * keep-alive connection can serve the next request, for at most 500 ms and 64 MiB, then closes the
 * socket: @hono/node-server's limits, so a refused upload cannot hold the connection either way.
 */
export function drainAfterAnswer(req: IncomingMessage, res: ServerResponse): void {
  if (req.readableEnded) return;
  res.once('finish', () => {
    if (req.readableEnded || req.destroyed) return;
    let read = 0;
    const stop = (): void => {
      clearTimeout(timer);
      req.off('data', onData);
      req.off('end', stop);
      req.off('error', stop);
    };
    const close = (): void => {
      stop();
      req.socket.destroySoon();
    };
    const onData = (chunk: Buffer): void => {
      read += chunk.length;
      if (read > MAX_DRAIN_BYTES) close();
    };
    const timer = setTimeout(close, DRAIN_TIMEOUT_MS);
    timer.unref();
    req.on('data', onData);
    req.on('end', stop);
    req.on('error', stop);
    req.resume();
  });
}

/**
 * The headers of the router's JSON answers, in the order it writes them (lower-case, sorted, as
 * @hono/node-server writes a `Headers`), with the request id's place kept; `Content-Length` comes
 * last. Built once from a probe of the router's own middleware (app.ts `answerHeaders`).
 */
export class AnswerHeaders {
  private readonly names: string[];
  private readonly values: (string | null)[];

  /** `headers`: name and value pairs; the value of `x-request-id` is filled per answer. */
  constructor(headers: readonly (readonly [string, string])[]) {
    const sorted = [...headers].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    this.names = sorted.map(([name]) => name);
    this.values = sorted.map(([name, value]) => (name === 'x-request-id' ? null : value));
  }

  /** Writes the whole answer: status, headers with `requestId`, and the JSON text. */
  answer(res: ServerResponse, status: number, requestId: string, json: string): void {
    const flat: string[] = [];
    for (let i = 0; i < this.names.length; i++) {
      flat.push(this.names[i]!, this.values[i] ?? requestId);
    }
    flat.push('Content-Length', String(Buffer.byteLength(json)));
    res.writeHead(status, flat);
    res.end(json);
  }
}
