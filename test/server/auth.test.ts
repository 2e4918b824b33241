import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TestClient } from '../support/client.js';
import { useServer } from '../support/fixture.js';
import { rawExchange, upgradeRequest } from '../support/raw.js';
import { signToken, TEST_SECRET } from '../support/tokens.js';

// Who may do what once a JWT secret is configured.
describe('Authentication and permissions', () => {
  const fx = useServer({ jwtSecret: TEST_SECRET });
  const connect = fx.connect;

  it('lets anonymous fx.clients join and read but not publish', async () => {
    const c = await connect();
    assert.equal((await c.request({ type: 'join', room: 'chat:open' })).type, 'joined');
    const reply = await c.request({ type: 'publish', room: 'chat:open', data: 1 });
    assert.equal(reply.code, 'unauthorized');
  });

  it('refuses an invalid ?token= at the handshake with 401', async () => {
    const reply = await rawExchange(fx.server.port, upgradeRequest({}, '/ws?token=garbage'));
    assert.match(reply, /^HTTP\/1\.1 401/);
    const expired = await signToken('eve', {}, { expiresIn: Math.floor(Date.now() / 1000) - 60 });
    assert.match(
      await rawExchange(fx.server.port, upgradeRequest({}, `/ws?token=${expired}`)),
      /^HTTP\/1\.1 401/,
    );
  });

  it('refuses expired, not-yet-valid and wrongly signed tokens in auth', async () => {
    const bad = [
      await signToken('eve', {}, { expiresIn: Math.floor(Date.now() / 1000) - 60 }),
      await signToken('eve', {}, { notBefore: Math.floor(Date.now() / 1000) + 3600 }),
      await signToken('eve', {}, { secret: 'another-secret-another-secret-0000' }),
    ];
    for (const token of bad) {
      const c = await connect();
      assert.equal((await c.request({ type: 'auth', token })).code, 'unauthorized');
      assert.equal(await c.closed(), 4501);
    }
  });

  it('applies the token room claims to join and publish', async () => {
    const token = await signToken('frank', {
      rooms: ['live:*', 'team:frank'],
      publish: ['team:frank'],
    });
    const c = await connect(`?token=${token}`);
    assert.equal((await c.request({ type: 'join', room: 'live:1' })).type, 'joined');
    assert.equal((await c.request({ type: 'join', room: 'team:frank' })).type, 'joined');
    assert.equal((await c.request({ type: 'join', room: 'team:other' })).code, 'forbidden');
    assert.equal((await c.request({ type: 'publish', room: 'team:frank', data: 1 })).type, 'ok');
    assert.equal((await c.request({ type: 'publish', room: 'live:1', data: 1 })).code, 'forbidden');
  });

  it('refuses to switch a connection to another user', async () => {
    const c = await connect(`?token=${await signToken('gina')}`);
    const reply = await c.request({ type: 'auth', token: await signToken('hank') });
    assert.equal(reply.code, 'bad_request');
    const same = await c.request({ type: 'auth', token: await signToken('gina') });
    assert.equal(same.type, 'ok', 're-auth of the same user (token refresh) is fine');
  });

  it('closes a connection with 4501 when its token expires (after the 5 s clock tolerance)', async () => {
    // Expiring now: still inside the verifier's clock tolerance, so it is accepted...
    const exp = Math.floor(Date.now() / 1000);
    const c = await connect(`?token=${await signToken('ivy', {}, { expiresIn: exp })}`);
    const started = Date.now();
    // ...and the connection ends when that same tolerance runs out.
    assert.equal(await c.closed(9000), 4501);
    assert.equal(c.closeReason, 'token expired');
    assert.ok(Date.now() - started > 3000);
  });
});

describe('Required authentication', () => {
  const fx = useServer({ jwtSecret: TEST_SECRET, requireAuth: true, authTimeoutMs: 300 });

  it('closes a connection that does not authenticate in time with 4002', async () => {
    const c = await TestClient.connect(fx.server.wsUrl);
    assert.equal(await c.closed(3000), 4002);
  });

  it('refuses joins before auth, and keeps an authenticated connection', async () => {
    const c = await TestClient.connect(fx.server.wsUrl);
    assert.equal((await c.request({ type: 'join', room: 'r' })).code, 'unauthorized');
    await c.request({ type: 'auth', token: await signToken('jane') });
    assert.equal((await c.request({ type: 'join', room: 'r' })).type, 'joined');
    await new Promise((r) => setTimeout(r, 600));
    assert.equal(c.closeCode, null);
    c.close();
  });
});
