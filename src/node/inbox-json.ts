import type { InboxPage } from '../store/inbox.js';

/**
 * The fields of an inbox answer as JSON text without braces (`"userId":…,"unread":…,"alerts":[…],
 * "dropped":…`), shared by the WebSocket `inbox` reply and `GET /api/users/:user/alerts`. Alert
 * payloads are spliced in as the JSON text they were stored as, never parsed again.
 */
export function inboxFields(userId: string, page: InboxPage): string {
  const alerts = page.alerts.map((a) => {
    const expires = a.expiresAt === null ? '' : `,"expiresAt":${a.expiresAt}`;
    return `{"alert":${JSON.stringify(a.alert)},"event":${JSON.stringify(a.event)},"data":${a.data},"ts":${a.ts},"read":${a.read}${expires}}`;
  });
  const droppedAt =
    page.dropped > 0 && page.droppedAt !== null ? `,"droppedAt":${page.droppedAt}` : '';
  return `"userId":${JSON.stringify(userId)},"unread":${page.unread},"alerts":[${alerts.join(',')}],"dropped":${page.dropped}${droppedAt}`;
}
