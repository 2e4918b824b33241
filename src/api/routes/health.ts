import type { Context, Hono } from 'hono';

/** The server's health as `/healthz` reports it. */
export interface Health {
  ok: boolean;
  broker: { kind: string; ok: boolean; detail?: string };
  /** The durable store, when there is one: its kind, health and write queue depth. */
  store?: { kind: string; ok: boolean; queueDepth: number };
  shuttingDown: boolean;
}

/** `GET /healthz` (and `/readyz`): 200 when serving, 503 when the broker or the server is not. */
export function healthRoute(app: Hono, health: () => Health): void {
  const handler = (c: Context) => {
    const h = health();
    return c.json({ status: h.ok ? 'ok' : 'unavailable', ...h }, h.ok ? 200 : 503);
  };
  app.get('/healthz', handler);
  app.get('/readyz', handler);
}
