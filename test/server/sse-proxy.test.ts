/**
 * What an SSE client sees through a proxy that buffers responses (test/support/buffering-proxy.ts,
 * a real node:http proxy on loopback holding answers until 4 KiB or their end):
 * - a proxy that honours `X-Accel-Buffering: no` (nginx) passes every event at once;
 * - one that buffers whatever the headers say holds the stream, status line included, until
 *   4 KiB of events have piled up: a quiet room's viewer sees nothing;
 * - with `ssePadBytes` at the proxy's buffer size, the padded opening and heartbeats push the
 *   buffer: events arrive within a heartbeat, with no other traffic.
 * docs/sse.md#proxies-that-buffer says what Barrage does and what a deployment must set.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { BufferingProxy } from '../support/buffering-proxy.js';
import { api, startServer, waitFor } from '../support/server.js';
import { SseReader } from '../support/sse-client.js';

const BUFFER = 4096;

describe('SSE through a proxy that buffers responses', () => {
  const cleanup: (() => Promise<void> | void)[] = [];
  after(async () => {
    for (const f of cleanup.reverse()) await f();
  });

  async function setup(
    serverOptions: Parameters<typeof startServer>[0],
    honourAccelBuffering: boolean,
  ) {
    const server = await startServer(serverOptions);
    const proxy = await BufferingProxy.start(server.port, {
      bufferBytes: BUFFER,
      honourAccelBuffering,
    });
    cleanup.push(
      () => server.close(),
      () => proxy.close(),
    );
    return { server, proxy };
  }

  it('passes each event at once when the proxy honours X-Accel-Buffering: no', async () => {
    const { server, proxy } = await setup({}, true);
    const r = await SseReader.open(`${proxy.url}/sse?rooms=chat:nginx`);
    cleanup.push(() => r.close());
    await r.next((e) => e.event === 'joined');
    await api(server, 'POST', '/api/publish', { room: 'chat:nginx', data: 'now' });
    assert.equal((await r.next((e) => e.event === 'message')).json.data, 'now');
    const exchange = proxy.exchanges[0]!;
    assert.ok(exchange.upstreamBytes < BUFFER, 'far less than the buffer went through');
    assert.ok(exchange.flushes >= 2, `${exchange.flushes} flushes`);
  });

  it('holds a quiet stream whole behind a proxy that ignores the headers, until 4 KiB piled up', async () => {
    const { server, proxy } = await setup({}, false);
    const opening = SseReader.open(`${proxy.url}/sse?rooms=chat:held`);
    await waitFor(
      () => proxy.exchanges[0]?.upstreamText.includes('event: joined') === true,
      'the server sent joined',
    );
    await api(server, 'POST', '/api/publish', { room: 'chat:held', data: 'first' });
    const exchange = proxy.exchanges[0]!;
    await waitFor(() => exchange.upstreamText.includes('event: message'), 'the server sent it');
    // Sent by the server, held by the proxy: the viewer has not even seen the status line.
    assert.equal(exchange.clientBytes, 0);
    // Traffic unblocks it: once 4 KiB of events piled up they all arrive together, in order.
    const pad = 'x'.repeat(600);
    for (let i = 0; i < 8; i++)
      await api(server, 'POST', '/api/publish', { room: 'chat:held', data: `${i}${pad}` });
    const r = await opening;
    cleanup.push(() => r.close());
    assert.ok(exchange.firstFlushBytes >= BUFFER, `first flush ${exchange.firstFlushBytes} bytes`);
    // The client sees exactly what that one flush held, and the tail is held again.
    const flushed = exchange.upstreamText.slice(0, exchange.firstFlushBytes);
    // Events completed by a blank line inside the flush; a last one cut short waits for the rest.
    const complete = flushed.slice(0, flushed.lastIndexOf('\n\n') + 2);
    const inFlush = complete.split('event: message\n').length - 1;
    assert.ok(inFlush >= 2, `${inFlush} messages in the first flush`);
    await waitFor(() => r.all('message').length === inFlush, 'the piled-up events');
    assert.equal(r.all('message')[0]!.json.data, 'first');
    assert.ok(exchange.clientBytes < exchange.upstreamBytes, 'the tail is held again');
    assert.equal(r.all('joined').length, 1);
  });

  it('gets events through within a heartbeat with ssePadBytes at the proxy buffer size', async () => {
    const { server, proxy } = await setup({ ssePadBytes: BUFFER, heartbeatMs: 300 }, false);
    // The padded opening pushes the status line and `retry:` through at once.
    const r = await SseReader.open(`${proxy.url}/sse?rooms=chat:padded`);
    cleanup.push(() => r.close());
    assert.equal(r.status, 200);
    // welcome and joined, then a message, each pushed by the next padded heartbeat.
    await r.next((e) => e.event === 'joined');
    await api(server, 'POST', '/api/publish', { room: 'chat:padded', data: 'pushed' });
    assert.equal((await r.next((e) => e.event === 'message')).json.data, 'pushed');
    assert.ok(r.comments >= 2, `${r.comments} padding comments`);
    const exchange = proxy.exchanges[0]!;
    assert.ok(exchange.upstreamText.length < 65_536 && exchange.flushes >= 3);
  });
});
