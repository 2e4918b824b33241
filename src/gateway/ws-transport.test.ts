import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { afterEach, describe, it } from 'node:test';
import { WebSocket, WebSocketServer } from 'ws';
import { SharedFrames } from './ws-frames.js';
import { type WsOwner, WsTransport } from './ws-transport.js';

/** A real ws server socket wrapped as a WsTransport, and the real client talking to it. */
async function connected(): Promise<{
  transport: WsTransport;
  client: WebSocket;
  received: string[];
  close: () => void;
}> {
  const wss = new WebSocketServer({ noServer: true });
  const owner: WsOwner = {
    frames: new SharedFrames({ compressMinBytes: 0 }),
    closeGraceMs: 1000,
    received: () => {},
    failed: () => {},
    ended: () => {},
  };
  const http = createServer();
  const opened = new Promise<WsTransport>((resolve) => {
    http.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      wss.handleUpgrade(req, socket, head, (ws) => {
        resolve(new WsTransport(ws, socket, owner, 0));
      });
    });
  });
  http.listen(0, '127.0.0.1');
  await once(http, 'listening');
  const { port } = http.address() as { port: number };
  const client = new WebSocket(`ws://127.0.0.1:${port}/`);
  const received: string[] = [];
  client.on('message', (data: Buffer) => received.push(data.toString()));
  const transport = await opened;
  await once(client, 'open');
  return {
    transport,
    client,
    received,
    close: () => {
      client.terminate();
      wss.close();
      http.close();
    },
  };
}

/** Resolves once `received` holds n messages, waiting for the client's message events. */
async function receivedCount(client: WebSocket, received: string[], n: number): Promise<void> {
  // Each turn waits for one message event: bounded by the messages the test sends.
  while (received.length < n) await once(client, 'message');
}

describe('WsTransport replies', () => {
  let done: (() => void) | null = null;
  afterEach(() => done?.());

  it('holds replies until the end of the turn, counted as buffered, in order with sends', async () => {
    const c = await connected();
    done = c.close;
    assert.ok(c.transport.reply(Buffer.from('ok 1')));
    const held = c.transport.bufferedAmount;
    assert.ok(held > 0, 'a held reply counts in bufferedAmount');
    // A send while replies are held joins them, after them.
    assert.ok(c.transport.send(Buffer.from('message')));
    assert.ok(c.transport.reply(Buffer.from('ok 2')));
    assert.ok(c.transport.bufferedAmount > held);
    await new Promise((r) => setImmediate(r));
    assert.equal(c.transport.bufferedAmount, 0, 'written at the end of the turn');
    await receivedCount(c.client, c.received, 3);
    assert.deepEqual(c.received, ['ok 1', 'message', 'ok 2']);
  });

  it('sends at once again once the turn is over', async () => {
    const c = await connected();
    done = c.close;
    c.transport.reply(Buffer.from('ok'));
    await new Promise((r) => setImmediate(r));
    c.transport.send(Buffer.from('later'));
    assert.equal(c.transport.bufferedAmount, 0, 'nothing held: written straight away');
    await receivedCount(c.client, c.received, 2);
    assert.deepEqual(c.received, ['ok', 'later']);
  });

  it('writes held replies before its own close frame', async () => {
    const c = await connected();
    done = c.close;
    c.transport.reply(Buffer.from('error: bye'));
    c.transport.close(4001, 'unauthorized');
    const [code] = (await once(c.client, 'close')) as [number];
    assert.equal(code, 4001);
    assert.deepEqual(c.received, ['error: bye'], 'the reply came before the close');
  });

  it('drops held replies on terminate and refuses replies after close', async () => {
    const c = await connected();
    done = c.close;
    c.transport.reply(Buffer.from('never'));
    c.transport.terminate();
    assert.equal(c.transport.reply(Buffer.from('late')), false);
    await once(c.client, 'close');
    assert.deepEqual(c.received, []);
  });
});
