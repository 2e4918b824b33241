/**
 * `POST /sse/ack` (docs/sse.md, docs/alerts.md): a client on the SSE fallback acknowledges alerts
 * by POST, through the engine's `ack`: only its token's user's alerts, the user's other devices
 * told `read`, the command rate kept per user across requests. Real sockets, a real SQLite file.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { TestClient } from '../support/client.js';
import { api, startServer } from '../support/server.js';
import { signToken, TEST_SECRET } from '../support/tokens.js';

const KEY = 'sse-ack-key';
const dir = mkdtempSync(join(tmpdir(), 'barrage-sse-ack-'));

describe('POST /sse/ack', () => {
  let server: Awaited<ReturnType<typeof startServer>>;
  const clients: TestClient[] = [];
  before(async () => {
    server = await startServer({
      jwtSecret: TEST_SECRET,
      apiKey: KEY,
      store: 'embedded',
      dataDir: dir,
      commandRate: 1,
      commandBurst: 2,
    });
  });
  after(async () => {
    for (const c of clients) c.close();
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const store = async (userId: string): Promise<string> => {
    const body = { userId, event: 'e', data: 1, persist: true };
    const r = await api(server, 'POST', '/api/push', body, { authorization: `Bearer ${KEY}` });
    assert.equal(r.status, 200);
    return r.body.alert as string;
  };
  const ack = async (user: string | null, alerts: string[]) => {
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (user !== null) headers.authorization = `Bearer ${await signToken(user)}`;
    const res = await fetch(`${server.url}/sse/ack`, {
      method: 'POST',
      headers,
      body: JSON.stringify({ alerts }),
    });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };

  it("acks the token's user's alerts only, tells the other devices, keeps the rate", async () => {
    const mine = await store('sia');
    const theirs = await store('tom');
    const ws = await TestClient.connect(`${server.wsUrl}?token=${await signToken('sia')}`);
    clients.push(ws);

    const anonymous = await ack(null, [mine]);
    assert.equal(anonymous.status, 401);

    const ok = await ack('sia', [mine, theirs]);
    assert.equal(ok.status, 200);
    assert.deepEqual(ok.body, { type: 'ok', acked: [mine], unknown: [theirs] });
    assert.deepEqual((await ws.next((m) => m.type === 'read')).alerts, [mine]);
    const tom = await api(server, 'GET', '/api/users/tom/alerts?unread=1', undefined, {
      authorization: `Bearer ${KEY}`,
    });
    assert.equal(tom.body.unread, 1, "another user's alert is never applied");

    const bad = await ack('sia', []);
    assert.equal(bad.status, 400);
    assert.equal(bad.body.code, 'bad_request');

    // The burst is 2 per user across requests (the anonymous call had no user), refilled at 1/s:
    // of four more at once, some are refused whatever the machine's speed.
    const more = await Promise.all(Array.from({ length: 4 }, () => ack('sia', [mine])));
    const limited = more.find((r) => r.status === 429);
    assert.ok(limited, `statuses ${more.map((r) => r.status)}`);
    assert.equal(limited.body.code, 'rate_limited');
    assert.equal(typeof limited.body.retryAfterMs, 'number');
  });
});
