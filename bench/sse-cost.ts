/**
 * SSE beside WebSocket in one run: the server's idle KiB per connection, and hot-room deliveries
 * per server CPU-second. Each transport gets its own server process (the built CLI, as
 * `barrage bench` runs it), so RSS and CPU are the server's alone; the clients run here.
 *
 *   npm run build && npx tsx bench/sse-cost.ts [idle=1000] [members=200] [seconds=5] [rate=200]
 *
 * Prints a markdown table (docs/sse.md#costs).
 */
import { Agent, type ClientRequest, request } from 'node:http';
import WebSocket from 'ws';
import { barrageCommand, freePort, spawnServer, waitHealthy } from './servers/spawn.js';
import { BENCH_API_KEY, barrageServeArgs } from './servers/targets.js';
import { procCpuSeconds, procMemory } from './stats/proc.js';

type Transport = 'websocket' | 'sse';
const [IDLE, MEMBERS, SECONDS, RATE] = [1000, 200, 5, 200].map((d, i) => {
  const v = Number(process.argv[2 + i]);
  return Number.isInteger(v) && v > 0 ? v : d;
}) as [number, number, number, number];

/** One open client connection that counts the room messages it receives. */
interface Member {
  received: number;
  close(): void;
}

const agent = new Agent({ keepAlive: false, maxSockets: Number.POSITIVE_INFINITY });

function openSse(port: number, room: string): Promise<Member> {
  return new Promise((resolve, reject) => {
    let req: ClientRequest;
    const m: Member = { received: 0, close: () => req.destroy() };
    req = request({ host: '127.0.0.1', port, path: `/sse?rooms=${room}`, agent }, (res) => {
      if (res.statusCode !== 200) return reject(new Error(`SSE ${res.statusCode}`));
      res.setEncoding('utf8');
      let joined = false;
      res.on('data', (chunk: string) => {
        m.received += count(chunk, 'event: message\n');
        // A refused join (e.g. the per-address join pace) must fail the run, not hang it.
        if (!joined && /event: (error|close)\n/.test(chunk)) {
          req.destroy();
          return reject(new Error(`SSE join refused: ${chunk.slice(0, 200)}`));
        }
        if (!joined && chunk.includes('event: joined')) {
          joined = true;
          resolve(m);
        }
      });
    });
    req.on('error', reject);
    req.end();
  });
}

function openWs(port: number, room: string): Promise<Member> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/ws`);
    const m: Member = { received: 0, close: () => ws.terminate() };
    ws.on('open', () => ws.send(JSON.stringify({ type: 'join', room, id: 1 })));
    ws.on('message', (data: Buffer) => {
      const text = data.toString();
      m.received += count(text, '{"type":"message"');
      if (text.includes('"type":"joined"')) resolve(m);
    });
    ws.on('error', reject);
  });
}

function count(text: string, needle: string): number {
  let n = 0;
  for (let i = text.indexOf(needle); i !== -1; i = text.indexOf(needle, i + needle.length)) n++;
  return n;
}

async function openMany(t: Transport, port: number, n: number, room: string): Promise<Member[]> {
  const members: Member[] = [];
  const open = t === 'sse' ? openSse : openWs;
  for (let i = 0; i < n; i += 100) {
    const batch = Array.from({ length: Math.min(100, n - i) }, () => open(port, room));
    members.push(...(await Promise.all(batch)));
  }
  return members;
}

const settle = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function measure(t: Transport): Promise<{ idleKiB: number; perCpuSecond: number }> {
  const port = await freePort();
  const proc = spawnServer([...barrageCommand(), ...barrageServeArgs(port, [], null)], port, null);
  try {
    await waitHealthy(`http://127.0.0.1:${port}/healthz`, proc, 15_000);
    // Idle: RSS per connection, each in its own quiet room.
    await settle(1000);
    const before = procMemory(proc.pid)!.rssKiB;
    const idle = await openMany(t, port, IDLE, 'idle:a');
    await settle(2000);
    const idleKiB = (procMemory(proc.pid)!.rssKiB - before) / IDLE;
    for (const m of idle) m.close();
    // Hot room: MEMBERS readers, RATE messages a second through the HTTP API for SECONDS.
    const members = await openMany(t, port, MEMBERS, 'live:hot');
    const cpu0 = procCpuSeconds(proc.pid)!;
    const total = RATE * SECONDS;
    const started = Date.now();
    for (let i = 0; i < total; i++) {
      const due = started + (i * 1000) / RATE;
      if (due > Date.now()) await settle(due - Date.now());
      void fetch(`http://127.0.0.1:${port}/api/publish`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${BENCH_API_KEY}` },
        body: JSON.stringify({ room: 'live:hot', data: { text: `m${i}` } }),
      });
    }
    const want = total * MEMBERS;
    const deadline = Date.now() + 20_000;
    const got = () => members.reduce((s, m) => s + m.received, 0);
    while (got() < want && Date.now() < deadline) await settle(100);
    const cpu = procCpuSeconds(proc.pid)! - cpu0;
    for (const m of members) m.close();
    return { idleKiB, perCpuSecond: got() / cpu };
  } finally {
    await proc.stop();
  }
}

const rows: string[] = [];
for (const t of ['websocket', 'sse'] as const) {
  const r = await measure(t);
  rows.push(
    `| ${t} | ${r.idleKiB.toFixed(1)} | ${Math.round(r.perCpuSecond).toLocaleString('en')} |`,
  );
}
console.log(`idle=${IDLE} members=${MEMBERS} seconds=${SECONDS} rate=${RATE}/s\n`);
console.log('| transport | idle KiB per connection | hot-room deliveries per server CPU-second |');
console.log('|---|---|---|');
for (const r of rows) console.log(r);
agent.destroy();
