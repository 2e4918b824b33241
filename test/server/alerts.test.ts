/**
 * Stored pushes (issue 13, docs/alerts.md) on one node with the embedded store: delivery, acks and
 * `read` on every device, redelivery, idempotency, collapse, expiry, the cap, the events filter,
 * the inbox over WebSocket and HTTP, and what is refused. Real sockets, a real SQLite file.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type Msg, TestClient } from '../support/client.js';
import { api, startServer, waitFor } from '../support/server.js';
import { signToken, TEST_SECRET } from '../support/tokens.js';

const KEY = 'alerts-test-key';
const AUTH = { authorization: `Bearer ${KEY}` };
const dirs: string[] = [];
const clients: TestClient[] = [];
after(() => {
  for (const c of clients) c.close();
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

type Server = Awaited<ReturnType<typeof startServer>>;

async function storedServer(options: Record<string, unknown> = {}): Promise<Server> {
  const dir = mkdtempSync(join(tmpdir(), 'barrage-alerts-'));
  dirs.push(dir);
  return startServer({
    jwtSecret: TEST_SECRET,
    apiKey: KEY,
    store: 'embedded',
    dataDir: dir,
    ...options,
  });
}

let n = 0;
/** A user id no other case uses. */
const newUser = () => `user-${++n}-${Date.now().toString(36)}`;

async function as(server: Server, user: string): Promise<TestClient> {
  const c = await TestClient.connect(`${server.wsUrl}?token=${await signToken(user)}`);
  clients.push(c);
  return c;
}

async function persist(server: Server, body: Record<string, unknown>) {
  return api(
    server,
    'POST',
    '/api/push',
    { event: 'order', data: null, persist: true, ...body },
    AUTH,
  );
}

