import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { constants, inflateRawSync } from 'node:zlib';
import { TestClient } from '../support/client.js';
import { FrameReader, type WireFrame } from '../support/frame-reader.js';
import { api, startServer, waitFor } from '../support/server.js';

type Server = Awaited<ReturnType<typeof startServer>>;

/** Joins a raw reader to a room and waits for the `joined` reply. */
async function joinRaw(reader: FrameReader, room: string): Promise<void> {
  reader.sendText(JSON.stringify({ type: 'join', id: 1, room }));
  await reader.until(() => reader.texts().some((t) => t.includes('"type":"joined"')), 'joined');
}

/** Publishes through the HTTP API; returns the offset. */
async function publish(server: Server, room: string, data: unknown): Promise<number> {
  const res = await api(server, 'POST', '/api/publish', { room, data });
  assert.equal(res.status, 200, JSON.stringify(res.body));
  return res.body.offset as number;
}

/** A text frame's payload, inflated when it came compressed (RFC 7692 7.2.2). */
function decodedOf(f: WireFrame): string {
  if (!f.rsv1) return f.payload.toString();
  const tail = Buffer.from([0, 0, 0xff, 0xff]);
  const opts = { finishFlush: constants.Z_SYNC_FLUSH };
  return inflateRawSync(Buffer.concat([f.payload, tail]), opts).toString();
}

/** The text frames a raw reader got, inflated. */
function decoded(reader: FrameReader): string[] {
  return reader.frames.filter((f) => f.opcode === 1).map(decodedOf);
}

/** The text of every frame from the first `message` on. */
function messageFrames(texts: string[]): string[] {
  return texts.filter((t) => t.includes('"type":"message"'));
}

// Frame once: a payload is framed once and the same bytes go to every member (ws-frames.ts).
describe('Frame once', () => {
  let server: Server;
  before(async () => {
    server = await startServer({
      roomPolicies: ['one:*=0/lossy', 'merge:*=200/lossy/fixed', 'rel:*=0/reliable'],
      sendSoftLimitBytes: 64 * 1024,
      sendHardLimitBytes: 128 * 1024,
      sendStallTimeoutMs: 0,
    });
  });
  after(async () => {
    await server.close();
  });

  it('gives every member the same intact, unmasked frames of every length encoding, in order', async () => {
    const clients = [
      await TestClient.connect(server.wsUrl),
      await TestClient.connect(server.wsUrl),
    ];
    const raw = await FrameReader.open(server.port);
    try {
      for (const c of clients) await c.request({ type: 'join', room: 'one:a' });
      await joinRaw(raw, 'one:a');
      for (const c of clients) await c.request({ type: 'join', room: 'merge:a' });
      await joinRaw(raw, 'merge:a');
      // 7-bit and 16-bit lengths: one message per frame.
      await publish(server, 'one:a', 's');
      await publish(server, 'one:a', 'm'.repeat(1000));
      // 64-bit length: a merged batch past 64 KiB (flushed early by its size).
      const big = 'b'.repeat(20_000);
      for (let i = 0; i < 4; i++) await publish(server, 'merge:a', { i, big });
      await publish(server, 'one:a', 'end');
      for (const c of clients) await c.next((m) => m.type === 'message' && m.data === 'end');
      await raw.until(() => raw.texts().some((t) => t.includes('"data":"end"')), 'the last one');

      const lengths = new Set(raw.frames.map((f) => f.lengthBits));
      assert.deepEqual([...lengths].sort(), [16, 64, 7].sort());
      for (const f of raw.frames) {
        assert.equal(f.masked, false, 'server frames are never masked');
        assert.equal(f.fin, true);
        assert.equal(f.rsv1, false, 'no compression negotiated');
        assert.equal(f.opcode, 1);
      }
      const rawMessages = messageFrames(raw.texts());
      for (const c of clients) assert.deepEqual(messageFrames(c.frames), rawMessages);
      const merged = rawMessages.filter((t) => t.includes('"big"'));
      assert.equal(merged.join('\n').split('\n').length, 4, 'all four merged lines arrived');
      for (const t of rawMessages) for (const line of t.split('\n')) JSON.parse(line);
    } finally {
      for (const c of clients) c.close();
      raw.close();
    }
  });

  it('writes a close queued behind unread frames after them, and nothing after it', async () => {
    const raw = await FrameReader.open(server.port);
    try {
      await joinRaw(raw, 'rel:slow');
      raw.socket.pause();
      const payload = 'x'.repeat(8000);
      let sent = 0;
      const closedBefore = server.node.hub.counters.closedSlow;
      // Kernel buffers first, then the server's own queue up to its hard mark: closed 4008.
      while (server.node.hub.counters.closedSlow === closedBefore && sent < 5000) {
        await publish(server, 'rel:slow', { i: sent++, payload });
      }
      assert.ok(sent < 5000, 'closed for being slow');
      raw.socket.resume();
      await raw.until(() => raw.frames.some((f) => f.opcode === 8), 'the close frame');
      await waitFor(() => raw.ended, 'the socket to end', 10_000);
      const closeAt = raw.frames.findIndex((f) => f.opcode === 8);
      assert.equal(closeAt, raw.frames.length - 1, 'the close frame is the last one');
      assert.equal(raw.frames[closeAt]!.payload.readUInt16BE(0), 4008);
      const offsets = messageFrames(raw.texts()).map((t) => JSON.parse(t).data.i as number);
      assert.ok(offsets.length > 0);
      assert.deepEqual(
        offsets,
        offsets.map((_, k) => k),
        'every frame before the close intact and in order',
      );
    } finally {
      raw.close();
    }
  });
});

