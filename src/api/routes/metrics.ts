import type { Hono } from 'hono';

/** `GET /metrics`: Prometheus text format. */
export function metricsRoute(
  app: Hono,
  exposition: () => Promise<{ contentType: string; body: string }>,
): void {
  app.get('/metrics', async (c) => {
    const { contentType, body } = await exposition();
    return c.body(body, 200, { 'Content-Type': contentType });
  });
}
