import { PRIORITIES } from '../protocol/index.js';
import type { StoredMessage } from './types.js';

/**
 * A stored comment as the timeline API and viewer segments answer it:
 * `{id, t, data, from, ts, priority?}` with the payload spliced in as the JSON text it was stored
 * as (never re-parsed); `priority` only above normal. Both SQL stores render segments to the same
 * bytes in SQL (sql.ts `commentJsonSql`); the store contract suite holds them equal.
 */
export function commentJson(m: StoredMessage): string {
  const priority = m.priority > 0 ? `,"priority":"${PRIORITIES[m.priority] ?? 'normal'}"` : '';
  const from = m.from === null ? 'null' : JSON.stringify(m.from);
  return `{"id":${JSON.stringify(m.id)},"t":${m.t},"data":${m.data},"from":${from},"ts":${m.ts}${priority}}`;
}
