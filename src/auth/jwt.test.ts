import assert from 'node:assert/strict';
import { createHmac, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type JWTPayload, SignJWT } from 'jose';
import { BarrageError } from '../errors.js';
import { createJwtVerifier, readPublicKeyFile, type TokenVerifier } from './jwt.js';

const SECRET = 'a-test-secret-of-reasonable-length-0123456789';
const now = (): number => Math.floor(Date.now() / 1000);

const b64url = (value: unknown): string =>
  Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');

/** Signs an HS256 token with a raw key (a secret, or anything's bytes). */
function hs256(payload: JWTPayload, key: string | Uint8Array, header: object = {}): string {
  const signingInput = `${b64url({ alg: 'HS256', typ: 'JWT', ...header })}.${b64url(payload)}`;
  const sig = createHmac('sha256', key).update(signingInput).digest('base64url');
  return `${signingInput}.${sig}`;
}

/** Signs a token with jose. */
function sign(payload: JWTPayload, alg: string, key: KeyObject | Uint8Array): Promise<string> {
  return new SignJWT(payload).setProtectedHeader({ alg, typ: 'JWT' }).sign(key);
}

const secretKey = new TextEncoder().encode(SECRET);

describe('createJwtVerifier', () => {
  const dir = mkdtempSync(join(tmpdir(), 'barrage-jwt-'));
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  let rsaPem = '';
  let ecPem = '';

  before(() => {
    const rsaPath = join(dir, 'rsa.pem');
    const ecPath = join(dir, 'ec.pem');
    writeFileSync(rsaPath, rsa.publicKey.export({ type: 'spki', format: 'pem' }));
    writeFileSync(ecPath, ec.publicKey.export({ type: 'spki', format: 'pem' }));
    rsaPem = readPublicKeyFile(rsaPath);
    ecPem = readPublicKeyFile(ecPath);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  describe('HS256', () => {
    const verify = createJwtVerifier({ secret: SECRET });

    it('turns a valid token into an identity with the user id, claims and expiry', async () => {
      const exp = now() + 600;
      const identity = await verify(
        await sign({ sub: 'alice', exp, role: 'mod' }, 'HS256', secretKey),
      );
      assert.ok(identity);
      assert.equal(identity.userId, 'alice');
      // The connection ends when the verifier's 5 s clock tolerance runs out.
      assert.equal(identity.expiresAt, (exp + 5) * 1000);
      assert.equal(identity.claims?.role, 'mod');
      assert.equal(identity.joinRooms, undefined, 'no rooms claim: every room');
      assert.equal(identity.publishRooms, undefined);
    });

    it('accepts a token without exp and sets no expiry', async () => {
      const identity = await verify(hs256({ sub: 'bob' }, SECRET));
      assert.equal(identity?.userId, 'bob');
      assert.equal(identity?.expiresAt, undefined);
    });

    it('refuses an expired token, saying it expired', async () => {
      await assert.rejects(verify(hs256({ sub: 'alice', exp: now() - 60 }, SECRET)), {
        name: 'TokenRefused',
        message: 'token expired',
      });
    });

    it('refuses an expired token with a bad signature as invalid, not expired', async () => {
      assert.equal(await verify(hs256({ sub: 'alice', exp: now() - 60 }, `${SECRET}x`)), null);
    });

    it('tolerates the configured clock skew on exp, and no more', async () => {
      const strict = createJwtVerifier({ secret: SECRET, clockToleranceSec: 0 });
      const lenient = createJwtVerifier({ secret: SECRET, clockToleranceSec: 30 });
      const token = hs256({ sub: 'alice', exp: now() - 10 }, SECRET);
      await assert.rejects(strict(token), { message: 'token expired' });
      assert.equal((await lenient(token))?.userId, 'alice');
    });

    it('refuses a token whose nbf is in the future', async () => {
      await assert.rejects(verify(hs256({ sub: 'alice', nbf: now() + 60 }, SECRET)), {
        message: 'token not yet valid',
      });
    });

    it('accepts a token whose nbf has passed', async () => {
      assert.equal(
        (await verify(hs256({ sub: 'alice', nbf: now() - 60 }, SECRET)))?.userId,
        'alice',
      );
    });

    it('refuses a token signed with another secret', async () => {
      assert.equal(await verify(hs256({ sub: 'alice' }, `${SECRET}x`)), null);
    });

    it('refuses a token whose payload was changed after signing', async () => {
      const [h, , s] = hs256({ sub: 'alice' }, SECRET).split('.');
      assert.equal(await verify(`${h}.${b64url({ sub: 'admin' })}.${s}`), null);
    });

    it('refuses an unsigned token (alg: none)', async () => {
      const token = `${b64url({ alg: 'none', typ: 'JWT' })}.${b64url({ sub: 'alice' })}.`;
      assert.equal(await verify(token), null);
      assert.equal(await verify(token.slice(0, -1)), null, 'also without the trailing dot');
    });

    it('refuses alg: none spelled in another case', async () => {
      const token = `${b64url({ alg: 'None' })}.${b64url({ sub: 'alice' })}.`;
      assert.equal(await verify(token), null);
    });

    it('refuses another HMAC algorithm made with the right secret', async () => {
      assert.equal(await verify(await sign({ sub: 'alice' }, 'HS512', secretKey)), null);
    });

    it('refuses garbage without throwing', async () => {
      for (const token of [
        '',
        'x',
        'a.b.c',
        '...',
        `${b64url('{')}.${b64url('{}')}.sig`,
        'é.é.é',
      ]) {
        assert.equal(await verify(token), null, JSON.stringify(token));
      }
    });
  });

  describe('claims', () => {
    const verify = createJwtVerifier({ secret: SECRET });
    const claims = (extra: JWTPayload) => verify(hs256({ sub: 'alice', ...extra }, SECRET));

    it('refuses a token without sub', async () => {
      assert.equal(await verify(hs256({ name: 'alice' }, SECRET)), null);
    });

    it('refuses an empty or non-string sub', async () => {
      assert.equal(await claims({ sub: '' }), null);
      assert.equal(await verify(hs256({ sub: 42 } as unknown as JWTPayload, SECRET)), null);
    });

    it('turns rooms and publish claims into join and publish patterns', async () => {
      const identity = await claims({ rooms: ['live:*', 'chat:1'], publish: ['chat:1'] });
      assert.deepStrictEqual(identity?.joinRooms, ['live:*', 'chat:1']);
      assert.deepStrictEqual(identity?.publishRooms, ['chat:1']);
    });

    it('keeps an empty rooms list (join nothing) distinct from no claim (join any)', async () => {
      const identity = await claims({ rooms: [] });
      assert.deepStrictEqual(identity?.joinRooms, []);
      assert.equal(identity?.publishRooms, undefined);
    });

    for (const [name, extra] of [
      ['rooms as a string', { rooms: 'live:*' }],
      ['rooms with a number', { rooms: ['live:*', 1] }],
      ['rooms as an object', { rooms: { 0: 'live:*' } }],
      ['rooms null', { rooms: null }],
      ['publish as a string', { publish: 'chat:1' }],
      ['publish with null', { publish: [null] }],
    ] as const) {
      it(`refuses the token with ${name}`, async () => {
        assert.equal(await claims(extra as JWTPayload), null);
      });
    }
  });

  describe('audience and issuer', () => {
    const verify = createJwtVerifier({
      secret: SECRET,
      audience: 'barrage',
      issuer: 'https://auth.example',
    });
    const good = { sub: 'alice', aud: 'barrage', iss: 'https://auth.example' };

    it('accepts a token with the right audience and issuer', async () => {
      assert.equal((await verify(hs256(good, SECRET)))?.userId, 'alice');
    });

    it('accepts an audience list that contains the audience', async () => {
      assert.ok(await verify(hs256({ ...good, aud: ['other', 'barrage'] }, SECRET)));
    });

    it('refuses a missing or wrong audience', async () => {
      assert.equal(await verify(hs256({ ...good, aud: undefined }, SECRET)), null);
      assert.equal(await verify(hs256({ ...good, aud: 'other' }, SECRET)), null);
    });

    it('refuses a missing or wrong issuer', async () => {
      assert.equal(await verify(hs256({ ...good, iss: undefined }, SECRET)), null);
      assert.equal(await verify(hs256({ ...good, iss: 'https://evil.example' }, SECRET)), null);
    });

    it('ignores aud and iss when none is configured', async () => {
      const open = createJwtVerifier({ secret: SECRET });
      assert.ok(await open(hs256({ sub: 'a', aud: 'x', iss: 'y' }, SECRET)));
    });
  });

  describe('RS256 and ES256', () => {
    let rsVerify: TokenVerifier;
    let esVerify: TokenVerifier;
    before(() => {
      rsVerify = createJwtVerifier({ publicKeyPem: rsaPem });
      esVerify = createJwtVerifier({ publicKeyPem: ecPem });
    });

    it('accepts an RS256 token signed with the private key', async () => {
      const token = await sign({ sub: 'alice', rooms: ['live:*'] }, 'RS256', rsa.privateKey);
      const identity = await rsVerify(token);
      assert.equal(identity?.userId, 'alice');
      assert.deepStrictEqual(identity?.joinRooms, ['live:*']);
    });

    it('accepts an ES256 token signed with the private key', async () => {
      assert.equal(
        (await esVerify(await sign({ sub: 'bob' }, 'ES256', ec.privateKey)))?.userId,
        'bob',
      );
    });

    it('refuses an RS256 token signed with another key', async () => {
      const other = generateKeyPairSync('rsa', { modulusLength: 2048 });
      assert.equal(await rsVerify(await sign({ sub: 'alice' }, 'RS256', other.privateKey)), null);
    });

    it('refuses an ES256 token where an RSA key is configured', async () => {
      assert.equal(await rsVerify(await sign({ sub: 'alice' }, 'ES256', ec.privateKey)), null);
    });

    it('refuses an RS512 token made with the right RSA key', async () => {
      assert.equal(await rsVerify(await sign({ sub: 'alice' }, 'RS512', rsa.privateKey)), null);
    });

    it('refuses an HS256 token signed with the RSA public key PEM bytes (algorithm confusion)', async () => {
      const forged = hs256({ sub: 'admin' }, rsaPem);
      assert.equal(await rsVerify(forged), null);
      const withSecret = createJwtVerifier({ secret: SECRET, publicKeyPem: rsaPem });
      assert.equal(await withSecret(forged), null, 'also when a secret is configured too');
      assert.equal(
        await withSecret(
          hs256({ sub: 'admin' }, rsa.publicKey.export({ type: 'pkcs1', format: 'der' })),
        ),
        null,
      );
    });

    it('refuses an HS256 token signed with the EC public key PEM bytes', async () => {
      assert.equal(await esVerify(hs256({ sub: 'admin' }, ecPem)), null);
    });

    it('refuses an HS256 token even with the right secret when only a key is configured', async () => {
      assert.equal(await rsVerify(hs256({ sub: 'alice' }, SECRET)), null);
    });

    it('accepts both HS256 and RS256 when both are configured', async () => {
      const both = createJwtVerifier({ secret: SECRET, publicKeyPem: rsaPem });
      assert.ok(await both(hs256({ sub: 'a' }, SECRET)));
      assert.ok(await both(await sign({ sub: 'b' }, 'RS256', rsa.privateKey)));
    });

    it('checks expiry on RS256 tokens too', async () => {
      const token = await sign({ sub: 'alice', exp: now() - 60 }, 'RS256', rsa.privateKey);
      await assert.rejects(rsVerify(token), { message: 'token expired' });
    });
  });

  describe('construction', () => {
    const refuses = (fn: () => unknown, code: string, text: string) =>
      assert.throws(
        fn,
        (e: unknown) => e instanceof BarrageError && e.code === code && e.message.includes(text),
      );

    it('needs a secret, a public key or a JWKS URL', () => {
      refuses(
        () => createJwtVerifier({}),
        'BARRAGE_ERR_CONFIG',
        'needs a secret, a public key or a JWKS URL',
      );
      refuses(() => createJwtVerifier({ secret: '' }), 'BARRAGE_ERR_CONFIG', 'needs a secret');
    });

    it('refuses a JWKS URL that is not http(s), naming the option', () => {
      for (const url of ['ftp://idp.example/jwks', 'not a url', '']) {
        refuses(() => createJwtVerifier({ jwks: { url } }), 'BARRAGE_ERR_CONFIG', 'jwksUrl: ');
      }
    });

    it('refuses text that is not a PEM public key', () => {
      refuses(
        () => createJwtVerifier({ publicKeyPem: 'not a key' }),
        'BARRAGE_ERR_JWT_KEY',
        'not a PEM public key',
      );
    });

    it('refuses an EC key on a curve other than P-256', () => {
      const p384 = generateKeyPairSync('ec', { namedCurve: 'P-384' });
      const pem = p384.publicKey.export({ type: 'spki', format: 'pem' }).toString();
      refuses(
        () => createJwtVerifier({ publicKeyPem: pem }),
        'BARRAGE_ERR_JWT_KEY',
        'must be RSA (RS256) or EC P-256',
      );
    });

    it('refuses an Ed25519 key', () => {
      const ed = generateKeyPairSync('ed25519');
      const pem = ed.publicKey.export({ type: 'spki', format: 'pem' }).toString();
      refuses(() => createJwtVerifier({ publicKeyPem: pem }), 'BARRAGE_ERR_JWT_KEY', 'must be RSA');
    });

    it('names a key file it cannot read', () => {
      const path = join(dir, 'missing.pem');
      refuses(() => readPublicKeyFile(path), 'BARRAGE_ERR_JWT_KEY', `cannot read ${path}`);
    });
  });
});
