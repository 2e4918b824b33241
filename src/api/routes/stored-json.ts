import { PRIORITIES } from '../../protocol/index.js';
import type { StoredMessage } from '../../store/types.js';

export { commentJson } from '../../store/comment-json.js';

/** A stored chat message as `GET /api/rooms/:room/messages` answers it (a `message` line's fields). */
export function messageJson(m: StoredMessage): string {
  const priority = m.priority > 0 ? `,"priority":"${PRIORITIES[m.priority] ?? 'normal'}"` : '';
  const from = m.from === null ? 'null' : JSON.stringify(m.from);
  const t = m.t === null ? '' : `,"t":${m.t}`;
  return `{"id":${JSON.stringify(m.id)},"offset":${m.offset},"epoch":${JSON.stringify(m.epoch)}${t},"data":${m.data},"from":${from},"ts":${m.ts}${priority}}`;
}

/** A JSON response from text built by hand. */
export function jsonText(
  text: string,
  status = 200,
  headers: Record<string, string> = {},
): Response {
  return new Response(text, {
    status,
    headers: { 'content-type': 'application/json; charset=UTF-8', ...headers },
  });
}
