import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { SignJWT } from 'jose';
import WebSocket from 'ws';
import type { BarrageServer } from '../src/server/index.js';
import { startServer, TcpProxy, waitFor, wsUrl } from '../test/e2e/support/server.js';
import { type BarrageClient, BarrageError, type ClientOptions, connect } from './index.js';

const SECRET = 'test-secret-that-is-long-enough-for-hs256';
const base: ClientOptions = {
  WebSocket,
  requestTimeoutMs: 5000,
  backoff: { initialMs: 50, maxMs: 400 },
};

/** Signs an HS256 token for `sub` that expires in `seconds`. */
async function sign(sub: string, seconds: number, secret = SECRET): Promise<string> {
  return new SignJWT({})
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(sub)
    .setIssuedAt()
    .setExpirationTime(Math.floor(Date.now() / 1000) + seconds)
    .sign(new TextEncoder().encode(secret));
}

describe('authentication and token refresh', () => {
  let server: BarrageServer;
  let proxy: TcpProxy;
  const clients: BarrageClient[] = [];
  const open = async (options: ClientOptions) => {
    const c = await connect(wsUrl(proxy.port), { ...base, ...options });
    clients.push(c);
    return c;
  };

  before(async () => {
    server = await startServer({ jwtSecret: SECRET, requireAuth: true });
    proxy = await TcpProxy.start(server.port);
  });
  after(async () => {
    for (const c of clients) c.close();
    await proxy.close();
    await server.close();
  });

  it('authenticates with getToken and fetches a fresh token when the old one expired', async () => {
    let calls = 0;
    const client = await open({
      getToken: async () => {
        calls++;
        return sign('alice', 2); // inside the client's 5 s margin: stale by the next connect
      },
    });
    assert.equal(client.userId, 'alice');
    const sub = await client.join('chat:auth');
    assert.equal(calls, 1);
    proxy.cut();
    await waitFor(() => client.connections === 2 && client.state === 'open', 10_000, 'reconnect');
    assert.equal(calls, 2);
    assert.equal(client.userId, 'alice');
    assert.equal(sub.active, true);
    assert.deepEqual(client.rooms(), ['chat:auth']);
  });

  it('receives the pushes for its user, filtered by the events it asked for', async () => {
    const client = await open({ token: await sign('gina', 3600), events: ['alert'] });
    const pushes: Array<{ event: string; data: unknown }> = [];
    client.on('push', (p) => pushes.push({ event: p.event, data: p.data }));
    const push = async (event: string) => {
      const res = await fetch(`${server.url}/api/push`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ userId: 'gina', event, data: { event } }),
      });
      return ((await res.json()) as { delivered: number }).delivered;
    };
    assert.equal(await push('news'), 0, 'an event this connection did not ask for');
    assert.equal(await push('alert'), 1);
    await waitFor(() => pushes.length === 1, 5000, 'the alert');
    assert.deepEqual(pushes, [{ event: 'alert', data: { event: 'alert' } }]);
  });

  it('keeps a token that is still valid across reconnects', async () => {
    let calls = 0;
    const client = await open({
      getToken: async () => {
        calls++;
        return sign('bob', 3600);
      },
    });
    proxy.cut();
    await waitFor(() => client.connections === 2 && client.state === 'open', 10_000, 'reconnect');
    assert.equal(calls, 1);
  });

  it('asks getToken again after the server refuses a token (close 4501)', async () => {
    const handed: string[] = [];
    const client = await open({
      getToken: async () => {
        // The first token is signed with the wrong secret, so the server refuses it.
        const token = await sign(
          'carol',
          3600,
          handed.length === 0 ? 'wrong-secret-wrong-secret' : SECRET,
        );
        handed.push(token);
        return token;
      },
    });
    assert.equal(handed.length, 2);
    assert.equal(client.userId, 'carol');
    assert.equal(client.state, 'open');
  });

  it('gives up on a refused token when there is no way to get another', async () => {
    const bad = await sign('dave', 3600, 'wrong-secret-wrong-secret');
    await assert.rejects(connect(wsUrl(proxy.port), { ...base, token: bad }), (err: unknown) => {
      assert.ok(err instanceof BarrageError);
      assert.equal(err.code, 'unauthorized');
      assert.equal(err.closeCode, 4501);
      return true;
    });
    let calls = 0;
    await assert.rejects(
      connect(wsUrl(proxy.port), {
        ...base,
        getToken: () => {
          calls++;
          return bad; // the same refused token again: terminal
        },
      }),
      (err: BarrageError) => err.code === 'unauthorized',
    );
    assert.equal(calls, 2);
  });

  it('reconnects with a fresh token when the server closes an expired connection', async () => {
    const expiring = await startServer({
      jwtSecret: SECRET,
      heartbeatMs: 1000,
      publishRate: 1000,
      publishBurst: 1000,
    });
    try {
      let calls = 0;
      const viewer = await connect(wsUrl(expiring), {
        ...base,
        getToken: () => {
          calls++;
          return sign('erin', 1); // the server closes the connection with 4501 once it expires
        },
      });
      clients.push(viewer);
      const publisher = await connect(wsUrl(expiring), {
        ...base,
        token: await sign('frank', 3600),
      });
      clients.push(publisher);
      const sub = await viewer.join('chat:expiry');
      const offsets: number[] = [];
      sub.on('message', (m) => offsets.push(m.offset));
      const closes: number[] = [];
      viewer.on('close', (e) => closes.push(e.code));
      const published: number[] = [];
      const deadline = Date.now() + 15_000;
      while (!(closes.includes(4501) && viewer.state === 'open') && Date.now() < deadline) {
        published.push(await publisher.publish('chat:expiry', published.length));
        await new Promise((r) => setTimeout(r, 50));
      }
      for (let i = 0; i < 3; i++) published.push(await publisher.publish('chat:expiry', i));
      await waitFor(() => offsets.length >= published.length, 5000, 'every message');
      assert.ok(closes.includes(4501), `closes: ${closes.join(',')}`);
      assert.equal(viewer.state, 'open');
      assert.ok(calls >= 2 && calls <= 3, `${calls} tokens fetched`);
      assert.deepEqual(offsets, published, 'no gap and no duplicate across the expiry');
    } finally {
      await expiring.close();
    }
  });
});
