import { BarrageError } from './errors.js';
import type { ServerErrorCode, WebSocketLike } from './types.js';

/** The reply code that matches a handshake's HTTP status (as the HTTP API maps them). */
const BY_STATUS: Record<number, ServerErrorCode> = {
  400: 'bad_request',
  401: 'unauthorized',
  403: 'forbidden',
  404: 'not_found',
  413: 'too_large',
  429: 'rate_limited',
};

/** What a socket's `error` event says, as text: `ws` gives an Error, browsers give nothing. */
export function socketErrorText(event: unknown): string | undefined {
  const e = event as { error?: { code?: unknown; message?: unknown }; message?: unknown } | null;
  const err = e?.error;
  if (err && typeof err.code === 'string') return err.code; // ECONNREFUSED, ENOTFOUND, ...
  if (err && typeof err.message === 'string') return err.message;
  return typeof e?.message === 'string' && e.message !== '' ? e.message : undefined;
}

/**
 * The error for a socket that closed before it opened: the server refused the handshake with an
 * HTTP status (`ws` says `Unexpected server response: 404`), the connection was refused, or the
 * host is unknown. Browsers hide the cause; then the message says so.
 */
export function connectError(url: string, cause: string | undefined): BarrageError {
  const where = `cannot connect to ${url}`;
  const status = /Unexpected server response: (\d{3})/.exec(cause ?? '');
  if (status) {
    const n = Number(status[1]);
    const hint = n === 404 ? ' (no WebSocket endpoint at this path; Barrage serves /ws)' : '';
    return new BarrageError(BY_STATUS[n] ?? 'unavailable', `${where}: HTTP ${n}${hint}`);
  }
  if (cause === 'ECONNREFUSED') {
    return new BarrageError('unavailable', `${where}: connection refused (is the server running?)`);
  }
  if (cause === 'ENOTFOUND' || cause === 'EAI_AGAIN') {
    return new BarrageError('unavailable', `${where}: host not found (${cause})`);
  }
  return new BarrageError(
    'unavailable',
    `${where}: ${cause ?? 'the socket closed before it opened (refused, or not a WebSocket endpoint)'}`,
  );
}

/**
 * Watches a new socket until it opens: until then its `error` event holds the only cause there
 * is. Returns a function that gives the error of a close before the socket opened, else undefined.
 * Sets `onopen` and `onerror`.
 */
export function watchOpening(ws: WebSocketLike, url: string): () => BarrageError | undefined {
  let opened = false;
  let cause: string | undefined;
  ws.onopen = () => {
    opened = true;
  };
  ws.onerror = (ev) => {
    cause ??= socketErrorText(ev); // the close that follows carries the news
  };
  return () => (opened ? undefined : connectError(url, cause));
}
