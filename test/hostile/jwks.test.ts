/**
 * JWKS (issue 11, item 10): tokens signed by an identity provider whose keys rotate, fetched from
 * a JWKS URL. The test runs its own provider (node:http on 127.0.0.1) that counts every request
 * and can be "down" (it drops each connection). Passes when a rotated key is picked up and the
 * retired one refused; when a flood of tokens with made-up `kid`s, or traffic while the provider
 * is down, costs the provider at most one request per cooldown (counted, not timed); when cached
 * keys keep working while the provider is down; and when a node that never reached its provider
 * says so and recovers once the provider is back.
 */
import assert from 'node:assert/strict';
import { createServer as createHttpServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, describe, it } from 'node:test';
import { exportJWK, generateKeyPair, type JWK, SignJWT } from 'jose';
import { CLOSE } from '../../src/protocol/index.js';
import { TestClient } from '../support/client.js';
import { rawExchange, upgradeRequest } from '../support/raw.js';
import { startServer } from '../support/server.js';

/** A signing key of the provider (or of an attacker), with its public JWK. */
interface SigningKey {
  kid: string;
  privateKey: CryptoKey;
  jwk: JWK;
}

async function signingKey(kid: string): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateKeyPair('RS256', { extractable: true });
  return {
    kid,
    privateKey,
    jwk: { ...(await exportJWK(publicKey)), kid, alg: 'RS256', use: 'sig' },
  };
}

function token(key: SigningKey, sub = 'alice'): Promise<string> {
  return new SignJWT({})
    .setProtectedHeader({ alg: 'RS256', kid: key.kid })
    .setSubject(sub)
    .setExpirationTime('1h')
    .sign(key.privateKey);
}

/** An identity provider's JWKS endpoint: serves `keys`, counts requests, can be down. */
class Provider {
  keys: JWK[] = [];
  down = false;
  requests = 0;
  private constructor(private readonly http: Server) {}

  static async start(): Promise<Provider> {
    const http = createHttpServer();
    const provider = new Provider(http);
    http.on('request', (req, res) => {
      provider.requests++;
      if (provider.down) {
        req.socket.destroy(); // as good as a refused connection to the fetching side
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ keys: provider.keys }));
    });
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
    return provider;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.http.address() as AddressInfo).port}/.well-known/jwks.json`;
  }

  stop(): Promise<void> {
    this.http.closeAllConnections();
    return new Promise((resolve) => this.http.close(() => resolve()));
  }
}

const cleanups: (() => unknown)[] = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

async function node(provider: Provider, cooldownMs: number) {
  const server = await startServer({ jwksUrl: provider.url, jwksCooldownMs: cooldownMs });
  cleanups.push(() => server.close());
  return server;
}

/** `auth` on a new connection: the reply (`ok`, or `error` with its message). */
async function auth(wsUrl: string, jwt: string): Promise<{ type: string; message?: unknown }> {
  const c = await TestClient.connect(wsUrl);
  cleanups.push(() => c.close());
  return c.request({ type: 'auth', token: jwt });
}

/** Retries `auth` until it succeeds (the cooldown has to pass first); bounded at 200 tries. */
async function authEventually(wsUrl: string, jwt: string): Promise<number> {
  for (let tries = 1; tries <= 200; tries++) {
    if ((await auth(wsUrl, jwt)).type === 'ok') return tries;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('never accepted');
}

/** `?token=` handshakes, 20 at a time: the HTTP status line of each. */
async function handshakes(port: number, jwts: string[]): Promise<string[]> {
  const out: string[] = [];
  for (let i = 0; i < jwts.length; i += 20) {
    const batch = jwts.slice(i, i + 20).map(async (jwt) => {
      const answer = await rawExchange(port, upgradeRequest({}, `/ws?token=${jwt}`));
      return answer.split('\r\n')[0]!;
    });
    out.push(...(await Promise.all(batch)));
  }
  return out;
}

describe('--jwks-url', () => {
  it('picks up a rotated key and refuses the retired one', async () => {
    const provider = await Provider.start();
    cleanups.push(() => provider.stop());
    const [k1, k2] = await Promise.all([signingKey('k1'), signingKey('k2')]);
    provider.keys = [k1.jwk];
    const server = await node(provider, 200);
    assert.equal((await auth(server.wsUrl, await token(k1))).type, 'ok');
    assert.equal(provider.requests, 1, 'fetched once, then cached');
    assert.equal((await auth(server.wsUrl, await token(k1))).type, 'ok');
    assert.equal(provider.requests, 1);

    provider.keys = [k2.jwk]; // rotation: k1 retired
    await authEventually(server.wsUrl, await token(k2, 'bob'));
    const retired = await auth(server.wsUrl, await token(k1));
    assert.deepEqual([retired.type, retired.message], ['error', 'invalid token']);
  });

  it('costs the provider one request per cooldown for a flood of unknown kids, up or down', async () => {
    const provider = await Provider.start();
    cleanups.push(() => provider.stop());
    const k1 = await signingKey('k1');
    provider.keys = [k1.jwk];
    const server = await node(provider, 3_600_000);
    assert.equal((await auth(server.wsUrl, await token(k1))).type, 'ok');
    assert.equal(provider.requests, 1);

    const attacker = await signingKey('made-up');
    const forged = await Promise.all(
      Array.from({ length: 200 }, (_, i) => token({ ...attacker, kid: `kid-${i}` })),
    );
    const statuses = await handshakes(server.port, forged);
    assert.deepEqual(new Set(statuses), new Set(['HTTP/1.1 401 Unauthorized']));
    assert.equal(provider.requests, 1, 'no fetch inside the cooldown');

    // The provider goes down: cached keys keep verifying, unknown kids still cost nothing.
    provider.down = true;
    assert.equal((await auth(server.wsUrl, await token(k1, 'carol'))).type, 'ok');
    await handshakes(server.port, forged.slice(0, 50));
    assert.equal(provider.requests, 1);
  });

  it('says the provider cannot be reached, asks it once per cooldown, and recovers', async () => {
    const provider = await Provider.start();
    cleanups.push(() => provider.stop());
    const k1 = await signingKey('k1');
    provider.keys = [k1.jwk];
    provider.down = true;
    const slow = await node(provider, 3_600_000);
    const c = await TestClient.connect(slow.wsUrl);
    cleanups.push(() => c.close());
    const reply = await c.request({ type: 'auth', token: await token(k1) });
    assert.equal(reply.code, 'unauthorized');
    assert.match(String(reply.message), /identity provider cannot be reached/);
    assert.equal(await c.closed(), CLOSE.unauthorized.code);
    const statuses = await handshakes(slow.port, await Promise.all([1, 2, 3].map(() => token(k1))));
    assert.deepEqual(new Set(statuses), new Set(['HTTP/1.1 401 Unauthorized']));
    assert.equal(provider.requests, 1, 'one attempt, then the cooldown');

    // A node with a short cooldown gets in once the provider is back.
    const quick = await node(provider, 200);
    assert.equal((await auth(quick.wsUrl, await token(k1))).type, 'error');
    provider.down = false;
    await authEventually(quick.wsUrl, await token(k1));
  });
});
