/**
 * The alerts scenario's second figure: how long a device takes to receive the unread alerts
 * waiting for its user when it connects (docs/alerts.md, "Redelivery"). For each of
 * `params.redeliveryUsers` fresh users, one after the other: store `params.redeliveryAlerts`
 * alerts through `POST /api/push` while the user is offline, then open one connection, send
 * `auth`, and time until every alert id has arrived.
 */
import WebSocket from 'ws';
import { alertIds } from '../loadgen/alert-lines.js';
import { nowMs } from '../loadgen/counter.js';
import type { Target } from '../servers/targets.js';
import { Histogram } from '../stats/histogram.js';
import { signToken } from './layout.js';
import type { LatencyMs, RedeliveryResult, RunParams } from './types.js';

/** Stored pushes sent at once while filling an inbox. */
const STORE_CONCURRENCY = 10;

/** Latency percentiles (ms) of a histogram of microseconds. */
export function latencyOf(h: Histogram): LatencyMs {
  const ms = (us: number): number => Math.round(us) / 1000;
  return {
    p50: ms(h.quantile(0.5)),
    p90: ms(h.quantile(0.9)),
    p99: ms(h.quantile(0.99)),
    max: ms(h.max),
    mean: ms(h.mean()),
  };
}

/** Measures redelivery on connect; throws when the server refuses the stored pushes. */
export async function measureRedelivery(
  target: Target,
  params: RunParams,
  timeoutMs: number,
  onUser?: (done: number) => void,
): Promise<RedeliveryResult> {
  if (!target.jwtSecret) throw new Error('alerts against Barrage needs --jwt-secret');
  const all = new Histogram();
  const first = new Histogram();
  let complete = 0;
  const run = `${Date.now().toString(36)}`;
  const users = params.redeliveryUsers ?? 0;
  const alerts = params.redeliveryAlerts ?? 100;
  for (let u = 0; u < users; u++) {
    onUser?.(u);
    const user = `offline-${run}-${u}`;
    await fillInbox(target, user, alerts);
    const token = await signToken(target.jwtSecret, user);
    const got = await receiveAll(target.wsUrls[0]!, token, alerts, timeoutMs);
    if (got.firstUs !== null) first.record(got.firstUs);
    if (got.allUs !== null) {
      all.record(got.allUs);
      complete++;
    }
  }
  return {
    users,
    alerts,
    complete,
    allMs: latencyOf(all),
    firstMs: latencyOf(first),
  };
}

/** Stores `count` alerts for `user` (none of its devices is connected). */
async function fillInbox(target: Target, user: string, count: number): Promise<void> {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (target.apiKey) headers.authorization = `Bearer ${target.apiKey}`;
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < count) {
      const k = next++;
      const body = JSON.stringify({ userId: user, event: 'bench', data: { k }, persist: true });
      const res = await fetch(`${target.httpUrl}/api/push`, { method: 'POST', headers, body });
      const text = await res.text();
      if (!res.ok || !text.includes('"stored":true')) {
        throw new Error(`persist push refused: HTTP ${res.status} ${text.slice(0, 200)}`);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(STORE_CONCURRENCY, count) }, lane));
}

/**
 * Connects as the user (the token in `auth`), then waits for `count` distinct alert ids. Times
 * are microseconds from sending `auth`; `allUs` is null when not all came within `timeoutMs`.
 */
function receiveAll(
  wsBase: string,
  token: string,
  count: number,
  timeoutMs: number,
): Promise<{ firstUs: number | null; allUs: number | null }> {
  const ws = new WebSocket(`${wsBase}/ws`, { perMessageDeflate: false });
  const ids = new Set<string>();
  let sentAt = 0;
  let firstUs: number | null = null;
  return new Promise((resolve) => {
    const done = (allUs: number | null): void => {
      clearTimeout(timer);
      ws.removeAllListeners();
      ws.on('error', () => {});
      ws.terminate();
      resolve({ firstUs, allUs });
    };
    const timer = setTimeout(() => done(null), timeoutMs);
    ws.on('open', () => {
      sentAt = nowMs();
      ws.send(`{"type":"auth","id":"a","token":${JSON.stringify(token)}}`);
    });
    ws.on('message', (data: Buffer) => {
      const found = alertIds(data);
      if (found.length === 0) {
        if (data.includes('"type":"ping"')) ws.send('{"type":"pong"}');
        return;
      }
      const now = nowMs();
      firstUs ??= (now - sentAt) * 1000;
      for (const id of found) ids.add(id);
      if (ids.size >= count) done((now - sentAt) * 1000);
    });
    ws.on('error', () => done(null));
    ws.on('close', () => done(null));
  });
}
