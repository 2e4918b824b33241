import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { TestClient } from '../support/client.js';
import { api, startServer, waitFor } from '../support/server.js';

// The library API's hooks: authenticate, authorize, transform or reject.
describe('Hooks', () => {
  let server: Awaited<ReturnType<typeof startServer>>;
  const disconnects: { connId: string; code: number }[] = [];

  before(async () => {
    server = await startServer({
      hooks: {
        authenticate: (token) => (token.startsWith('user:') ? { userId: token.slice(5) } : null),
        authorizeJoin: (conn, room) =>
          room.startsWith('vip:') ? conn.identity?.userId === 'vip' : true,
        authorizePublish: (_conn, room) =>
          room === 'chat:closed' ? { code: 'forbidden', message: 'this room is read-only' } : true,
        onPublish: ({ data }) => {
          if (typeof data === 'string' && data.includes('spam'))
            return { reject: { code: 'bad_request', message: 'no spam' } };
          if (typeof data === 'string') return { data: data.replace(/darn/g, '****') };
          return undefined;
        },
        onDisconnect: (conn, code) => {
          disconnects.push({ connId: conn.connId, code });
        },
        authorizeApi: (req) => req.headers['x-tenant'] !== 'blocked',
      },
    });
  });
  after(async () => {
    await server.close();
  });

  it('authenticates through the hook', async () => {
    const c = await TestClient.connect(server.wsUrl);
    assert.equal((await c.request({ type: 'auth', token: 'user:kim' })).userId, 'kim');
    assert.equal((await c.request({ type: 'auth', token: 'nope' })).code, 'unauthorized');
  });

  it('authorizes joins and publishes through the hooks', async () => {
    const c = await TestClient.connect(`${server.wsUrl}?token=user:lee`);
    assert.equal((await c.request({ type: 'join', room: 'vip:lounge' })).code, 'forbidden');
    const vip = await TestClient.connect(`${server.wsUrl}?token=user:vip`);
    assert.equal((await vip.request({ type: 'join', room: 'vip:lounge' })).type, 'joined');
    const closed = await vip.request({ type: 'publish', room: 'chat:closed', data: 'x' });
    assert.deepEqual([closed.code, closed.message], ['forbidden', 'this room is read-only']);
    c.close();
    vip.close();
  });

  it('transforms and rejects messages with the publish hook, for clients and the API alike', async () => {
    const c = await TestClient.connect(`${server.wsUrl}?token=user:max`);
    await c.request({ type: 'join', room: 'chat:filter' });
    assert.equal(
      (await c.request({ type: 'publish', room: 'chat:filter', data: 'buy spam' })).code,
      'bad_request',
    );
    await c.request({ type: 'publish', room: 'chat:filter', data: 'oh darn' });
    assert.equal((await c.next((m) => m.type === 'message')).data, 'oh ****');
    const viaApi = await api(server, 'POST', '/api/publish', {
      room: 'chat:filter',
      data: 'spam again',
    });
    assert.equal(viaApi.status, 400);
    c.close();
  });

  it('tells the application about disconnects', async () => {
    const c = await TestClient.connect(server.wsUrl);
    const connId = c.lines[0]!.connId;
    c.close();
    await c.closed();
    await waitFor(() => disconnects.some((d) => d.connId === connId), 'the disconnect hook');
    assert.deepEqual(
      disconnects.filter((d) => d.connId === connId),
      [{ connId, code: 1005 }],
    );
  });

  it('lets authorizeApi refuse API calls with 403', async () => {
    const res = await api(
      server,
      'POST',
      '/api/publish',
      { room: 'r', data: 1 },
      { 'x-tenant': 'blocked' },
    );
    assert.equal(res.status, 403);
  });
});
