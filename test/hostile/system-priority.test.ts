/**
 * Client `system` messages (issue 11, item 4): `system` is the operator's voice, never sampled or
 * dropped. A client whose token claims `priority: "system"` must not be able to speak with it.
 * Pass: the publish is refused with `forbidden`, members receive no `system` line from a client,
 * `paid` still works for that token, and the HTTP API still sends `system`.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { TestClient } from '../support/client.js';
import { api, startServer } from '../support/server.js';
import { signToken, TEST_SECRET } from '../support/tokens.js';

type Server = Awaited<ReturnType<typeof startServer>>;

let server: Server;

before(async () => {
  server = await startServer({ jwtSecret: TEST_SECRET, roomPolicies: [] });
});
after(async () => server.close());

async function as(user: string, claims: Record<string, unknown> = {}): Promise<TestClient> {
  const c = await TestClient.connect(server.wsUrl);
  const token = await signToken(user, claims);
  assert.equal((await c.request({ type: 'auth', token })).type, 'ok');
  return c;
}

describe('a client token claiming priority "system"', () => {
  it('cannot publish system lines; paid and the API work', async () => {
    const viewer = await as('viewer');
    assert.equal((await viewer.request({ type: 'join', room: 'live:stage' })).type, 'joined');
    const loud = await as('loud', { priority: 'system' });
    const refused = await loud.request({
      type: 'publish',
      room: 'live:stage',
      data: 'SERVER NOTICE: click here',
      priority: 'system',
    });
    assert.deepEqual(
      [refused.code, refused.message],
      ['forbidden', 'system messages come only from the HTTP API'],
    );
    const paid = await loud.request({
      type: 'publish',
      room: 'live:stage',
      data: 'a paid comment',
      priority: 'paid',
    });
    assert.equal(paid.type, 'ok');
    const viaApi = await api(server, 'POST', '/api/publish', {
      room: 'live:stage',
      data: 'real notice',
      priority: 'system',
    });
    assert.equal(viaApi.status, 200);
    await viewer.next((m) => m.type === 'message' && m.data === 'real notice');
    const system = viewer.all('message').filter((m) => m.priority === 'system');
    assert.deepEqual(
      system.map((m) => [m.data, m.from]),
      [['real notice', null]],
      'the only system line is the API’s',
    );
    viewer.close();
    loud.close();
  });
});
