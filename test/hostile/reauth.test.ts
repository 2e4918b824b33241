/**
 * Re-authentication as a way to take access away (issue 11, item 3): a live connection that
 * authenticates again with a narrower token, or whose rooms the application's `authorizeJoin`
 * now refuses, must leave those rooms at once and be told, instead of going on receiving them.
 * Pass: a `left` line per room lost (before the `ok`), nothing of those rooms afterwards, the
 * rooms still allowed keep flowing.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type Msg, TestClient } from '../support/client.js';
import { startServer } from '../support/server.js';
import { signToken, TEST_SECRET } from '../support/tokens.js';

type Server = Awaited<ReturnType<typeof startServer>>;

let server: Server;
/** Rooms the application no longer lets a user into, by user id (read by authorizeJoin). */
const revoked = new Map<string, Set<string>>();

before(async () => {
  server = await startServer({
    jwtSecret: TEST_SECRET,
    roomPolicies: [],
    hooks: {
      authorizeJoin: (c, room) => !revoked.get(c.identity?.userId ?? '')?.has(room),
    },
  });
});
after(async () => server.close());

async function joinedAs(token: string, rooms: string[]): Promise<TestClient> {
  const c = await TestClient.connect(server.wsUrl);
  assert.equal((await c.request({ type: 'auth', token })).type, 'ok');
  for (const room of rooms) assert.equal((await c.request({ type: 'join', room })).type, 'joined');
  return c;
}

/** Publishes as the API does and returns once `watcher` has the message (the room flows). */
async function post(room: string, data: string, watcher: TestClient): Promise<void> {
  await server.node.publish(room, data, null);
  await watcher.next((m) => m.type === 'message' && m.room === room && m.data === data);
}

const roomsOf = (ms: Msg[]) => ms.map((m) => m.room);

describe('re-authentication', () => {
  it('with a narrower rooms claim leaves the rooms it no longer allows, and says so', async () => {
    const wide = await signToken('mallory', { rooms: ['team:*', 'public:*'] });
    const narrow = await signToken('mallory', { rooms: ['public:*'] });
    const mallory = await joinedAs(wide, ['team:secret', 'team:plans', 'public:lobby']);
    const watcher = await joinedAs(await signToken('wendy'), ['team:secret', 'public:lobby']);
    await post('team:secret', 'before', mallory);

    const order: string[] = [];
    const left: Msg[] = [];
    mallory.ws.on('message', (frame) => {
      for (const line of String(frame).split('\n')) {
        const m = JSON.parse(line) as Msg;
        if (m.type === 'left') left.push(m);
        order.push(m.type);
      }
    });
    const reply = await mallory.request({ type: 'auth', token: narrow });
    assert.equal(reply.type, 'ok');
    assert.deepEqual(roomsOf(left).sort(), ['team:plans', 'team:secret']);
    assert.deepEqual(
      left.map((m) => m.reason),
      ['not_allowed', 'not_allowed'],
    );
    assert.ok(order.indexOf('ok') > order.lastIndexOf('left'), 'told before the ok');

    await post('team:secret', 'after', watcher);
    await post('public:lobby', 'still here', mallory);
    const secrets = mallory
      .all('message')
      .filter((m) => m.room === 'team:secret')
      .map((m) => m.data);
    assert.deepEqual(secrets, ['before'], 'nothing of team:secret after the re-auth');
    const rejoin = await mallory.request({ type: 'join', room: 'team:secret' });
    assert.equal(rejoin.code, 'forbidden');
    mallory.close();
    watcher.close();
  });

  it('leaves the rooms that authorizeJoin now refuses', async () => {
    const token = await signToken('oscar');
    const oscar = await joinedAs(token, ['vip:1', 'public:2']);
    revoked.set('oscar', new Set(['vip:1']));
    const reply = await oscar.request({ type: 'auth', token: await signToken('oscar') });
    assert.equal(reply.type, 'ok');
    const left = oscar.all('left');
    assert.deepEqual(
      left.map((m) => [m.room, m.reason]),
      [['vip:1', 'not_allowed']],
    );
    await post('public:2', 'kept', oscar);
    const stats = await server.node.roomInfo('vip:1');
    assert.equal(stats.online, 0, 'no longer counted in the room');
    oscar.close();
  });
});
