import type { IncomingMessage } from 'node:http';
import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';

/** A refusal of a handshake: an HTTP status, a short text, and extra headers. */
export interface Refusal {
  status: number;
  message: string;
  headers?: Record<string, string>;
}

const WS_KEY = /^[+/0-9A-Za-z]{22}==$/;

/**
 * Checks that a request is a well-formed HTTP/1.1 WebSocket upgrade for `path`, before anything
 * else (origin, caps, token) is looked up. Returns a refusal, or null when it is well-formed.
 */
export function malformedUpgrade(req: IncomingMessage, path: string): Refusal | null {
  if (req.httpVersion !== '1.1') return { status: 400, message: 'WebSocket needs HTTP/1.1' };
  if (!req.headers.host) return { status: 400, message: 'missing Host header' };
  if (req.method !== 'GET')
    return { status: 405, message: 'WebSocket upgrade must be a GET', headers: { Allow: 'GET' } };
  if (pathOf(req.url) !== path) return { status: 404, message: 'not found' };
  if ((req.headers.upgrade ?? '').toLowerCase() !== 'websocket') {
    return { status: 400, message: 'missing or bad Upgrade header' };
  }
  const key = req.headers['sec-websocket-key'];
  if (typeof key !== 'string' || !WS_KEY.test(key.trim())) {
    return { status: 400, message: 'missing or bad Sec-WebSocket-Key' };
  }
  if (req.headers['sec-websocket-version'] !== '13') {
    return {
      status: 426,
      message: 'unsupported WebSocket version',
      headers: { 'Sec-WebSocket-Version': '13' },
    };
  }
  return null;
}

/** The path of a request URL, without its query. */
export function pathOf(url: string | undefined): string {
  if (!url) return '';
  const q = url.indexOf('?');
  return q === -1 ? url : url.slice(0, q);
}

/** The `token` query parameter of a request URL, if any. */
export function tokenOf(url: string | undefined): string | null {
  if (!url) return null;
  const q = url.indexOf('?');
  if (q === -1) return null;
  return new URLSearchParams(url.slice(q + 1)).get('token');
}

/** Answers a refused handshake with a plain HTTP response and closes the socket. */
export function refuse(socket: Duplex, refusal: Refusal): void {
  if (!socket.writable || socket.destroyed) {
    socket.destroy();
    return;
  }
  const body = `${refusal.message}\n`;
  const headers = {
    Connection: 'close',
    'Content-Type': 'text/plain; charset=utf-8',
    'Content-Length': String(Buffer.byteLength(body)),
    ...refusal.headers,
  };
  const head = Object.entries(headers)
    .map(([k, v]) => `${k}: ${v}`)
    .join('\r\n');
  socket.once('finish', () => socket.destroy());
  socket.end(
    `HTTP/1.1 ${refusal.status} ${STATUS_CODES[refusal.status] ?? ''}\r\n${head}\r\n\r\n${body}`,
  );
}
