import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { SignJWT } from 'jose';
import WebSocket from 'ws';
import type { BarrageServer } from '../src/server/index.js';
import { startServer, waitFor, wsUrl } from '../test/e2e/support/server.js';
import {
  type BarrageClient,
  BarrageError,
  type ClientEvents,
  type ClientOptions,
  connect,
} from './index.js';

const SECRET = 'test-secret-that-is-long-enough-for-hs256';
const base: ClientOptions = {
  WebSocket,
  requestTimeoutMs: 5000,
  backoff: { initialMs: 50, maxMs: 400 },
};

async function sign(sub: string): Promise<string> {
  return new SignJWT({})
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(sub)
    .setExpirationTime(Math.floor(Date.now() / 1000) + 3600)
    .sign(new TextEncoder().encode(SECRET));
}

// What a moderator's kick and ban do to the SDK's view: the server decides, the SDK follows.
describe('kick and ban, as the SDK sees them', () => {
  let server: BarrageServer;
  const clients: BarrageClient[] = [];
  const open = async (user: string) => {
    const c = await connect(wsUrl(server), { ...base, token: await sign(user) });
    clients.push(c);
    return c;
  };

  before(async () => {
    server = await startServer({ jwtSecret: SECRET });
  });
  after(async () => {
    for (const c of clients) c.close();
    await server.close();
  });

  it('a kick without a ban (4504) closes the client for good: no reconnect, no rejoin', async () => {
    const lou = await open('lou');
    await lou.join('live:kick');
    const closes: ClientEvents['close'][] = [];
    lou.on('close', (e) => closes.push(e));
    await server.node.moderation.kick('lou');
    await waitFor(() => closes.length > 0, 5000, 'the close');
    assert.equal(closes[0]!.code, 4504);
    assert.equal(closes[0]!.willReconnect, false);
    assert.equal(lou.state, 'closed');
    assert.equal(closes[0]!.error?.code, 'forbidden');
    assert.equal(closes[0]!.error?.closeCode, 4504);
    assert.deepEqual(lou.rooms(), []);
    assert.equal(lou.connections, 1);
    await assert.rejects(
      lou.publish('live:kick', 'back?'),
      (e: BarrageError) => e.code === 'closed',
    );
  });

  it('a kick with a ban says how long, in retryAfterMs', async () => {
    const max = await open('max');
    const ended = new Promise<BarrageError | undefined>((resolve) =>
      max.on('close', (e) => resolve(e.error)),
    );
    await server.node.moderation.kick('max', { durationMs: 60_000 });
    const err = await ended;
    assert.equal(max.state, 'closed');
    assert.equal(err?.closeCode, 4504);
    assert.equal(err?.retryAfterMs, 60_000);
    await server.node.moderation.unban('max');
  });

  it('a ban ends the subscription, drops it from rooms() and tells the app', async () => {
    const ben = await open('ben');
    const banned = await ben.join('live:ban');
    const other = await ben.join('live:other');
    const ends: (BarrageError | null)[] = [];
    banned.on('end', (e) => ends.push(e));
    const left: ClientEvents['left'][] = [];
    ben.on('left', (e) => left.push(e));

    await server.node.moderation.ban('ben', { room: 'live:ban' });
    await waitFor(() => ends.length === 1, 5000, 'the end of the subscription');
    assert.ok(ends[0] instanceof BarrageError);
    assert.equal(ends[0].code, 'forbidden');
    assert.equal(banned.active, false);
    assert.deepEqual(ben.rooms(), ['live:other']);
    assert.deepEqual(
      left.map((e) => [e.room, e.reason]),
      [['live:ban', 'banned']],
    );
    assert.equal(other.active, true);
    assert.equal(ben.state, 'open');

    // join() asks the server again: refused while banned, a new subscription once lifted.
    await assert.rejects(ben.join('live:ban'), (e: BarrageError) => e.code === 'forbidden');
    await server.node.moderation.unban('ben', { room: 'live:ban' });
    const again = await ben.join('live:ban');
    assert.notEqual(again, banned);
    assert.equal(again.active, true);
    const got: unknown[] = [];
    again.on('message', (m) => got.push(m.data));
    await ben.publish('live:ban', 'back');
    await waitFor(() => got.length === 1, 5000, 'a message after the ban');
    assert.deepEqual(got, ['back']);
  });

  it('a global ban ends every subscription; the connection stays', async () => {
    const fay = await open('fay');
    const subs = [await fay.join('g:a'), await fay.join('g:b')];
    await server.node.moderation.ban('fay');
    await waitFor(() => subs.every((s) => !s.active), 5000, 'both subscriptions to end');
    assert.deepEqual(fay.rooms(), []);
    assert.equal(fay.state, 'open');
    assert.ok((await fay.ping()) >= 0);
    await server.node.moderation.unban('fay');
  });
});