describe('Frame once: protocol pings', () => {
  it('sends protocol pings between shared frames without splitting them', async () => {
    const server = await startServer({ roomPolicies: ['one:*=0/lossy'], heartbeatMs: 200 });
    const raw = await FrameReader.open(server.port);
    try {
      await joinRaw(raw, 'one:p');
      // A listener that never writes in a busy room gets protocol pings (Liveness.NeedsProbe).
      let i = 0;
      while (!raw.frames.some((f) => f.opcode === 9) && i < 2000) {
        await publish(server, 'one:p', { i: i++ });
      }
      const pingAt = raw.frames.findIndex((f) => f.opcode === 9);
      assert.ok(pingAt >= 0, 'a protocol ping arrived');
      const after = i;
      await publish(server, 'one:p', { i: after });
      await raw.until(() => raw.texts().some((t) => t.includes(`"i":${after}}`)), 'the last one');
      const isMessage = (f: { opcode: number; payload: Buffer }) =>
        f.opcode === 1 && f.payload.includes('"type":"message"');
      assert.ok(raw.frames.slice(0, pingAt).some(isMessage), 'messages before the ping');
      assert.ok(raw.frames.slice(pingAt + 1).some(isMessage), 'messages after the ping');
      const seen = messageFrames(raw.texts()).map((t) => JSON.parse(t).data.i as number);
      assert.deepEqual(
        seen,
        seen.map((_, k) => k),
      );
    } finally {
      raw.close();
      await server.close();
    }
  });
});

describe('Compress once', () => {
  let server: Server;
  before(async () => {
    server = await startServer({
      roomPolicies: ['one:*=0/lossy', 'merge:*=200/lossy/fixed'],
      wsCompressMinBytes: 512,
    });
  });
  after(async () => {
    await server.close();
  });

  it('serves compressing and plain clients of one room the same messages', async () => {
    const deflating = await TestClient.connect(server.wsUrl, { perMessageDeflate: true });
    const plain = await TestClient.connect(server.wsUrl, { perMessageDeflate: false });
    const raw = await FrameReader.open(server.port, {
      'Sec-WebSocket-Extensions': 'permessage-deflate; client_max_window_bits',
    });
    try {
      assert.equal(deflating.ws.extensions, 'permessage-deflate');
      assert.equal(plain.ws.extensions, '');
      assert.match(
        raw.head,
        /sec-websocket-extensions: permessage-deflate;.*server_no_context_takeover/i,
      );
      for (const c of [deflating, plain]) {
        await c.request({ type: 'join', room: 'one:c' });
        await c.request({ type: 'join', room: 'merge:c' });
      }
      await joinRaw(raw, 'one:c');
      await joinRaw(raw, 'merge:c');
      await publish(server, 'one:c', 'small');
      // Each line alone is over the threshold, so every frame of them is compressed however the
      // window splits them.
      const line = { text: 'a chat line that repeats itself '.repeat(24) };
      for (let i = 0; i < 20; i++) await publish(server, 'merge:c', { i, ...line });
      // The end marker goes in the merged room too, so it arrives after every merged line.
      await publish(server, 'merge:c', 'end');
      for (const c of [deflating, plain]) {
        await c.next((m) => m.type === 'message' && m.data === 'end');
      }
      assert.deepEqual(messageFrames(deflating.frames), messageFrames(plain.frames));
      await raw.until(() => decoded(raw).some((t) => t.includes('"data":"end"')), 'the end');
      assert.deepEqual(messageFrames(decoded(raw)), messageFrames(plain.frames));
      const batches = raw.frames.filter((f) => f.opcode === 1 && decodedOf(f).includes('"i":'));
      assert.ok(batches.length >= 1);
      for (const f of batches) {
        assert.equal(f.rsv1, true, 'a frame over the threshold is compressed');
        assert.ok(f.payload.length < decodedOf(f).length / 2, 'and much smaller');
      }
      const small = raw.frames.find((f) => f.payload.includes('"small"'));
      assert.equal(small?.rsv1, false, 'a message under the threshold is sent plain');
    } finally {
      deflating.close();
      plain.close();
      raw.close();
    }
  });

  it('connects a client whose offer does not let the server bound its window, uncompressed', async () => {
    const raw = await FrameReader.open(server.port, {
      'Sec-WebSocket-Extensions': 'permessage-deflate',
    });
    try {
      assert.doesNotMatch(raw.head, /sec-websocket-extensions/i);
      await joinRaw(raw, 'one:c');
      await publish(server, 'one:c', 'z'.repeat(2000));
      await raw.until(() => raw.texts().some((t) => t.includes('zzzz')), 'the message');
      assert.ok(raw.frames.every((f) => !f.rsv1));
    } finally {
      raw.close();
    }
  });
});
