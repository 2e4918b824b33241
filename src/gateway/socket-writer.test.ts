import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect, createServer, type Socket } from 'node:net';
import { PassThrough } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { directHandle, writeToSocket } from './socket-writer.js';

/** A connected pair of real loopback TCP sockets: `server` writes, `peer` reads. */
async function pair(): Promise<{ server: Socket; peer: Socket; close: () => void }> {
  const listener = createServer();
  listener.listen(0, '127.0.0.1');
  await once(listener, 'listening');
  const { port } = listener.address() as { port: number };
  const accepted = once(listener, 'connection');
  const peer = connect(port, '127.0.0.1');
  const [server] = (await accepted) as [Socket];
  await once(peer, 'connect');
  listener.close();
  return {
    server,
    peer,
    close: () => {
      server.destroy();
      peer.destroy();
    },
  };
}

/** Resolves with everything `peer` reads until it has `length` bytes. */
function readBytes(peer: Socket, length: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let got = 0;
  return new Promise((resolve, reject) => {
    peer.on('data', (c: Buffer) => {
      chunks.push(c);
      got += c.length;
      if (got >= length) resolve(Buffer.concat(chunks));
    });
    peer.once('error', reject);
  });
}

/** Buffer i of a run: its index in every byte, so order and integrity both show. */
function chunk(i: number, size: number): Buffer {
  return Buffer.alloc(size, i % 251);
}

describe('writeToSocket', () => {
  let p: Awaited<ReturnType<typeof pair>>;
  before(async () => {
    p = await pair();
  });
  after(() => p.close());

  it('writes to the descriptor of an idle TCP socket, in order with the stream’s own writes', async () => {
    const handle = directHandle(p.server);
    assert.notEqual(handle, null, 'a plain TCP socket qualifies');
    const fd = handle!.fd;
    const parts = [chunk(1, 100), chunk(2, 100), chunk(3, 100), chunk(4, 100)];
    const received = readBytes(p.peer, 400);
    writeToSocket(p.server, handle, fd, parts[0]!);
    assert.equal(p.server.writableLength, 0, 'nothing left queued in the stream');
    p.server.write(parts[1]!); // a frame of ws's own (a ping, a close) between two of ours
    writeToSocket(p.server, handle, fd, parts[2]!);
    writeToSocket(p.server, handle, fd, parts[3]!);
    assert.deepEqual(await received, Buffer.concat(parts));
  });
});

describe('writeToSocket to a reader that stopped', () => {
  it('queues what the kernel did not take in the stream, counted and in order', async () => {
    const { server, peer, close } = await pair();
    try {
      peer.pause();
      const handle = directHandle(server);
      const fd = handle!.fd;
      const sent: Buffer[] = [];
      // Fill the kernel's buffers until a write leaves bytes in the stream (bounded count).
      for (let i = 0; i < 10_000 && server.writableLength === 0; i++) {
        const b = chunk(i, 7001);
        sent.push(b);
        writeToSocket(server, handle, fd, b);
      }
      const queued = server.writableLength;
      assert.ok(queued > 0, 'a full kernel buffer leaves the rest in the stream');
      assert.ok(queued <= 7001, 'only the last write’s remainder');
      // Once anything is queued, every write goes through the stream and is counted there.
      const more = chunk(sent.length, 5000);
      sent.push(more);
      writeToSocket(server, handle, fd, more);
      assert.equal(server.writableLength, queued + more.length);
      const total = sent.reduce((n, b) => n + b.length, 0);
      const received = readBytes(peer, total);
      peer.resume();
      const got = await received;
      assert.equal(got.length, total);
      assert.ok(got.equals(Buffer.concat(sent)), 'every byte once, in order');
      await new Promise<void>((resolve) => {
        if (server.writableLength === 0) resolve();
        else server.once('drain', () => resolve());
      });
      assert.equal(server.writableLength, 0);
    } finally {
      close();
    }
  });
});

describe('writeToSocket to what is not an open TCP socket', () => {
  it('uses the stream for a Duplex that is not a net.Socket', async () => {
    const duplex = new PassThrough();
    assert.equal(directHandle(duplex), null);
    writeToSocket(duplex, null, -1, Buffer.from('via the stream'));
    const [data] = (await once(duplex, 'data')) as [Buffer];
    assert.equal(data.toString(), 'via the stream');
  });

  it('never writes to the descriptor of a destroyed socket (its number may be reused)', async () => {
    const old = await pair();
    const handle = directHandle(old.server);
    const fd = handle!.fd;
    old.close();
    await once(old.server, 'close');
    // New sockets take the lowest free descriptors: one of these likely has the old number.
    const next = await pair();
    try {
      const atServer = readBytes(next.server, 2);
      const atPeer = readBytes(next.peer, 2);
      writeToSocket(old.server, handle, fd, Buffer.from('late'));
      next.server.write('ok');
      next.peer.write('ok');
      // Bytes written to a reused descriptor would have arrived before these.
      assert.equal((await atServer).toString(), 'ok');
      assert.equal((await atPeer).toString(), 'ok');
    } finally {
      next.close();
    }
  });
});
