/**
 * A real store failure reaches clients as `unavailable` with a stable message, never the driver's
 * text; the server logs the detail, and never the database URL's password. On a PostgreSQL this
 * test starts: first its tables renamed away (every read and inbox call fails with PostgreSQL's
 * own message naming the table), then the server killed (connection errors naming host and port).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import postgres from 'postgres';
import { STORE_UNAVAILABLE } from '../../src/node/index.js';
import { withoutPassword } from '../../src/store/postgres/client.js';
import { TestClient } from '../support/client.js';
import { type Logged, recordingLogger } from '../support/logger.js';
import { type PostgresProcess, startPostgres } from '../support/postgres-server.js';
import { api, startServer, waitFor } from '../support/server.js';
import { signToken, TEST_SECRET } from '../support/tokens.js';

const PASSWORD = 'pw-Never-In-A-Log-42';
const KEY = 'store-errors-key';
const AUTH = { authorization: `Bearer ${KEY}` };

let pg: PostgresProcess;
before(async () => {
  pg = await startPostgres();
});
after(() => pg?.stop());

/** Calls that each reach the store, over HTTP: [method, path, by a viewer (a JWT) or the API key]. */
const READS: [string, string, 'viewer' | 'key'][] = [
  ['GET', '/api/rooms/vod:err/timeline?from=0&to=1000', 'key'],
  ['GET', '/timeline/vod:err/0', 'viewer'],
  ['GET', '/api/rooms/chat:err/messages', 'key'],
  ['DELETE', '/api/rooms/vod:err/timeline/ep.1', 'key'],
  ['GET', '/dplayer/v3/?id=err', 'viewer'],
  ['GET', '/api/users/u1/alerts', 'key'],
];

/** Every call answers 503 `unavailable` with the stable message, and nothing of `leaks`. */
async function expectStableRefusals(
  server: { url: string },
  device: TestClient,
  leaks: RegExp,
): Promise<void> {
  const viewer = { authorization: `Bearer ${await signToken('u1')}` };
  for (const [method, path, by] of READS) {
    const r = await api(server, method, path, undefined, by === 'key' ? AUTH : viewer);
    const text = JSON.stringify(r.body);
    assert.equal(r.status, 503, `${method} ${path}: ${text}`);
    assert.deepEqual(r.body.error, { code: 'unavailable', message: STORE_UNAVAILABLE }, text);
    assert.doesNotMatch(text, leaks, `${method} ${path}`);
  }
  const reply = await device.request({ type: 'inbox', id: 'i' });
  assert.equal(reply.type, 'error', JSON.stringify(reply));
  assert.equal(reply.code, 'unavailable');
  assert.equal(reply.message, STORE_UNAVAILABLE);
  assert.doesNotMatch(JSON.stringify(reply), leaks);
}

describe('store errors reaching clients', () => {
  it('answers a stable unavailable, logs the detail without the password', async () => {
    const url = pg.url.replace('postgres@', `postgres:${PASSWORD}@`);
    const logged: Logged[] = [];
    const server = await startServer({
      store: 'postgres',
      databaseUrl: url,
      storedRooms: ['chat:*'],
      logger: recordingLogger(logged),
      jwtSecret: TEST_SECRET,
      apiKey: KEY,
      allowAnonymousPublish: true,
    });
    const admin = postgres(pg.url, { max: 1, onnotice: () => {} });
    const device = await TestClient.connect(`${server.wsUrl}?token=${await signToken('u1')}`);
    try {
      const ok = await api(server, 'GET', READS[0]![1], undefined, AUTH);
      assert.equal(ok.status, 200, 'the store answers before the faults');

      // PostgreSQL's message for these is `relation "barrage_messages" does not exist`.
      await admin.unsafe('ALTER TABLE barrage_messages RENAME TO barrage_messages_away');
      await admin.unsafe('ALTER TABLE barrage_alerts RENAME TO barrage_alerts_away');
      await expectStableRefusals(server, device, /relation|does not exist|barrage_/);
      const detail = logged.find((l) => String(l.fields.err).includes('does not exist'));
      assert.ok(detail, 'the driver message is in the server log');
      assert.match(String(detail.fields.err), /^postgres: /);

      await admin.unsafe('ALTER TABLE barrage_messages_away RENAME TO barrage_messages');
      await admin.unsafe('ALTER TABLE barrage_alerts_away RENAME TO barrage_alerts');
      await pg.kill();
      await expectStableRefusals(
        server,
        device,
        new RegExp(`127\\.0\\.0\\.1|${pg.port}|ECONN|CONNECT|write `),
      );

      await pg.restart();
      await waitFor(
        async () => (await api(server, 'GET', READS[0]![1], undefined, AUTH)).status === 200,
        'reads answer again after the restart',
        15_000,
      );
      const all = JSON.stringify(logged);
      assert.ok(!all.includes(PASSWORD), 'no log line holds the password');
    } finally {
      device.close();
      await admin.end({ timeout: 1 }).catch(() => {});
      await server.close();
    }
  });

  it('withoutPassword takes the password out of a message, raw and percent-encoded', () => {
    const url = 'postgres://app:p%40ss%2Fw0rd@db.example:5432/barrage';
    const message = `failed for postgres://app:p%40ss%2Fw0rd@db.example:5432/barrage (p@ss/w0rd)`;
    const clean = withoutPassword(message, url);
    assert.doesNotMatch(clean, /p%40ss|p@ss/);
    assert.match(clean, /db\.example:5432/);
    assert.equal(withoutPassword('no secret here', 'postgres://app@db/x'), 'no secret here');
  });
});
