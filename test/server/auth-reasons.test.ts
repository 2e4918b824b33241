/**
 * Why a token is refused, told to the client (issue 16, "Dev mode"): a node with no JWT secret
 * or key says it verifies no tokens, an expired token says it expired; a forged one stays a plain
 * `invalid token`. In the `auth` reply, in the 4501 close and in the handshake's 401.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { useServer } from '../support/fixture.js';
import { rawExchange, upgradeRequest } from '../support/raw.js';
import { signToken, TEST_SECRET } from '../support/tokens.js';

const NO_VERIFIER = /verifies no tokens: no JWT secret, key or JWKS URL is configured \(dev mode\)/;
const past = () => Math.floor(Date.now() / 1000) - 60;

describe('a node with no JWT secret or key (dev mode)', () => {
  const fx = useServer({});

  it('refuses an auth saying no secret or key is configured, not "invalid token"', async () => {
    const c = await fx.connect();
    const reply = await c.request({ type: 'auth', token: await signToken('alice') });
    assert.equal(reply.code, 'unauthorized');
    assert.match(String(reply.message), NO_VERIFIER);
    assert.equal(await c.closed(), 4501);
    assert.match(c.closeReason, NO_VERIFIER);
  });

  it('refuses a ?token= at the handshake with 401 and the same reason', async () => {
    const token = await signToken('alice');
    const answer = await rawExchange(fx.server.port, upgradeRequest({}, `/ws?token=${token}`));
    assert.match(answer, /^HTTP\/1\.1 401/);
    assert.match(answer, NO_VERIFIER);
  });

  it('still serves anonymous connections', async () => {
    const c = await fx.connect();
    assert.equal((await c.request({ type: 'join', room: 'chat:dev' })).type, 'joined');
  });
});

describe('a node with a JWT secret', () => {
  const fx = useServer({ jwtSecret: TEST_SECRET });

  it('says an expired token expired, in the reply and the close', async () => {
    const c = await fx.connect();
    const token = await signToken('eve', {}, { expiresIn: past() });
    const reply = await c.request({ type: 'auth', token });
    assert.deepEqual([reply.code, reply.message], ['unauthorized', 'token expired']);
    assert.equal(await c.closed(), 4501);
    assert.equal(c.closeReason, 'token expired');
  });

  it('says an expired ?token= expired at the handshake', async () => {
    const token = await signToken('eve', {}, { expiresIn: past() });
    const answer = await rawExchange(fx.server.port, upgradeRequest({}, `/ws?token=${token}`));
    assert.match(answer, /^HTTP\/1\.1 401[\s\S]*\r\n\r\ntoken expired\n$/);
  });

  it('says a token not valid yet is not valid yet', async () => {
    const c = await fx.connect();
    const token = await signToken('eve', {}, { notBefore: Math.floor(Date.now() / 1000) + 3600 });
    assert.equal((await c.request({ type: 'auth', token })).message, 'token not yet valid');
  });

  it('calls a forged token invalid, even an expired one (the signature is checked first)', async () => {
    const c = await fx.connect();
    const token = await signToken('eve', {}, { expiresIn: past(), secret: 'x'.repeat(40) });
    assert.equal((await c.request({ type: 'auth', token })).message, 'invalid token');
    assert.equal(await c.closed(), 4501);
  });
});
