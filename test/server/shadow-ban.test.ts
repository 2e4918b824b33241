/**
 * A shadow-banned user, through the SDK against a real server: the comment takes its place in the
 * room's stream, so its author sees it and every real message with contiguous offsets (live and
 * on a rejoin with history), while the others never see it (issue 16, bug 8).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import WebSocket from 'ws';
import { type BarrageClient, connect, type RoomMessage } from '../../client/index.js';
import { api, startServer, waitFor } from '../support/server.js';

type Server = Awaited<ReturnType<typeof startServer>>;

let server: Server;
const clients: BarrageClient[] = [];

before(async () => {
  server = await startServer({
    publishRate: 1000,
    publishBurst: 1000,
    roomPolicies: ['chat:*=0/reliable', 'live:*=50/lossy'],
    hooks: {
      authenticate: (token: string) =>
        token.startsWith('user:') ? { userId: token.slice(5) } : null,
    },
  });
});

after(async () => {
  for (const c of clients) c.close();
  await server.close();
});

async function client(user: string): Promise<BarrageClient> {
  const c = await connect(server.wsUrl, { WebSocket, token: `user:${user}` });
  clients.push(c);
  return c;
}

/** Joins and records every message the subscription delivers. */
async function listen(c: BarrageClient, room: string, history = 0) {
  const sub = await c.join(room, { history });
  const got: RoomMessage[] = [];
  sub.on('message', (m) => got.push(m));
  return got;
}

const texts = (ms: RoomMessage[]) => ms.map((m) => m.data);
const offsets = (ms: RoomMessage[]) => ms.map((m) => m.offset);

for (const room of ['chat:shadow', 'live:shadow']) {
  describe(`A shadow-banned user in ${room}`, () => {
    it('sees its own comments and every real message, offsets without a gap', async () => {
      const carol = await client('carol');
      const dan = await client('dan');
      await server.node.moderation.shadowBan('carol', { room });
      const carolGot = await listen(carol, room);
      const danGot = await listen(dan, room);
      const sent = ['real 1', 'shadow 1', 'shadow 2', 'real 2', 'shadow 3', 'real 3', 'real 4'];
      for (const text of sent) await (text.startsWith('real') ? dan : carol).publish(room, text);
      await waitFor(() => carolGot.length === sent.length, 'carol to see all 7');
      await waitFor(() => danGot.length === 4, 'dan to see the 4 real ones');
      assert.deepEqual(texts(carolGot), sent, 'nothing skipped, in publish order');
      const first = carolGot[0]!.offset;
      assert.deepEqual(
        offsets(carolGot),
        sent.map((_, i) => first + i),
        'contiguous offsets: no gap the sender could notice',
      );
      assert.deepEqual(texts(danGot), ['real 1', 'real 2', 'real 3', 'real 4']);
      assert.equal(
        carolGot.find((m) => m.data === 'shadow 1')?.from,
        'carol',
        'it looks like any comment',
      );

      // Rejoining with history: carol finds her comments where they were, dan does not.
      const carolLater = await listen(await client('carol'), room, 50);
      const danLater = await listen(await client('dan'), room, 50);
      await waitFor(() => carolLater.length >= 7 && danLater.length >= 4, 'the histories');
      assert.deepEqual(texts(carolLater).slice(-7), sent);
      assert.deepEqual(texts(danLater).slice(-4), ['real 1', 'real 2', 'real 3', 'real 4']);
      assert.equal(
        danLater.some((m) => String(m.data).startsWith('shadow')),
        false,
        'no shadow comment in anyone else’s history',
      );
      const info = await api(server, 'GET', `/api/rooms/${room}`);
      assert.equal(info.body.offset, first + sent.length - 1, 'each comment took one offset');
    });
  });
}
