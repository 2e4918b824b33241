import { NORMAL } from './close-codes.js';
import type { WebSocketLike } from './types.js';

/** Sends text if the socket is open; false when it is not (or the send threw). */
export function safeSend(ws: WebSocketLike, text: string): boolean {
  if (ws.readyState !== 1) return false;
  try {
    ws.send(text);
    return true;
  } catch {
    return false;
  }
}

/** Stops listening to a socket and closes it; late events from it are swallowed. */
export function detach(ws: WebSocketLike, code: number, reason: string): void {
  ws.onmessage = null;
  ws.onopen = null;
  ws.onclose = () => {};
  ws.onerror = () => {}; // `ws` throws on an error event nobody listens to
  try {
    // Browsers accept only 1000 and 3000-4999 from applications.
    ws.close(code >= 3000 && code < 5000 ? code : NORMAL, reason.slice(0, 100));
  } catch {
    // a socket that is already closing cannot be closed again
  }
}

/** Accepts ws(s):// URLs, http(s):// ones (mapped to ws(s)://) and, in browsers, paths. */
export function wsUrl(url: string): string {
  const loc = (globalThis as { location?: { href: string } }).location;
  const u = new URL(url, loc?.href);
  if (u.protocol === 'http:') u.protocol = 'ws:';
  else if (u.protocol === 'https:') u.protocol = 'wss:';
  return u.toString();
}
