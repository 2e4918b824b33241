// The Node side of the write-floor measurement (docs/performance.md, "The unmerged path"): one
// frame to N WebSockets per round, CPU per delivery (process.cpuUsage) for each way of writing,
// variants interleaved. Readers: bench/micro/floor/reader.c PORT N ws. Run after `npm run build`:
//   taskset -c 0 node bench/micro/floor/node-writer.mjs PORT N ROUNDS RATE SAMPLES [VARIANTS]
// Variants (comma list, default all):
//   old      Session.send over the transport as it was before socket-writer.ts (socket.write)
//   session  Session.send over WsTransport (what the server does per member)
//   socket   the shared frame through socket.write, no session
//   fd       a writableLength check and fs.writeSync per socket, no session: the least Node does
import { writeSync } from 'node:fs';
import { WebSocketServer } from 'ws';
import { SharedFrames } from '../../../dist/src/gateway/ws-frames.js';
import { WsTransport } from '../../../dist/src/gateway/ws-transport.js';
import { Session } from '../../../dist/src/session/session.js';

const [port, n, rounds, rate, samples] = process.argv.slice(2, 7).map(Number);
const variants = (process.argv[7] ?? 'old,session,socket,fd').split(',');
const frames = new SharedFrames({ compressMinBytes: 0 });
const limits = {
  sendSoftLimitBytes: 256 * 1024,
  sendHardLimitBytes: 1 << 20,
  publishRate: 1,
  publishBurst: 1,
  commandRate: 1,
  commandBurst: 1,
};

/** The transport before socket-writer.ts: every frame through socket.write. */
class OldTransport {
  constructor(ws, socket) {
    this.ws = ws;
    this.socket = socket;
  }
  send(frame) {
    if (this.ws.readyState !== 1) return false;
    this.socket.write(frames.plain(frame));
    return true;
  }
  get bufferedAmount() {
    return this.ws.bufferedAmount;
  }
}

const peers = [];
const owner = { frames, closeGraceMs: 1000, received() {}, failed() {}, ended() {} };
const wss = new WebSocketServer({ port, host: '127.0.0.1' });
wss.on('connection', (ws, req) => {
  const socket = req.socket;
  const now = Date.now();
  const t = new WsTransport(ws, socket, owner, 0);
  const o = new OldTransport(ws, socket);
  peers.push({
    socket,
    fd: socket._handle.fd,
    session: new Session(`n${peers.length}`, '127.0.0.1', t, limits, now),
    old: new Session(`o${peers.length}`, '127.0.0.1', o, limits, now),
  });
});
for (let i = 0; i < 6000 && peers.length < n; i++) await sleep(50);
if (peers.length < n) throw new Error(`only ${peers.length} of ${n} connected`);

const text = `{"type":"message","room":"live:hot","offset":1,"ts":1765012345678,"from":null,"data":{"i":1,"t":1765012345678,"p":"${'x'.repeat(40)}"}}`;
const run = {
  old: (p) => {
    const now = Date.now();
    for (const x of peers) x.old.send(p, true, now);
  },
  session: (p) => {
    const now = Date.now();
    for (const x of peers) x.session.send(p, true, now);
  },
  socket: (p) => {
    const f = frames.plain(p);
    for (const x of peers) x.socket.write(f);
  },
  fd: (p) => {
    const f = frames.plain(p);
    for (const x of peers) {
      if (x.socket.writableLength === 0) writeSync(x.fd, f);
      else x.socket.write(f);
    }
  },
};
const results = Object.fromEntries(variants.map((v) => [v, []]));
for (let r = 0; r < samples; r++) {
  for (const v of variants) {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    for (let i = 0; i < rounds; i++) {
      run[v](Buffer.from(text));
      const wait = t0 + ((i + 1) * 1000) / rate - performance.now();
      await (wait > 0 ? sleep(wait) : new Promise(setImmediate));
    }
    await sleep(20);
    const c = process.cpuUsage(c0);
    const deliveries = rounds * n;
    results[v].push({ us: (c.user + c.system) / deliveries, user: c.user / deliveries });
  }
}
const median = (a) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];
const size = frames.plain(Buffer.from(text)).length;
console.log(`frame ${size} B, ${n} sockets, ${rounds} rounds at ${rate}/s, ${samples} samples:`);
for (const v of variants) {
  const us = median(results[v].map((x) => x.us));
  const user = median(results[v].map((x) => x.user));
  const all = results[v].map((x) => x.us.toFixed(2)).join(' ');
  console.log(`  ${v.padEnd(8)} ${us.toFixed(2)} µs/deliv (user ${user.toFixed(2)})   all: ${all}`);
}
for (const x of peers) x.socket.destroy();
wss.close();

function sleep(ms) {
  return new Promise((r) => setTimeout(r, ms));
}
