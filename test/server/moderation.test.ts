/**
 * Moderation on one node (embedded broker), with real sockets: mute with expiry, ban (removes
 * from the room, refuses joins), shadow ban (only the sender's own connections see it), keyword
 * filter (reject and mask, beside the onPublish hook), kick (close 4504 on every connection of the
 * user), slow mode, the API's input checks, the audit log and the metrics.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Logger } from '../../src/log.js';
import { type Msg, TestClient } from '../support/client.js';
import { api, sleep, startServer } from '../support/server.js';

type Server = Awaited<ReturnType<typeof startServer>>;

const KEY = 'moderation-test-key';
const auth = { authorization: `Bearer ${KEY}` };
const logged: Record<string, unknown>[] = [];
const recorder: Logger = {
  debug() {},
  info: (fields) => void logged.push({ ...fields }),
  warn() {},
  error() {},
  child: () => recorder,
};

let server: Server;
let masking: Server;
const clients: TestClient[] = [];

before(async () => {
  const common = {
    apiKey: KEY,
    publishRate: 1000,
    publishBurst: 1000,
    roomPolicies: [],
    blockedWords: ['badword', 'Spam Link'],
    hooks: {
      authenticate: (token: string) =>
        token.startsWith('user:') ? { userId: token.slice(5) } : null,
      // The application's own filter keeps working beside the keyword filter.
      onPublish: ({ data }: { data: unknown }) =>
        typeof data === 'string' && data.includes('darn')
          ? { data: data.replace(/darn/g, 'd**n') }
          : undefined,
    },
  };
  server = await startServer({ ...common, logger: recorder });
  masking = await startServer({ ...common, blockedWordsAction: 'mask' });
});

after(async () => {
  for (const c of clients) c.close();
  await Promise.all([server.close(), masking.close()]);
});

async function connect(user: string, target: Server = server): Promise<TestClient> {
  const client = await TestClient.connect(`${target.wsUrl}?token=user:${user}`);
  clients.push(client);
  return client;
}

async function joined(user: string, room: string, target: Server = server): Promise<TestClient> {
  const client = await connect(user, target);
  assert.equal((await client.request({ type: 'join', room })).type, 'joined');
  return client;
}

const publish = (c: TestClient, room: string, data: unknown) =>
  c.request({ type: 'publish', room, data });
const messagesOf = (c: TestClient, room: string) =>
  c.all('message').filter((m) => m.room === room) as Msg[];

describe('Moderation on one node', () => {
  it('mutes a user in one room until the mute expires', async () => {
    const alice = await joined('alice', 'mute:a');
    const bob = await joined('bob', 'mute:a');
    const set = await api(
      server,
      'POST',
      '/api/moderation/mute',
      {
        userId: 'alice',
        room: 'mute:a',
        durationMs: 700,
      },
      auth,
    );
    assert.equal(set.status, 200);
    assert.equal((set.body.rule as { kind: string }).kind, 'mute');
    const refused = await publish(alice, 'mute:a', 'hello');
    assert.equal(refused.code, 'forbidden');
    assert.match(String(refused.message), /muted in mute:a/);
    const retry = Number(refused.retryAfterMs);
    assert.ok(retry > 0 && retry <= 700, `retryAfterMs ${retry}`);
    // Muted in that room only: other rooms, and reading, still work.
    assert.equal((await publish(alice, 'mute:other', 'elsewhere')).type, 'ok');
    const rules = await api(server, 'GET', '/api/moderation?userId=alice', undefined, auth);
    assert.deepEqual(
      (rules.body.rules as { kind: string; room: string }[]).map((r) => [r.kind, r.room]),
      [['mute', 'mute:a']],
    );
    await publish(bob, 'mute:a', 'bob speaks');
    assert.equal((await alice.next((m) => m.type === 'message')).data, 'bob speaks');
    await sleep(retry + 50);
    assert.equal((await publish(alice, 'mute:a', 'back')).type, 'ok');
    assert.equal((await bob.next((m) => m.type === 'message' && m.from === 'alice')).data, 'back');
  });

  it('lifts a global mute through the library API', async () => {
    const carl = await connect('carl');
    const rule = await server.node.moderation.mute('carl');
    assert.deepEqual([rule.room, rule.expiresAt], [null, null]);
    assert.equal((await publish(carl, 'any:room', 'x')).code, 'forbidden');
    assert.equal((await publish(carl, 'any:room', 'x')).retryAfterMs, undefined);
    assert.equal(await server.node.moderation.unmute('carl'), true);
    assert.equal(await server.node.moderation.unmute('carl'), false);
    assert.equal((await publish(carl, 'any:room', 'x')).type, 'ok');
  });

  it('bans: removes the user from the room, refuses joins and publishes until unbanned', async () => {
    const dan = await joined('dan', 'ban:a');
    await dan.request({ type: 'join', room: 'ban:b' });
    const eve = await joined('eve', 'ban:a');
    const res = await api(
      server,
      'POST',
      '/api/moderation/ban',
      { userId: 'dan', room: 'ban:a' },
      auth,
    );
    assert.equal(res.status, 200);
    const notice = await dan.next((m) => m.type === 'left');
    assert.deepEqual(notice, { type: 'left', room: 'ban:a', reason: 'banned' });
    await publish(eve, 'ban:a', 'after the ban');
    await eve.next((m) => m.type === 'message' && m.data === 'after the ban');
    await publish(eve, 'ban:b', 'in b');
    await dan.next((m) => m.type === 'message' && m.data === 'in b'); // still in ban:b
    assert.equal(messagesOf(dan, 'ban:a').length, 0, 'no ban:a message after the ban');
    const join = await dan.request({ type: 'join', room: 'ban:a' });
    assert.deepEqual([join.code, join.message], ['forbidden', 'banned from ban:a']);
    assert.equal((await publish(dan, 'ban:a', 'x')).code, 'forbidden');
    await server.node.moderation.unban('dan', { room: 'ban:a' });
    assert.equal((await dan.request({ type: 'join', room: 'ban:a' })).type, 'joined');
  });

  it('a global ban removes the user from every room', async () => {
    const fay = await joined('fay', 'gban:a');
    await fay.request({ type: 'join', room: 'gban:b' });
    await server.node.moderation.ban('fay', { durationMs: 60_000 });
    const first = await fay.next((m) => m.type === 'left');
    const second = await fay.next((m) => m.type === 'left');
    assert.deepEqual([first.room, second.room].sort(), ['gban:a', 'gban:b']);
    assert.deepEqual([first.reason, second.reason], ['banned', 'banned']);
    const join = await fay.request({ type: 'join', room: 'gban:c' });
    assert.equal(join.code, 'forbidden');
    assert.ok(Number(join.retryAfterMs) > 59_000);
    await server.node.moderation.unban('fay');
  });

  it('shadow ban: the comment reaches only the sender’s own connections in the room', async () => {
    const gus1 = await joined('gus', 'shadow:a');
    const gus2 = await joined('gus', 'shadow:a');
    const hal = await joined('hal', 'shadow:a');
    const before = await api(server, 'GET', '/api/rooms/shadow:a', undefined, auth);
    await api(
      server,
      'POST',
      '/api/moderation/shadowban',
      { userId: 'gus', room: 'shadow:a' },
      auth,
    );
    const ok = await publish(gus1, 'shadow:a', 'can anyone see me');
    assert.equal(ok.type, 'ok');
    assert.equal(typeof ok.offset, 'number');
    for (const own of [gus1, gus2]) {
      const m = await own.next((x) => x.type === 'message' && x.data === 'can anyone see me');
      assert.deepEqual([m.from, m.offset], ['gus', ok.offset]);
    }
    // A later message from hal reaches everyone, at the next offset; gus's never reached hal.
    await publish(hal, 'shadow:a', 'hal here');
    await hal.next((m) => m.type === 'message' && m.data === 'hal here');
    const halHere = await gus1.next((m) => m.type === 'message' && m.data === 'hal here');
    assert.equal(halHere.offset, Number(ok.offset) + 1, 'no gap for gus');
    assert.equal(messagesOf(hal, 'shadow:a').filter((m) => m.from === 'gus').length, 0);
    const afterInfo = await api(server, 'GET', '/api/rooms/shadow:a', undefined, auth);
    assert.equal(
      afterInfo.body.offset,
      Number(before.body.offset) + 2,
      'the shadow comment took its offset in the stream',
    );
    await server.node.moderation.unshadowBan('gus', { room: 'shadow:a' });
    await publish(gus1, 'shadow:a', 'visible now');
    await hal.next((m) => m.type === 'message' && m.data === 'visible now');
  });

  it('keyword filter: refuses a blocked word (any case), beside the onPublish hook', async () => {
    const jo = await joined('jo', 'words:a');
    const refused = await publish(jo, 'words:a', { text: 'what a BADWORD' });
    assert.deepEqual(
      [refused.code, refused.message],
      ['forbidden', 'message contains a blocked word'],
    );
    assert.equal((await publish(jo, 'words:a', 'click my spam link')).code, 'forbidden');
    assert.equal((await publish(jo, 'words:a', 'oh darn')).type, 'ok');
    assert.equal((await jo.next((m) => m.type === 'message')).data, 'oh d**n');
    // The HTTP API is the backend's own voice: not filtered.
    const viaApi = await api(
      server,
      'POST',
      '/api/publish',
      { room: 'words:a', data: 'badword' },
      auth,
    );
    assert.equal(viaApi.status, 200);
  });

  it('keyword filter in mask mode: each match becomes stars, deep in the data', async () => {
    const kim = await joined('kim', 'words:m', masking);
    const ok = await publish(kim, 'words:m', { text: 'BadWord and spam link!', n: ['a badword'] });
    assert.equal(ok.type, 'ok');
    const m = await kim.next((x) => x.type === 'message');
    assert.deepEqual(m.data, { text: '******* and *********!', n: ['a *******'] });
  });

  it('kick closes every connection of the user with 4504 and bans them for the duration', async () => {
    const lou1 = await joined('lou', 'kick:a');
    const lou2 = await connect('lou');
    const max = await joined('max', 'kick:a');
    const res = await api(
      server,
      'POST',
      '/api/moderation/kick',
      { userId: 'lou', durationMs: 3000 },
      auth,
    );
    assert.equal(res.status, 200);
    assert.equal(res.body.userId, 'lou');
    assert.equal(await lou1.closed(), 4504);
    assert.equal(await lou2.closed(), 4504);
    assert.equal(lou1.closeReason, 'kicked; retryAfterMs=3000');
    assert.equal(max.closeCode, null);
    assert.equal((await max.request({ type: 'ping' })).type, 'pong');
    const back = await connect('lou');
    assert.equal((await back.request({ type: 'join', room: 'kick:a' })).code, 'forbidden');
    // Without a duration: disconnected, not banned.
    const ned = await joined('ned', 'kick:a');
    await server.node.moderation.kick('ned');
    assert.equal(await ned.closed(), 4504);
    assert.equal(ned.closeReason, 'kicked');
    assert.equal(
      (await (await connect('ned')).request({ type: 'join', room: 'kick:a' })).type,
      'joined',
    );
  });

  it('slow mode refuses a second comment inside the interval and allows it after', async () => {
    const set = await api(server, 'POST', '/api/rooms/slow:a/slowmode', { intervalMs: 600 }, auth);
    assert.deepEqual(set.body, { room: 'slow:a', intervalMs: 600 });
    const oz = await joined('oz', 'slow:a');
    const pam = await joined('pam', 'slow:a');
    const t0 = Date.now();
    assert.equal((await publish(oz, 'slow:a', 'one')).type, 'ok');
    const second = await publish(oz, 'slow:a', 'two');
    assert.equal(second.code, 'rate_limited');
    const wait = Number(second.retryAfterMs);
    assert.ok(wait > 0 && wait <= 600, `retryAfterMs ${wait}`);
    assert.equal((await publish(pam, 'slow:a', 'another user')).type, 'ok');
    await sleep(wait + 30);
    assert.equal((await publish(oz, 'slow:a', 'three')).type, 'ok');
    assert.ok(Date.now() - t0 >= 590);
    const state = await api(server, 'GET', '/api/moderation?room=slow:a', undefined, auth);
    assert.equal(state.body.slowModeMs, 600);
    await api(server, 'POST', '/api/rooms/slow:a/slowmode', { intervalMs: 0 }, auth);
    assert.equal((await publish(oz, 'slow:a', 'four')).type, 'ok');
    assert.equal((await publish(oz, 'slow:a', 'five')).type, 'ok');
  });

  it('answers bad input with clear 400s, and 401 without the key', async () => {
    const cases: [string, string, unknown, RegExp][] = [
      ['POST', '/api/moderation/mute', { room: 'x' }, /"userId" must be a string/],
      [
        'POST',
        '/api/moderation/mute',
        { userId: 'a', durationMs: -5 },
        /"durationMs" must be an integer/,
      ],
      [
        'POST',
        '/api/moderation/ban',
        { userId: 'a', durationMs: '10s' },
        /"durationMs" must be a number/,
      ],
      ['POST', '/api/moderation/ban', { userId: 'a', room: 'bad room' }, /"room" must be 1-128/],
      ['POST', '/api/moderation/unban', { userId: 'a', durationMs: 5 }, /no meaning/],
      ['POST', '/api/moderation/kick', { userId: 'a', room: 'r' }, /every room/],
      ['POST', '/api/moderation/mute', { userId: 'has space' }, /"userId" must be 1-128/],
      ['POST', '/api/rooms/r/slowmode', { intervalMs: 'x' }, /"intervalMs" must be a number/],
      ['POST', '/api/rooms/r/slowmode', { intervalMs: 1.5 }, /"intervalMs" must be an integer/],
      ['GET', '/api/moderation', undefined, /give userId/],
    ];
    for (const [method, path, body, message] of cases) {
      const res = await api(server, method, path, body, auth);
      assert.equal(res.status, 400, `${path} ${JSON.stringify(body)}`);
      assert.match((res.body.error as { message: string }).message, message);
    }
    assert.equal((await api(server, 'GET', '/api/moderation/mute', undefined, auth)).status, 405);
    assert.equal((await api(server, 'POST', '/api/moderation/mute', { userId: 'a' })).status, 401);
  });

  it('writes an audit line per action and counts actions and refusals', async () => {
    await api(
      server,
      'POST',
      '/api/moderation/mute',
      { userId: 'quinn', room: 'audit:a', durationMs: 5000 },
      auth,
    );
    const line = logged.find((l) => l.audit === 'moderation' && l.userId === 'quinn');
    assert.ok(line, 'audit line logged');
    assert.deepEqual(
      [line.by, line.action, line.room, line.durationMs],
      ['api', 'mute', 'audit:a', 5000],
    );
    assert.equal(typeof line.expiresAt, 'number');
    assert.ok(!JSON.stringify(logged).includes(KEY), 'the API key is never logged');
    await server.node.moderation.unmute('quinn', { room: 'audit:a' });
    assert.equal(logged.find((l) => l.action === 'unmute' && l.userId === 'quinn')?.by, 'library');
    const metrics = await fetch(`${server.url}/metrics`, { headers: auth }).then((r) => r.text());
    assert.match(metrics, /barrage_moderation_actions_total\{[^}]*action="mute"[^}]*\} [1-9]/);
    assert.match(metrics, /barrage_moderation_refusals_total\{[^}]*reason="muted"[^}]*\} [1-9]/);
    assert.match(
      metrics,
      /barrage_moderation_refusals_total\{[^}]*reason="slow_mode"[^}]*\} [1-9]/,
    );
    assert.match(
      metrics,
      /barrage_moderation_refusals_total\{[^}]*reason="blocked_word"[^}]*\} [1-9]/,
    );
  });
});
