import assert from 'node:assert/strict';
import { once } from 'node:events';
import type { AddressInfo, Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import WebSocket, { WebSocketServer } from 'ws';
import { readFramesRaw } from './raw-frames.js';

/** A client whose frames the raw reader takes over, and the server side of it. */
interface Pair {
  client: WebSocket;
  socket: Socket;
  server: WebSocket;
  messages: Buffer[];
  closes: number[];
  /** Resolves once the client socket has read at least `n` bytes in all. */
  readBytes(n: number): Promise<void>;
  /** Resolves once `n` messages were read. */
  readMessages(n: number): Promise<void>;
}

/** A client connected to `wss` at `url`, its TCP socket, and the server's side of it. */
async function open(
  wss: WebSocketServer,
  url: string,
  perMessageDeflate: boolean,
): Promise<{ client: WebSocket; socket: Socket; server: WebSocket }> {
  const accepted = once(wss, 'connection') as Promise<[WebSocket]>;
  const client = new WebSocket(url, { perMessageDeflate });
  // 'open' follows 'upgrade' in the same turn: listen for both before waiting.
  const upgraded = new Promise<Socket>((res) => {
    client.once('upgrade', (r) => res(r.socket as Socket));
  });
  await once(client, 'open');
  const socket = await upgraded;
  const [server] = await accepted;
  return { client, socket, server };
}

describe('readFramesRaw', () => {
  let wss: WebSocketServer;
  let url: string;
  before(async () => {
    wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    await once(wss, 'listening');
    url = `ws://127.0.0.1:${(wss.address() as AddressInfo).port}`;
  });
  after(() => {
    for (const c of wss.clients) c.terminate();
    wss.close();
  });

  async function pair(): Promise<Pair> {
    const { client, socket, server } = await open(wss, url, false);
    const messages: Buffer[] = [];
    const closes: number[] = [];
    const taken = readFramesRaw(client, socket, {
      message: (b) => messages.push(Buffer.from(b)),
      close: (code) => closes.push(code),
    });
    assert.equal(taken, true);
    // The reader's own 'data' listener was added first, so it has run when these wake up.
    const readBytes = async (n: number): Promise<void> => {
      while (socket.bytesRead < n) await once(socket, 'data');
    };
    const readMessages = async (n: number): Promise<void> => {
      while (messages.length < n) await once(socket, 'data');
    };
    return { client, socket, server, messages, closes, readBytes, readMessages };
  }

  it('reads whole messages of every length form, fragmented ones and frames cut across reads', {
    timeout: 20_000,
  }, async () => {
    const p = await pair();
    const small = Buffer.from('a\nb');
    const mid = Buffer.alloc(300, 'm');
    const big = Buffer.alloc(70_000, 'g');
    p.server.send(small);
    p.server.send(mid);
    p.server.send(big);
    p.server.send('frag-', { fin: false });
    p.server.send('ment', { fin: true });
    // A frame written in two pieces, the second only after the first was read.
    const raw = Buffer.concat([Buffer.from([0x81, 126, 0x01, 0x00]), Buffer.alloc(256, 's')]);
    const serverSocket = (p.server as unknown as { _socket: Socket })._socket;
    await p.readMessages(4);
    const read = p.socket.bytesRead;
    serverSocket.write(raw.subarray(0, 3));
    await p.readBytes(read + 3);
    assert.equal(p.messages.length, 4);
    serverSocket.write(raw.subarray(3));
    await p.readMessages(5);
    assert.deepEqual(
      p.messages.map((m) => m.length),
      [small.length, mid.length, big.length, 'frag-ment'.length, 256],
    );
    assert.equal(p.messages[0]!.toString(), 'a\nb');
    assert.ok(p.messages[2]!.equals(big));
    assert.equal(p.messages[3]!.toString(), 'frag-ment');
    assert.ok(p.messages[4]!.equals(Buffer.alloc(256, 's')));
    p.client.terminate();
  });

  it('answers a protocol ping through ws and reports the close code of a close frame', {
    timeout: 20_000,
  }, async () => {
    const p = await pair();
    p.server.ping(Buffer.from('hi'));
    const [pong] = (await once(p.server, 'pong')) as [Buffer];
    assert.equal(pong.toString(), 'hi');
    const closed = once(p.client, 'close');
    p.server.close(4008, 'too slow');
    await closed;
    assert.deepEqual(p.closes, [4008]);
  });

  it('closes 1002 on a masked frame, a reserved bit or an unknown opcode, and reads no further', {
    timeout: 20_000,
  }, async () => {
    const frames = [
      Buffer.from([0x81, 0x82, 1, 2, 3, 4, 0x60, 0x6b]), // masked: servers never mask
      Buffer.from([0xc1, 0x01, 0x78]), // RSV1 without an extension
      Buffer.from([0x83, 0x01, 0x78]), // opcode 3 (reserved)
    ];
    for (const bad of frames) {
      const p = await pair();
      const serverSocket = (p.server as unknown as { _socket: Socket })._socket;
      const closed = once(p.client, 'close');
      // A good message first, then the bad frame and a good one after it in the same write.
      serverSocket.write(
        Buffer.concat([
          Buffer.from([0x81, 0x02, 0x6f, 0x6b]),
          bad,
          Buffer.from([0x81, 0x01, 0x7a]),
        ]),
      );
      await closed;
      assert.deepEqual(p.closes, [1002], bad.toString('hex'));
      assert.deepEqual(
        p.messages.map((m) => m.toString()),
        ['ok'],
        bad.toString('hex'),
      );
    }
  });

  it('leaves a connection that negotiated compression to ws', { timeout: 20_000 }, async () => {
    const deflating = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: true });
    await once(deflating, 'listening');
    const port = (deflating.address() as AddressInfo).port;
    const { client, socket, server } = await open(deflating, `ws://127.0.0.1:${port}`, true);
    const seen: Buffer[] = [];
    const taken = readFramesRaw(client, socket, { message: (b) => seen.push(b), close: () => {} });
    assert.equal(taken, false);
    assert.match(client.extensions, /permessage-deflate/);
    const got = once(client, 'message') as Promise<[Buffer]>;
    server.send(Buffer.alloc(2000, 'z'), { compress: true });
    const [message] = await got;
    assert.ok(message.equals(Buffer.alloc(2000, 'z')), 'ws still reads (and inflates) it');
    assert.equal(seen.length, 0);
    client.terminate();
    deflating.close();
  });
});