/** Runs `barrage ARGS` from the source tree to its end. */
function cli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const main = join(import.meta.dirname, '..', '..', 'src', 'cli', 'index.ts');
  return new Promise((resolve) => {
    const env: NodeJS.ProcessEnv = {};
    for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('BARRAGE_')) env[k] = v;
    const child = spawn(process.execPath, ['--import', 'tsx', main, ...args], { env });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => {
      stdout += c;
    });
    child.stderr.on('data', (c: Buffer) => {
      stderr += c;
    });
    child.once('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

const isAlert = (id: unknown) => (m: Msg) => m.type === 'push' && m.alert === id;
const alertsOf = (c: TestClient) => c.all('push').map((m) => m.alert);

describe('stored pushes (alerts)', () => {
  let server: Server;
  before(async () => {
    server = await storedServer();
  });
  after(() => server.close());

  it('reaches both devices with its id; an ack on one sends read to both', async () => {
    const u = newUser();
    const [a, b] = [await as(server, u), await as(server, u)];
    const r = await persist(server, { userId: u, data: { n: 1 } });
    assert.equal(r.status, 200);
    assert.equal(r.body.stored, true);
    assert.equal(r.body.delivered, 2);
    const id = r.body.alert as string;
    assert.match(id, /^A[A-Za-z0-9_-]{20}$/);
    const got = await a.next(isAlert(id));
    assert.deepEqual(got.data, { n: 1 });
    assert.equal(got.event, 'order');
    await b.next(isAlert(id));
    const ok = await a.request({ type: 'ack', alerts: [id] });
    assert.deepEqual(ok, { type: 'ok', id: ok.id, acked: [id] });
    for (const c of [a, b]) assert.deepEqual((await c.next((m) => m.type === 'read')).alerts, [id]);
    const inbox = await api(server, 'GET', `/api/users/${u}/alerts?unread=1`, undefined, AUTH);
    assert.equal(inbox.body.unread, 0);
  });

  it('comes again after a reconnect until acknowledged, oldest first, never once acked', async () => {
    const u = newUser();
    const first = (await persist(server, { userId: u, data: 1 })).body;
    assert.equal(first.delivered, 0);
    const second = (await persist(server, { userId: u, data: 2 })).body;
    const c1 = await as(server, u);
    await c1.next(isAlert(second.alert));
    assert.deepEqual(alertsOf(c1), [first.alert, second.alert]);
    await c1.request({ type: 'ack', alerts: [first.alert] });
    c1.close();
    const marker = (await persist(server, { userId: u, data: 3 })).body;
    const c2 = await as(server, u);
    await c2.next(isAlert(marker.alert));
    assert.deepEqual(alertsOf(c2), [second.alert, marker.alert]);
  });

  it('is redelivered after an auth command, as the events filter allows', async () => {
    const u = newUser();
    const order = (await persist(server, { userId: u, event: 'order' })).body;
    const news = (await persist(server, { userId: u, event: 'news' })).body;
    const c = await TestClient.connect(server.wsUrl);
    clients.push(c);
    const ok = await c.request({ type: 'auth', token: await signToken(u), events: ['news'] });
    assert.equal(ok.type, 'ok');
    await c.next(isAlert(news.alert));
    assert.deepEqual(alertsOf(c), [news.alert], `not ${order.alert}`);
    const live = await persist(server, { userId: u, event: 'order' });
    assert.equal(live.body.delivered, 0, 'the filter holds back a live alert too');
  });

  it('stores an idempotency key once: the same id answers the first alert', async () => {
    const u = newUser();
    const c = await as(server, u);
    const one = await persist(server, { userId: u, id: 'order-42' });
    const two = await persist(server, { userId: u, id: 'order-42', data: 'changed' });
    assert.deepEqual(two.body, {
      delivered: 0,
      alert: one.body.alert,
      stored: true,
      duplicate: true,
    });
    const marker = (await persist(server, { userId: u })).body;
    await c.next(isAlert(marker.alert));
    assert.deepEqual(alertsOf(c), [one.body.alert, marker.alert]);
  });

  it('collapses: a new alert with the key withdraws the unread one', async () => {
    const u = newUser();
    const c = await as(server, u);
    const old = (await persist(server, { userId: u, collapseKey: 'score', data: '1-0' })).body;
    const now = (await persist(server, { userId: u, collapseKey: 'score', data: '2-0' })).body;
    assert.equal(now.replaced, old.alert);
    const w = await c.next((m) => m.type === 'withdrawn');
    assert.deepEqual(w, {
      type: 'withdrawn',
      alerts: [old.alert],
      reason: 'collapsed',
      replacedBy: now.alert,
    });
    await c.next(isAlert(now.alert));
    const inbox = await api(server, 'GET', `/api/users/${u}/alerts`, undefined, AUTH);
    assert.deepEqual(
      (inbox.body.alerts as { alert: string }[]).map((a) => a.alert),
      [now.alert],
    );
  });

  it('expires: withdrawn from devices, never listed or redelivered', async () => {
    const u = newUser();
    const c = await as(server, u);
    const gone = (await persist(server, { userId: u, ttlMs: 300 })).body;
    const line = await c.next(isAlert(gone.alert));
    assert.equal(typeof line.expiresAt, 'number');
    const w = await c.next((m) => m.type === 'withdrawn', 5000);
    assert.deepEqual(w, { type: 'withdrawn', alerts: [gone.alert], reason: 'expired' });
    const inbox = await api(server, 'GET', `/api/users/${u}/alerts`, undefined, AUTH);
    assert.deepEqual(inbox.body.alerts, []);
    const marker = (await persist(server, { userId: u })).body;
    const again = await as(server, u);
    await again.next(isAlert(marker.alert));
    assert.deepEqual(alertsOf(again), [marker.alert]);
    const ack = await c.request({ type: 'ack', alerts: [gone.alert] });
    assert.deepEqual(ack.unknown, [gone.alert]);
  });

  it("refuses an ack of another user's alert and never applies it", async () => {
    const [owner, other] = [newUser(), newUser()];
    const id = (await persist(server, { userId: owner })).body.alert as string;
    const c = await as(server, other);
    const r = await c.request({ type: 'ack', alerts: [id] });
    assert.deepEqual(r, { type: 'ok', id: r.id, acked: [], unknown: [id] });
    const inbox = await api(server, 'GET', `/api/users/${owner}/alerts?unread=1`, undefined, AUTH);
    assert.equal(inbox.body.unread, 1);
    const anon = await TestClient.connect(server.wsUrl);
    clients.push(anon);
    const refused = await anon.request({ type: 'ack', alerts: [id] });
    assert.equal(refused.code, 'unauthorized');
    const noInbox = await anon.request({ type: 'inbox' });
    assert.equal(noInbox.code, 'unauthorized');
  });

  it('lists the inbox over WebSocket and HTTP in the same shape', async () => {
    const u = newUser();
    const a1 = (await persist(server, { userId: u, data: { x: [1, 'two'] }, ttlMs: 60_000 })).body;
    const a2 = (await persist(server, { userId: u, data: 'y' })).body;
    const c = await as(server, u);
    await c.next(isAlert(a2.alert));
    await c.request({ type: 'ack', alerts: [a2.alert] });
    const ws = await c.request({ type: 'inbox', limit: 10 });
    const http = await api(server, 'GET', `/api/users/${u}/alerts?limit=10`, undefined, AUTH);
    const { type, id, ...fields } = ws;
    assert.deepEqual([type, id], ['inbox', ws.id]);
    assert.deepEqual(fields, http.body);
    assert.equal(http.body.unread, 1);
    assert.equal(http.body.dropped, 0);
    const alerts = http.body.alerts as Record<string, unknown>[];
    assert.deepEqual(
      alerts.map((a) => [a.alert, a.read, a.data]),
      [
        [a1.alert, false, { x: [1, 'two'] }],
        [a2.alert, true, 'y'],
      ],
    );
    assert.equal(typeof alerts[0]!.expiresAt, 'number');
    assert.equal('expiresAt' in alerts[1]!, false);
    const unread = await c.request({ type: 'inbox', unread: true });
    assert.deepEqual(
      (unread.alerts as { alert: string }[]).map((a) => a.alert),
      [a1.alert],
    );
  });

  it('marks read and deletes over HTTP, telling the devices', async () => {
    const u = newUser();
    const c = await as(server, u);
    const [x, y, z] = [
      (await persist(server, { userId: u })).body.alert,
      (await persist(server, { userId: u })).body.alert,
      (await persist(server, { userId: u })).body.alert,
    ];
    await c.next(isAlert(z));
    const del = await api(server, 'DELETE', `/api/users/${u}/alerts/${z}`, undefined, AUTH);
    assert.deepEqual(del.body, { userId: u, alert: z, deleted: true });
    assert.deepEqual(await c.next((m) => m.type === 'withdrawn'), {
      type: 'withdrawn',
      alerts: [z],
      reason: 'deleted',
    });
    const some = await api(server, 'POST', `/api/users/${u}/alerts/read`, { alerts: [x] }, AUTH);
    assert.deepEqual(some.body, { userId: u, read: [x] });
    assert.deepEqual((await c.next((m) => m.type === 'read')).alerts, [x]);
    const all = await api(server, 'POST', `/api/users/${u}/alerts/read`, { all: true }, AUTH);
    assert.deepEqual(all.body, { userId: u, read: [y] });
    assert.deepEqual((await c.next((m) => m.type === 'read')).alerts, [y]);
    const bad = await api(server, 'POST', `/api/users/${u}/alerts/read`, {}, AUTH);
    assert.equal(bad.status, 400);
    const notPersist = await api(
      server,
      'POST',
      '/api/push',
      { userId: u, event: 'e', ttlMs: 5 },
      AUTH,
    );
    assert.deepEqual(
      [notPersist.status, (notPersist.body.error as { message: string }).message],
      [400, '"ttlMs" needs "persist": true'],
    );
  });

  it('stores from the command line: barrage push --persist', async () => {
    const u = newUser();
    const c = await as(server, u);
    const args = ['push', '--url', server.url, '--api-key', KEY, '--user', u, '--event', 'disk'];
    const flags = ['--persist', '--ttl-ms', '60000', '--collapse-key', 'disk', '--id', 'disk-1'];
    const first = await cli([...args, '--data', '{"full":97}', ...flags]);
    assert.equal(first.code, 0, first.stderr);
    const answer = JSON.parse(first.stdout) as Record<string, unknown>;
    assert.deepEqual([answer.stored, answer.delivered], [true, 1]);
    const line = await c.next(isAlert(answer.alert));
    assert.deepEqual(
      [line.event, line.data, typeof line.expiresAt],
      ['disk', { full: 97 }, 'number'],
    );
    const again = JSON.parse((await cli([...args, ...flags])).stdout) as Record<string, unknown>;
    assert.deepEqual([again.alert, again.duplicate], [answer.alert, true]);
    const usage = await cli([...args, '--ttl-ms', '5']);
    assert.equal(usage.code, 2);
    assert.match(usage.stderr, /--ttl-ms needs --persist/);
  });

  it('counts what happened in /api/stats', async () => {
    const stats = await api(server, 'GET', '/api/stats', undefined, AUTH);
    const alerts = (stats.body.nodes as { alerts: Record<string, number> }[])[0]!.alerts as Record<
      string,
      number
    > & { stored: number; delivered: number; acked: number; collapsed: number; expired: number };
    assert.ok(alerts.stored > 10, JSON.stringify(alerts));
    assert.ok(alerts.delivered > 10 && alerts.acked > 3, JSON.stringify(alerts));
    assert.ok(alerts.collapsed >= 1 && alerts.expired >= 1, JSON.stringify(alerts));
  });
});

describe('the per-user alert cap', () => {
  let server: Server;
  before(async () => {
    server = await storedServer({ alertInboxSize: 3 });
  });
  after(() => server.close());

  it('drops the oldest unread alerts, withdraws them and tells every device to resync', async () => {
    const u = newUser();
    const c = await as(server, u);
    const ids: string[] = [];
    for (let i = 0; i < 5; i++)
      ids.push((await persist(server, { userId: u, data: i })).body.alert as string);
    await waitFor(() => c.all('dropped').length === 2, 'two dropped lines');
    assert.deepEqual(
      c.all('withdrawn').map((w) => [w.alerts, w.reason]),
      [
        [[ids[0]], 'dropped'],
        [[ids[1]], 'dropped'],
      ],
    );
    const last = c.all('dropped')[1]!;
    assert.equal(last.count, 2);
    const later = await as(server, u);
    const told = await later.next((m) => m.type === 'dropped');
    assert.deepEqual([told.count, told.ts], [2, last.ts]);
    await later.next(isAlert(ids[4]));
    assert.deepEqual(alertsOf(later), ids.slice(2));
    const inbox = await api(server, 'GET', `/api/users/${u}/alerts`, undefined, AUTH);
    assert.deepEqual([inbox.body.dropped, inbox.body.droppedAt], [2, last.ts]);
    const stats = await api(server, 'GET', '/api/stats', undefined, AUTH);
    assert.equal((stats.body.nodes as { alerts: { dropped: number } }[])[0]!.alerts.dropped, 2);
  });
});

describe('alerts without a store', () => {
  let server: Server;
  before(async () => {
    server = await startServer({ jwtSecret: TEST_SECRET, apiKey: KEY });
  });
  after(() => server.close());

  it('answers persist, the inbox and ack with unavailable, and plain pushes as before', async () => {
    const r = await persist(server, { userId: 'u' });
    assert.equal(r.status, 503);
    assert.match((r.body.error as { message: string }).message, /no store configured/);
    const inbox = await api(server, 'GET', '/api/users/u/alerts', undefined, AUTH);
    assert.equal(inbox.status, 503);
    const c = await as(server, 'u');
    const ack = await c.request({ type: 'ack', alerts: ['Ax'] });
    assert.deepEqual(
      [ack.code, ack.message],
      ['unavailable', 'no store configured (--store none): alerts need a store'],
    );
    const plain = await api(
      server,
      'POST',
      '/api/push',
      { userId: 'u', event: 'e', data: 1 },
      AUTH,
    );
    assert.deepEqual(plain.body, { delivered: 1 });
  });
});

describe('alerts across a restart of Barrage (embedded store)', () => {
  it('delivers after the restart what was stored before it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'barrage-alerts-'));
    dirs.push(dir);
    const options = {
      jwtSecret: TEST_SECRET,
      apiKey: KEY,
      store: 'embedded' as const,
      dataDir: dir,
    };
    const first = await startServer(options);
    const u = newUser();
    const kept = (await persist(first, { userId: u, data: 'kept' })).body.alert;
    const acked = (await persist(first, { userId: u, data: 'acked' })).body.alert;
    await api(first, 'POST', `/api/users/${u}/alerts/read`, { alerts: [acked] }, AUTH);
    await first.close();
    const second = await startServer(options);
    try {
      const marker = (await persist(second, { userId: u })).body.alert;
      const c = await as(second, u);
      await c.next(isAlert(marker));
      assert.deepEqual(alertsOf(c), [kept, marker]);
      const dup = await persist(second, { userId: u, id: 'x' });
      assert.equal((await persist(second, { userId: u, id: 'x' })).body.alert, dup.body.alert);
    } finally {
      await second.close();
    }
  });
});
