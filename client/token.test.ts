import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { tokenExpired, tokenExpiresAt } from './token.js';

const b64url = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
const jwt = (payload: unknown) => `${b64url({ alg: 'HS256' })}.${b64url(payload)}.sig`;

describe('tokenExpiresAt', () => {
  it('reads exp in ms and ignores non-JWTs', () => {
    assert.equal(tokenExpiresAt(jwt({ sub: 'ü', exp: 1_700_000_000 })), 1_700_000_000_000);
    assert.equal(tokenExpiresAt(jwt({ sub: 'a' })), undefined);
    assert.equal(tokenExpiresAt('opaque-token'), undefined);
    assert.equal(tokenExpiresAt('a.!!!.c'), undefined);
  });

  it('treats tokens expiring within the skew as expired', () => {
    const now = 1_000_000_000_000;
    assert.equal(tokenExpired(jwt({ exp: now / 1000 + 2 }), now), true);
    assert.equal(tokenExpired(jwt({ exp: now / 1000 + 60 }), now), false);
    assert.equal(tokenExpired('opaque', now), false);
  });
});
