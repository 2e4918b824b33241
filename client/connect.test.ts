import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import WebSocket from 'ws';
import type { BarrageServer } from '../src/server/index.js';
import { freePort, startServer, waitFor, wsUrl } from '../test/e2e/support/server.js';
import {
  type BarrageClient,
  BarrageError,
  type ClientEvents,
  type ClientOptions,
  connect,
  createClient,
} from './index.js';

const base: ClientOptions = {
  WebSocket,
  requestTimeoutMs: 5000,
  backoff: { initialMs: 50, maxMs: 400 },
};

// A new user's first minutes: a wrong URL, a stopped server, a failing token source and a too
// big message each name their cause at once, instead of a timeout later.
describe('connecting and sending: failures that name their cause', () => {
  let server: BarrageServer;
  const clients: BarrageClient[] = [];

  before(async () => {
    server = await startServer({ maxFrameBytes: 1024 });
  });
  after(async () => {
    for (const c of clients) c.close();
    await server.close();
  });

  it('connect() to a stopped server fails with "connection refused", not a timeout', async () => {
    const port = await freePort();
    await assert.rejects(connect(wsUrl(port), base), (err: unknown) => {
      assert.ok(err instanceof BarrageError);
      assert.equal(err.code, 'unavailable');
      assert.match(err.message, /connection refused/);
      assert.match(err.message, new RegExp(`127\\.0\\.0\\.1:${port}`));
      return true;
    });
  });

  it('connect() to a wrong path fails with the HTTP 404', async () => {
    const url = `ws://127.0.0.1:${server.port}/nope`;
    await assert.rejects(connect(url, base), (err: unknown) => {
      assert.ok(err instanceof BarrageError);
      assert.equal(err.code, 'not_found');
      assert.match(err.message, /HTTP 404/);
      return true;
    });
  });

  it('createClient() keeps trying a stopped server and says why each try failed', async () => {
    const client = createClient(wsUrl(await freePort()), base);
    clients.push(client);
    const closes: ClientEvents['close'][] = [];
    client.on('close', (e) => closes.push(e));
    await waitFor(() => closes.length >= 2, 5000, 'two failed tries');
    for (const e of closes.slice(0, 2)) {
      assert.equal(e.willReconnect, true);
      assert.equal(e.error?.code, 'unavailable');
      assert.match(e.reason, /connection refused/);
    }
    client.close();
  });

  it('connect() rejects with the very error a throwing getToken threw', async () => {
    const own = new Error('log in first');
    let calls = 0;
    const errors: BarrageError[] = [];
    const attempt = connect(wsUrl(server), {
      ...base,
      getToken: () => {
        calls++;
        throw own;
      },
    });
    await assert.rejects(attempt, (err: unknown) => err === own);
    assert.equal(calls, 1);
    // The background client reports it as an SDK error that carries it.
    const client = createClient(wsUrl(server), {
      ...base,
      getToken: () => {
        throw own;
      },
    });
    clients.push(client);
    client.on('error', (e) => errors.push(e));
    await waitFor(() => errors.length >= 1, 5000, 'an error event');
    assert.equal(errors[0]!.cause, own);
    assert.match(errors[0]!.message, /getToken failed: log in first/);
    client.close();
  });

  it('refuses a publish over the server frame limit itself, and the connection stays', async () => {
    const client = await connect(wsUrl(server), base);
    clients.push(client);
    assert.equal(client.maxFrameBytes, 1024);
    const sub = await client.join('chat:big');
    const got: unknown[] = [];
    sub.on('message', (m) => got.push(m.data));
    await assert.rejects(client.publish('chat:big', 'é'.repeat(600)), (err: unknown) => {
      assert.ok(err instanceof BarrageError);
      assert.equal(err.code, 'too_large');
      assert.match(err.message, /publish is \d+ bytes; the server reads frames up to 1024 bytes/);
      return true;
    });
    await client.publish('chat:big', 'small');
    await waitFor(() => got.length === 1, 5000, 'the small message');
    assert.deepEqual(got, ['small']);
    assert.equal(client.connections, 1, 'the connection was never closed');
  });
});
