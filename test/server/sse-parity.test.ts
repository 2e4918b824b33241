/**
 * SSE beside WebSocket where a difference would show: a render budget asked on the stream
 * (`budget=`), and a shadow-banned author's socketless publish, which its own stream must show
 * (as its WebSocket would) while everyone else's does not.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { TestClient } from '../support/client.js';
import { api, startServer, waitFor } from '../support/server.js';
import { SseReader } from '../support/sse-client.js';
import { signToken, TEST_SECRET } from '../support/tokens.js';

type Server = Awaited<ReturnType<typeof startServer>>;

describe('SSE parity with WebSocket', () => {
  let server: Server;
  const readers: SseReader[] = [];
  const open = async (query: string, headers: Record<string, string> = {}) => {
    const r = await SseReader.open(`${server.url}/sse?${query}`, headers);
    readers.push(r);
    return r;
  };
  before(async () => {
    server = await startServer({
      jwtSecret: TEST_SECRET,
      publishRate: 10_000,
      publishBurst: 10_000,
    });
  });
  after(async () => {
    for (const r of readers) r.close();
    await server.close();
  });

  it('shows a shadow-banned author its own socketless publish on its stream, and no one else', async () => {
    const room = 'chat:shadow';
    const carol = await signToken('carol');
    const own = await open(`rooms=${room}`, { authorization: `Bearer ${carol}` });
    const other = await open(`rooms=${room}`);
    const ws = await TestClient.connect(`${server.wsUrl}?token=${carol}`);
    await ws.request({ type: 'join', room });
    await own.next((e) => e.event === 'joined');
    await other.next((e) => e.event === 'joined');
    await server.node.moderation.shadowBan('carol', { room });
    const res = await fetch(`${server.url}/sse/publish`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${carol}` },
      body: JSON.stringify({ room, data: 'only me' }),
    });
    const reply = (await res.json()) as { type: string; offset: number };
    assert.equal(res.status, 200);
    assert.equal(reply.type, 'ok');
    const seen = await own.next((e) => e.event === 'message');
    assert.equal(seen.json.data, 'only me');
    assert.equal(seen.json.offset, reply.offset);
    assert.equal((await ws.next((m) => m.type === 'message')).data, 'only me');
    // A real message after it: the other stream gets that one and never the shadow line.
    await api(server, 'POST', '/api/publish', { room, data: 'real' });
    await other.next((e) => e.event === 'message' && e.json.data === 'real');
    assert.deepEqual(
      other.all('message').map((e) => e.json.data),
      ['real'],
    );
    await own.next((e) => e.event === 'message' && e.json.data === 'real');
    // Recovery keeps it so: the author's new stream from before the shadow line gets it back,
    // another reader's does not.
    const joined = own.all('joined')[0]!.json;
    const lastId = `p1 ${encodeURIComponent(room)}:${encodeURIComponent(String(joined.epoch))}:${Number(joined.offset)}`;
    const again = await open(`rooms=${room}`, {
      authorization: `Bearer ${carol}`,
      'last-event-id': lastId,
    });
    const mine = await again.next((e) => e.event === 'joined');
    assert.deepEqual(
      (mine.json.messages as { data: unknown }[]).map((m) => m.data),
      ['only me', 'real'],
    );
    const theirs = await (await open(`rooms=${room}`, { 'last-event-id': lastId })).next(
      (e) => e.event === 'joined',
    );
    assert.deepEqual(
      (theirs.json.messages as { data: unknown }[]).map((m) => m.data),
      ['real'],
    );
    ws.close();
  });

  it('samples a stream to the render budget it asks with budget=, accounting for every message', async () => {
    const room = 'live:budget';
    const sampled = await open(`rooms=${room}&budget=1`);
    const full = await open(`rooms=${room}`);
    await sampled.next((e) => e.event === 'joined');
    await full.next((e) => e.event === 'joined');
    const total = 200;
    await Promise.all(
      Array.from({ length: total }, (_, i) =>
        api(server, 'POST', '/api/publish', { room, data: i }),
      ),
    );
    await waitFor(() => full.all('message').length === total, 'every message on the full stream');
    const shownPlusSkipped = () =>
      sampled.all('message').length +
      sampled.all('skipped').reduce((n, e) => n + Number(e.json.count), 0);
    await waitFor(() => shownPlusSkipped() === total, 'shown + skipped = published');
    assert.ok(sampled.all('skipped').length > 0, 'the stream was sampled');
    assert.ok(sampled.all('message').length < total / 2, `${sampled.all('message').length} shown`);
  });

  it('refuses a budget that is not an integer from 0 to 100000, naming it', async () => {
    for (const bad of ['-1', 'x', '100001', '1.5']) {
      const res = await fetch(`${server.url}/sse?rooms=a&budget=${bad}`);
      assert.equal(res.status, 400, bad);
      const body = (await res.json()) as { error: { message: string } };
      assert.match(body.error.message, /budget/);
    }
  });
});
