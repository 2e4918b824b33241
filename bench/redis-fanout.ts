/**
 * What one Redis shard spends on a room's messages: Barrage's own publish step (publish.lua:
 * offset, history stream, SPUBLISH) at a fixed rate, delivered to K subscriber connections
 * (K nodes with members in the room). Starts its own redis-server on a free port (pinned to
 * core 0 unless told otherwise); the publishers and subscribers run here.
 *
 *   npx tsx bench/redis-fanout.ts [rate=1000] [subscribers=1,10,100] [seconds=10] [cpus=0]
 *
 * Prints one line per subscriber count: publishes/s, deliveries/s, Redis CPU, and the Redis
 * CPU-microseconds per publish and per delivery (the figures docs/cluster.md builds on), and
 * this process's CPU per delivery received (ioredis subscribers: an upper bound of a node's cost
 * of reading its feed).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { freePort, repoRoot, spawnServer } from './servers/spawn.js';
import { procCpuSeconds } from './stats/proc.js';

const RATE = Number(process.argv[2] ?? 1000);
const SUBSCRIBERS = (process.argv[3] ?? '1,10,100').split(',').map(Number);
const SECONDS = Number(process.argv[4] ?? 10);
const CPUS = process.argv[5] ?? '0';

const ROOM = 'live:big';
const META = `bench:r:{${ROOM}}:m`;
const STREAM = `bench:r:{${ROOM}}:h`;
const CHANNEL = `bench:r:{${ROOM}}:c`;
// A danmaku line as Barrage encodes it, split around the offset as publish.lua takes it.
const HEAD = `{"type":"message","room":"${ROOM}","offset":`;
const TAIL = `,"ts":1733470000000,"from":"u1234","data":{"text":"${'弹幕 comment '.repeat(3)}"}}`;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function startRedis(): Promise<{ port: number; pid: number; stop: () => Promise<void> }> {
  const port = await freePort();
  const argv = ['redis-server', '--port', String(port), '--bind', '127.0.0.1', '--save', ''];
  const proc = spawnServer([...argv, '--appendonly', 'no'], port, CPUS || null);
  for (let i = 0; i < 100 && !proc.output().includes('Ready to accept'); i++) await sleep(100);
  if (!proc.output().includes('Ready to accept')) throw new Error(`redis: ${proc.output()}`);
  return { port, pid: proc.child.pid!, stop: () => proc.stop() };
}

async function measure(port: number, pid: number, sha: string, k: number): Promise<string> {
  let delivered = 0;
  const subs = Array.from({ length: k }, () => new Redis(port, '127.0.0.1'));
  for (const s of subs) {
    s.on('smessage', () => delivered++);
    await s.ssubscribe(CHANNEL);
  }
  const pub = new Redis(port, '127.0.0.1');
  const args = [HEAD, TAIL, '1733470000000', '200', '300000', '86400000', 'ep1', CHANNEL];
  const publishOne = () => pub.evalsha(sha, 2, META, STREAM, ...args, 'spublish');
  await publishOne();
  delivered = 0;
  const cpu0 = procCpuSeconds(pid) ?? 0;
  const own0 = process.cpuUsage();
  const start = Date.now();
  let sent = 0;
  // Fixed rate by elapsed time, in 10 ms ticks; bounded by the run's length.
  while (Date.now() - start < SECONDS * 1000) {
    const due = Math.floor(((Date.now() - start) / 1000) * RATE);
    const batch: Promise<unknown>[] = [];
    for (; sent < due; sent++) batch.push(publishOne());
    await Promise.all(batch);
    await sleep(10);
  }
  const wall = (Date.now() - start) / 1000;
  for (let i = 0; i < 100 && delivered < sent * k; i++) await sleep(20);
  const cpu = (procCpuSeconds(pid) ?? 0) - cpu0;
  const own = process.cpuUsage(own0);
  const ownUs = own.user + own.system;
  const bytes = HEAD.length + 6 + Buffer.byteLength(TAIL);
  for (const s of [...subs, pub]) s.disconnect();
  const usPerPublish = (cpu * 1e6) / sent;
  const usPerDelivery = k > 0 ? (cpu * 1e6) / (sent * k) : 0;
  return (
    `subscribers ${k}: ${Math.round(sent / wall)} publishes/s, ${Math.round(delivered / wall)} deliveries/s, ` +
    `redis CPU ${((100 * cpu) / wall).toFixed(1)}%, ${usPerPublish.toFixed(1)} us per publish, ` +
    `${usPerDelivery.toFixed(2)} us per delivery (line ~${bytes} B); ` +
    `this process (publisher and ioredis subscribers) ${(ownUs / Math.max(1, delivered)).toFixed(1)} us per delivery received`
  );
}

const redis = await startRedis();
try {
  const admin = new Redis(redis.port, '127.0.0.1');
  const lua = readFileSync(
    join(repoRoot(), 'src', 'broker', 'redis', 'lua', 'publish.lua'),
    'utf8',
  );
  const sha = String(await admin.script('LOAD', lua));
  admin.disconnect();
  console.log(`rate ${RATE}/s, ${SECONDS} s per step, redis pinned to ${CPUS || 'nothing'}`);
  for (const k of SUBSCRIBERS) console.log(await measure(redis.port, redis.pid, sha, k));
} finally {
  await redis.stop();
}
