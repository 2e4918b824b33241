import type { Context, Hono } from 'hono';
import type { Logger } from '../../log.js';

/** The server's health as the node sees it; `/healthz` answers a public part of it. */
export interface Health {
  ok: boolean;
  /** `detail` (the driver's reason, e.g. which Redis connection and why) goes to the log only. */
  broker: { kind: string; ok: boolean; detail?: string };
  /** The durable store, when there is one: its kind, health and write queue depth. */
  store?: { kind: string; ok: boolean; queueDepth: number };
  shuttingDown: boolean;
}

/** The same broker reason (numbers aside) is logged at most once per this long. */
const DETAIL_LOG_INTERVAL_MS = 10_000;

/**
 * `GET /healthz` (and `/readyz`): 200 when serving, 503 when the broker or the server is not.
 * Public, so the body holds stable states only; the broker's detail (driver text, addresses) is
 * logged instead, rate-limited.
 */
export function healthRoute(app: Hono, health: () => Health, log: Logger): void {
  let lastDetailLogAt = Number.NEGATIVE_INFINITY;
  let lastReason = '';
  const handler = (c: Context) => {
    const h = health();
    const { detail, ...broker } = h.broker;
    if (detail !== undefined) {
      const now = Date.now();
      // A new reason at once; numbers aside, as some details count how long they have lasted.
      const reason = detail.replace(/\d+/g, '#');
      if (reason !== lastReason || now - lastDetailLogAt >= DETAIL_LOG_INTERVAL_MS) {
        // Redis addresses in details are redacted by the broker (no password).
        log.warn({ broker: broker.kind, detail }, 'healthz: broker unhealthy');
        lastDetailLogAt = now;
        lastReason = reason;
      }
    }
    const body = { status: h.ok ? 'ok' : 'unavailable', ...h, broker };
    return c.json(body, h.ok ? 200 : 503);
  };
  app.get('/healthz', handler);
  app.get('/readyz', handler);
}
