/**
 * The timeline bench's ingest generator, run as a child process of the bench (live.ts forks it):
 * many WebSocket connections publishing timeline comments at a paced rate into a `vod:` room,
 * counting acknowledgements. In a process of its own (at a lower priority) its sends and ack
 * parsing do not delay the hot room's publisher and receivers on the bench's core, so the hot
 * room's p99 measures the server, not the generator.
 *
 * IPC: `{cmd:'open', url, token, conns}` → `{opened}`; `{cmd:'start', rate}`;
 * `{cmd:'count'}` → `{acked, errors, sent}`; `{cmd:'stop'}` → `{acked, errors, sent}`.
 */
import type WebSocket from 'ws';
import { openClient } from '../loadgen/clients.js';

/** Most unacknowledged comments on one connection (each is answered after its commit). */
const WINDOW = 2;

type Request =
  | { cmd: 'open'; url: string; token: string; conns: number }
  | { cmd: 'start'; rate: number }
  | { cmd: 'count' }
  | { cmd: 'stop' };

const sockets: WebSocket[] = [];
const outstanding: number[] = [];
let acked = 0;
let errors = 0;
let sent = 0;
let next = 0;
let timer: NodeJS.Timeout | null = null;

function count(text: string, needle: string): number {
  let n = 0;
  for (let i = text.indexOf(needle); i >= 0 && n < 100_000; i = text.indexOf(needle, i + 1)) n++;
  return n;
}

async function open(url: string, token: string, conns: number): Promise<number> {
  for (let i = 0; i < conns; i += 200) {
    const opened = await Promise.all(
      Array.from({ length: Math.min(200, conns - i) }, (_, k) =>
        openClient(
          { kind: 'barrage', sourceIps: 8, timeoutMs: 10_000 },
          { url, rooms: [], token },
          i + k,
        ),
      ),
    );
    sockets.push(...opened);
  }
  sockets.forEach((ws, k) => {
    outstanding[k] = 0;
    ws.on('error', () => {});
    ws.on('message', (data: Buffer) => {
      const text = data.toString();
      const ok = count(text, '"type":"ok"');
      const bad = count(text, '"type":"error"');
      acked += ok;
      errors += bad;
      outstanding[k] = Math.max(0, outstanding[k]! - ok - bad);
    });
  });
  return sockets.length;
}

/** Sends `rate` comments a second (in 10 ms slices), round robin over the non-full sockets. */
function start(rate: number): void {
  const started = performance.now();
  timer = setInterval(() => {
    const due = Math.floor(((performance.now() - started) / 1000) * rate);
    for (let k = 0; sent < due && k < sockets.length; k++) {
      const s = next++ % sockets.length;
      if (outstanding[s]! >= WINDOW) continue;
      const t = (sent * 7919) % 7_200_000;
      sockets[s]!.send(
        `{"type":"publish","id":${sent},"room":"vod:bench-ingest","data":{"text":"comment ${sent}"},"t":${t}}`,
      );
      outstanding[s]!++;
      sent++;
    }
  }, 10);
}

process.on('message', (req: Request) => {
  const reply = (body: object) => process.send?.(body);
  switch (req.cmd) {
    case 'open':
      open(req.url, req.token, req.conns).then(
        (opened) => reply({ opened }),
        (err: Error) => reply({ error: err.message }),
      );
      break;
    case 'start':
      start(req.rate);
      break;
    case 'count':
      reply({ acked, errors, sent });
      break;
    case 'stop':
      if (timer) clearInterval(timer);
      for (const ws of sockets) ws.terminate();
      reply({ acked, errors, sent });
      break;
  }
});
// The bench going away takes this process with it.
process.on('disconnect', () => process.exit(0));
