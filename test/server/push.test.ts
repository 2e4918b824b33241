import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { TestClient } from '../support/client.js';
import { api, startServer } from '../support/server.js';
import { signToken, TEST_SECRET } from '../support/tokens.js';

const KEY = 'test-api-key';
const auth = { authorization: `Bearer ${KEY}` };

// Targeted push to every connection of a user, event filters, broadcast, and the API key.
describe('Push and broadcast', () => {
  let server: Awaited<ReturnType<typeof startServer>>;
  const clients: TestClient[] = [];
  const connectAs = async (user: string | null, events?: string[]) => {
    const c = await TestClient.connect(server.wsUrl);
    clients.push(c);
    if (user) {
      const reply = await c.request({
        type: 'auth',
        token: await signToken(user),
        ...(events ? { events } : {}),
      });
      assert.equal(reply.type, 'ok');
    }
    return c;
  };

  before(async () => {
    server = await startServer({ jwtSecret: TEST_SECRET, apiKey: KEY });
  });
  after(async () => {
    for (const c of clients) c.close();
    await server.close();
  });

  it('pushes to every connection of the user and counts them', async () => {
    const tabs = [await connectAs('alice'), await connectAs('alice'), await connectAs('alice')];
    const other = await connectAs('bob');
    const res = await api(
      server,
      'POST',
      '/api/push',
      { userId: 'alice', event: 'alert', data: { level: 'high' } },
      auth,
    );
    assert.equal(res.status, 200);
    assert.deepEqual(res.body, { delivered: 3 });
    for (const tab of tabs) {
      const push = await tab.next((m) => m.type === 'push');
      assert.equal(push.event, 'alert');
      assert.deepEqual(push.data, { level: 'high' });
      assert.equal(typeof push.ts, 'number');
    }
    await other.request({ type: 'ping' });
    assert.equal(other.all('push').length, 0);
  });

  it('reaches only the connections registered for the event', async () => {
    await connectAs('carol', ['alert']);
    const chatOnly = await connectAs('carol', ['chat']);
    const res = await api(
      server,
      'POST',
      '/api/push',
      { userId: 'carol', event: 'alert', data: 1 },
      auth,
    );
    assert.deepEqual(res.body, { delivered: 1 });
    await chatOnly.request({ type: 'ping' });
    assert.equal(chatOnly.all('push').length, 0);
  });

  it('accepts the seed push service field name "message" for data', async () => {
    const c = await connectAs('dave');
    await api(
      server,
      'POST',
      '/api/push',
      { userId: 'dave', event: 'alert', message: 'legacy' },
      auth,
    );
    assert.equal((await c.next((m) => m.type === 'push')).data, 'legacy');
  });

  it('answers delivered: 0 for a user with no connection', async () => {
    const res = await api(
      server,
      'POST',
      '/api/push',
      { userId: 'nobody', event: 'alert', data: 1 },
      auth,
    );
    assert.deepEqual(res.body, { delivered: 0 });
  });

  it('broadcasts to every connection, anonymous ones included, and counts them', async () => {
    const anon = await connectAs(null);
    const open = clients.filter((c) => c.closeCode === null);
    const filtered = open.filter(
      (c) => c !== anon && c.lines.some((m) => m.type === 'ok' && m.userId === 'carol'),
    ).length;
    const res = await api(server, 'POST', '/api/broadcast', { event: 'news', data: 'hi' }, auth);
    // Carol's two connections registered for other events only.
    assert.deepEqual(res.body, { delivered: open.length - filtered });
    assert.equal((await anon.next((m) => m.type === 'push')).event, 'news');
  });

  it('refuses bad push requests with 400', async () => {
    for (const body of [
      { event: 'alert' },
      { userId: 'a' },
      { userId: 'a b', event: 'alert' },
      { userId: 'a', event: 'bad event' },
    ]) {
      const res = await api(server, 'POST', '/api/push', body, auth);
      assert.equal(res.status, 400, JSON.stringify(body));
    }
  });

  it('requires the API key: 401 without or with a wrong one', async () => {
    const none = await api(server, 'POST', '/api/publish', { room: 'r', data: 1 });
    assert.equal(none.status, 401);
    assert.equal((none.body.error as { code: string }).code, 'unauthorized');
    const wrong = await api(
      server,
      'POST',
      '/api/publish',
      { room: 'r', data: 1 },
      { authorization: 'Bearer nope' },
    );
    assert.equal(wrong.status, 401);
    const metrics = await fetch(`${server.url}/metrics`);
    assert.equal(metrics.status, 401);
    const health = await fetch(`${server.url}/healthz`);
    assert.equal(health.status, 200, 'health needs no key');
  });
});
