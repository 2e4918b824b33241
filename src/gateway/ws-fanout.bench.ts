/**
 * Micro-benchmark: one payload written to N real WebSocket connections (loopback; the readers
 * live in a child process), CPU per delivery in this process:
 * - `ws.send`: what the transport did before frame-once (ws frames the payload per socket);
 * - `socket.write`: the frame built once per payload, written to each socket through net's stream
 *   (what WsTransport did before it wrote to the descriptor: socket-writer.ts);
 * - `frame-once`: WsTransport, the frame built once per payload and written to each socket's
 *   descriptor while nothing is queued;
 * - `compress-once`: the same to readers that negotiated permessage-deflate.
 * Run: `npm run bench:micro` (or `node --import tsx src/gateway/ws-fanout.bench.ts`).
 */
import { fork } from 'node:child_process';
import type { Duplex } from 'node:stream';
import { fileURLToPath } from 'node:url';
import WebSocket, { WebSocketServer } from 'ws';
import { print, type Result, sample, summarize } from '../../bench/micro/timing.js';
import { DEFLATE_OPTIONS } from './ws-deflate.js';
import { SharedFrames } from './ws-frames.js';
import { WsTransport } from './ws-transport.js';

const MEMBERS = Number(process.env.BENCH_MEMBERS ?? 500);
const MESSAGES = 100;
const SIZES = [120, 4096];

interface Peer {
  ws: WebSocket;
  socket: Duplex;
  deflate: boolean;
}

if (process.argv[2] === 'readers') runReaders(Number(process.argv[3]), Number(process.argv[4]));
else await main();

/** Child: N plain and N deflating readers that read and discard. */
function runReaders(port: number, n: number): void {
  let open = 0;
  for (let i = 0; i < 2 * n; i++) {
    const ws = new WebSocket(`ws://127.0.0.1:${port}`, { perMessageDeflate: i >= n });
    ws.on('open', () => {
      if (++open === 2 * n) process.send?.('ready');
    });
    ws.on('message', () => {});
    ws.on('error', () => {});
  }
  process.on('disconnect', () => process.exit(0));
}

async function main(): Promise<void> {
  const wss = new WebSocketServer({
    port: 0,
    host: '127.0.0.1',
    perMessageDeflate: DEFLATE_OPTIONS,
  });
  await new Promise((r) => wss.once('listening', r));
  const peers: Peer[] = [];
  wss.on('connection', (ws, req) => {
    peers.push({ ws, socket: req.socket, deflate: ws.extensions.includes('permessage-deflate') });
  });
  const port = (wss.address() as { port: number }).port;
  const child = fork(fileURLToPath(import.meta.url), ['readers', String(port), String(MEMBERS)]);
  await new Promise<void>((r) => child.once('message', () => r()));

  const plain = peers.filter((p) => !p.deflate);
  const deflating = peers.filter((p) => p.deflate);
  const frames = new SharedFrames({ compressMinBytes: 1024 });
  const owner = { frames, closeGraceMs: 1000, received() {}, failed() {}, ended() {} };
  const asPlain = plain.map((p) => new WsTransport(p.ws, p.socket, owner, 0));
  const asDeflating = deflating.map((p) => new WsTransport(p.ws, p.socket, owner, 15));
  const opts = { binary: false, compress: false, fin: true } as const;
  const results: Result[] = [];
  const ROUNDS = 9;
  for (const size of SIZES) {
    const text = `{"type":"message","room":"live:r","offset":1,"data":"${'x'.repeat(size - 64)}"}`;
    const payloads = () => Array.from({ length: MESSAGES }, () => Buffer.from(text));
    const ops = MESSAGES * MEMBERS;
    const variants: [string, () => Promise<void>][] = [
      [
        'ws.send',
        async () => {
          for (const p of payloads()) {
            for (const peer of plain) peer.ws.send(p, opts);
            await drained(plain);
          }
        },
      ],
      [
        'socket.write',
        async () => {
          for (const p of payloads()) {
            const frame = frames.plain(p);
            for (const peer of plain) peer.socket.write(frame);
            await drained(plain);
          }
        },
      ],
      [
        'frame-once',
        async () => {
          for (const p of payloads()) {
            for (const t of asPlain) t.send(p);
            await drained(plain);
          }
        },
      ],
      [
        'compress-once',
        async () => {
          for (const p of payloads()) {
            for (const t of asDeflating) t.send(p);
            await drained(deflating);
          }
        },
      ],
    ];
    // Interleaved rounds, so a burst of other load on the machine hits every variant alike.
    const samples = variants.map(() => [] as Awaited<ReturnType<typeof sample>>[]);
    for (const [, run] of variants) await run();
    for (let r = 0; r < ROUNDS; r++) {
      for (const [i, [, run]] of variants.entries()) samples[i]!.push(await sample(ops, run));
    }
    variants.forEach(([name], i) => {
      results.push(summarize(`${name.padEnd(14)} ${size} B`, ops, samples[i]!));
    });
  }
  print(`fan-out to ${MEMBERS} loopback WebSockets, CPU per delivery (sender side)`, results);
  const c = frames.counters;
  if (c.deflatedIn > 0)
    console.log(`  compressed ${c.deflatedIn} B to ${c.deflatedOut} B (${c.deflated} payloads)`);
  child.disconnect();
  for (const p of peers) p.ws.terminate();
  wss.close();
}

/** Resolves once every socket handed its queued bytes to the kernel. */
async function drained(peers: Peer[]): Promise<void> {
  for (let i = 0; i < 10_000; i++) {
    if (peers.every((p) => p.ws.bufferedAmount === 0)) return;
    await new Promise((r) => setImmediate(r));
  }
  throw new Error('sockets did not drain');
}
