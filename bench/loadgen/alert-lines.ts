/**
 * Alerts on the wire as the load generator needs them (docs/alerts.md, protocol.md "Alerts"):
 * the ids of the stored pushes in a frame, and the `ack` line for them. Found by scanning for
 * `"alert":"`, without JSON.parse, as the delivery counter does.
 */

const MARK = Buffer.from('"alert":"');
/** Most ids in one `ack` line (the server's limit). */
export const MAX_ACK_IDS = 100;

/** The alert ids of the push lines in one frame (at most 1000). */
export function alertIds(buf: Buffer): string[] {
  const ids: string[] = [];
  let i = buf.indexOf(MARK);
  while (i >= 0 && ids.length < 1000) {
    const start = i + MARK.length;
    const end = buf.indexOf(34, start); // the closing quote (ids have no escapes)
    if (end < 0) break;
    ids.push(buf.toString('latin1', start, end));
    i = buf.indexOf(MARK, end);
  }
  return ids;
}

/** The `ack` line(s) for `ids`, without request ids (no `ok` reply), 100 ids a line. */
export function ackFrame(ids: string[]): string {
  const lines: string[] = [];
  for (let k = 0; k < ids.length; k += MAX_ACK_IDS) {
    lines.push(`{"type":"ack","alerts":${JSON.stringify(ids.slice(k, k + MAX_ACK_IDS))}}`);
  }
  return lines.join('\n');
}
