/**
 * Secrets never reach the logs: tokens (good, forged, expired, in the URL or in `auth`), the JWT
 * secret, the API key and wrong API keys. Pass: none of those strings (nor a token's signature)
 * appears in any call of a recording logger given to createServer, nor anywhere in the stdout or
 * stderr of `barrage serve --log-level trace`.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import type { Logger } from '../../src/server/index.js';
import { TestClient } from '../support/client.js';
import { rawExchange, upgradeRequest } from '../support/raw.js';
import { startServer } from '../support/server.js';
import { signToken } from '../support/tokens.js';
import { serveProcess } from './support.js';

const now = () => Math.floor(Date.now() / 1000);

describe('secrets never reach the logs', () => {
  const API_KEY = `apikey-${randomBytes(16).toString('hex')}`;
  const SECRET = `jwtsecret-${randomBytes(16).toString('hex')}`;

  /** Drives every path that handles a token or a key; returns the strings that must not leak. */
  async function exercise(url: string, port: number): Promise<string[]> {
    const wsUrl = `${url.replace('http', 'ws')}/ws`;
    const good = await signToken('loguser', { rooms: ['r*'] }, { secret: SECRET });
    const forged = await signToken('eve', {}, { secret: 'f'.repeat(40) });
    const expired = await signToken('eve', {}, { secret: SECRET, expiresIn: now() - 60 });
    const viaUrl = await signToken('urluser', {}, { secret: SECRET });
    const c = await TestClient.connect(wsUrl);
    await c.request({ type: 'auth', token: good });
    await c.request({ type: 'join', room: 'nope' });
    await c.request({ type: 'auth', token: viaUrl });
    c.close();
    for (const bad of [forged, expired, 'garbage.token.here']) {
      const d = await TestClient.connect(wsUrl);
      await d.request({ type: 'auth', token: bad });
      await d.closed();
    }
    const u = await TestClient.connect(`${wsUrl}?token=${viaUrl}`);
    u.close();
    await rawExchange(port, upgradeRequest({}, `/ws?token=${forged}`), 500);
    const wrongKey = `wrong-${randomBytes(8).toString('hex')}`;
    for (const key of [API_KEY, wrongKey]) {
      await fetch(`${url}/api/publish`, {
        method: 'POST',
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
        body: JSON.stringify({ room: 'r1', data: 1 }),
      });
      await fetch(`${url}/api/nope`, { headers: { authorization: `Bearer ${key}` } });
    }
    const sig = (t: string) => t.split('.')[2]!;
    return [API_KEY, SECRET, wrongKey, good, forged, expired, viaUrl, sig(good), sig(viaUrl)];
  }

  it('in-process: a recording logger sees no token, key or secret in any call', async () => {
    const calls: string[] = [];
    const record = (level: string, bindings: object): Logger => {
      const log = (fields: object, message?: string) =>
        calls.push(JSON.stringify({ level, bindings, fields, message }));
      return {
        debug: log,
        info: log,
        warn: log,
        error: log,
        child: (more) => record(level, { ...bindings, ...more }),
      };
    };
    const server = await startServer({
      apiKey: API_KEY,
      jwtSecret: SECRET,
      logger: record('any', {}),
    });
    const secrets = await exercise(server.url, server.port);
    await server.close();
    assert.ok(calls.length > 0, 'the logger was used');
    const text = calls.join('\n');
    for (const s of secrets) assert.ok(!text.includes(s), `leaked: ${s.slice(0, 12)}...`);
  });

  it('the CLI at --log-level trace writes no token, key or secret to stdout or stderr', async () => {
    const served = await serveProcess(['--log-level', 'trace'], {
      BARRAGE_API_KEY: API_KEY,
      BARRAGE_JWT_SECRET: SECRET,
    });
    let secrets: string[];
    try {
      secrets = await exercise(served.url, served.port);
    } finally {
      await served.stop();
    }
    const text = served.stdout() + served.stderr();
    assert.ok(text.split('\n').length > 2, 'the server logged something');
    for (const s of secrets) assert.ok(!text.includes(s), `leaked: ${s.slice(0, 12)}...`);
  });
});
