/**
 * The cluster as it is deployed: one real redis-server and three Barrage node PROCESSES started
 * with the CLI (`serve --port 0 --host 127.0.0.1 --redis-url ... --presence-interval-ms 200`),
 * talked to over real WebSockets and HTTP. Then `--workers 2`: two worker processes on one port.
 * Every process started here is killed by PID in `after`, whatever happened.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type Msg, TestClient } from '../support/client.js';
import { type RedisProcess, startRedis } from '../support/redis-server.js';
import { api, sleep, waitFor } from '../support/server.js';
import { signToken, TEST_SECRET } from '../support/tokens.js';
import {
  childPids,
  isRunning,
  killAll,
  type NodeProcess,
  spawnBarrage,
  startNode,
} from './processes.js';

let redis: RedisProcess;
let A: NodeProcess;
let B: NodeProcess;
let C: NodeProcess;
const clients: TestClient[] = [];

before(async () => {
  redis = await startRedis();
  const common = [
    ...['--redis-url', redis.url, '--presence-interval-ms', '200', '--log-level', 'info'],
    ...['--jwt-secret', TEST_SECRET, '--publish-rate', '5000', '--publish-burst', '5000'],
    ...['--command-rate', '5000', '--command-burst', '5000'],
  ];
  const nodes = await Promise.all(
    ['node-a', 'node-b', 'node-c'].map((id) => startNode([...common, '--node-id', id])),
  );
  [A, B, C] = nodes as [NodeProcess, NodeProcess, NodeProcess];
});

after(async () => {
  for (const c of clients) c.close();
  await killAll();
  await redis?.stop();
});

async function connect(node: { wsUrl: string }, user?: string): Promise<TestClient> {
  const client = await TestClient.connect(node.wsUrl);
  clients.push(client);
  if (user) {
    const reply = await client.request({ type: 'auth', token: await signToken(user) });
    assert.equal(reply.type, 'ok', JSON.stringify(reply));
  }
  return client;
}

async function join(client: TestClient, room: string, extra: Record<string, unknown> = {}) {
  const reply = await client.request({ type: 'join', room, ...extra });
  assert.equal(reply.type, 'joined', JSON.stringify(reply));
  return reply;
}

const offsetsOf = (messages: Msg[], room: string) =>
  messages.filter((m) => m.room === room).map((m) => Number(m.offset));
const range = (from: number, to: number) =>
  Array.from({ length: to - from + 1 }, (_, i) => from + i);

async function statsNodeIds(node: { url: string }): Promise<string[]> {
  const res = await api(node, 'GET', '/api/stats');
  return (res.body.nodes as { nodeId: string }[]).map((n) => n.nodeId).sort();
}

async function online(node: { url: string }, room: string): Promise<number> {
  return Number((await api(node, 'GET', `/api/rooms/${room}`)).body.online);
}

describe('three node processes on one Redis', () => {
  it('delivers a message published on C to a client on A, in order with its offset', async () => {
    const room = 'chat:order';
    const reader = await connect(A, 'reader');
    await join(reader, room);
    const writer = await connect(C, 'writer');
    const acks = await Promise.all(
      range(0, 49).map((i) => writer.request({ type: 'publish', room, data: { i } })),
    );
    const offsetOfI = acks.map((a) => Number(a.offset));
    assert.deepEqual(
      [...offsetOfI].sort((x, y) => x - y),
      range(1, 50),
    );
    await waitFor(() => offsetsOf(reader.all('message'), room).length === 50, '50 on A');
    const got = reader.all('message').filter((m) => m.room === room);
    assert.deepEqual(
      got.map((m) => Number(m.offset)),
      range(1, 50),
    );
    for (const m of got) assert.equal(m.offset, offsetOfI[(m.data as { i: number }).i]);
    // Any node answers /api/stats for all three.
    await waitFor(
      async () => (await statsNodeIds(B)).join() === 'node-a,node-b,node-c',
      'three nodes in /api/stats',
    );
    // C's counters as last shared (every 200 ms).
    const totals = async () =>
      (await api(A, 'GET', '/api/stats')).body.totals as { nodes: number; messagesIn: number };
    await waitFor(async () => (await totals()).messagesIn >= 50, "C's 50 publishes in totals");
    assert.equal((await totals()).nodes, 3);
  });

  it('counts push deliveries on every node', async () => {
    for (const node of [A, A, B, C]) await connect(node, 'alice');
    const res = await api(C, 'POST', '/api/push', { userId: 'alice', event: 'e', data: 1 });
    assert.deepEqual(res.body, { delivered: 4 });
  });

  it('survives SIGKILL of node B under load: its clients recover elsewhere, its counts expire', async () => {
    const room = 'chat:kill';
    const stay = 'chat:stay';
    const observer = await connect(A, 'observer');
    await join(observer, room);
    await join(observer, stay);
    const onB: { client: TestClient; user: string; epoch: string }[] = [];
    for (let i = 0; i < 6; i++) {
      const user = `m${i}`;
      const client = await connect(B, user);
      const joined = await join(client, room);
      await join(client, stay);
      onB.push({ client, user, epoch: String(joined.epoch) });
    }
    await waitFor(async () => (await online(C, stay)) === 7, 'online 7 seen from C');

    // Publishers on A and C; B is killed after 40 acks; they go on until every client of B
    // has rejoined and then 100 more each (bounded by count and time).
    const pubs = [await connect(A, 'pa'), await connect(C, 'pc')];
    let acked = 0;
    let rejoined = 0;
    const deadline = Date.now() + 15_000;
    const publishing = pubs.map(async (pub, p) => {
      let after = 0;
      for (let i = 0; i < 2000 && after < 100 && Date.now() < deadline; i++) {
        const ack = await pub.request({ type: 'publish', room, data: { p, i } });
        assert.equal(ack.type, 'ok', JSON.stringify(ack));
        acked++;
        if (rejoined === onB.length) after++;
        await sleep(3);
      }
    });
    await waitFor(() => acked >= 40, '40 publishes before the kill');
    B.child.kill('SIGKILL');
    const killedAt = Date.now();

    // Each client of B reconnects (after a short back-off) to A or C and rejoins with `since`.
    const moved = await Promise.all(
      onB.map(async ({ client, user, epoch }, i) => {
        assert.equal(await client.closed(5000), 1006);
        const before = offsetsOf(client.all('message'), room);
        await sleep(100);
        const again = await connect(i % 2 === 0 ? A : C, user);
        const since = { offset: before.at(-1) ?? 0, epoch };
        const joined = await join(again, room, { since });
        rejoined++;
        return { before, joined, again };
      }),
    );
    await Promise.all(publishing);
    assert.equal(rejoined, onB.length);
    const total = acked;
    await waitFor(
      () => moved.every((m) => offsetsOf(m.again.all('message'), room).at(-1) === total),
      `every moved client at offset ${total}`,
      8000,
    );
    let recoveredCount = 0;
    for (const { before, joined, again } of moved) {
      assert.equal(joined.recovered, true);
      const recovered = offsetsOf(joined.messages as Msg[], room);
      recoveredCount += recovered.length;
      const live = offsetsOf(again.all('message'), room);
      const seen = [...before, ...recovered, ...live];
      const where = `before ..${before.at(-1)}, recovered ${recovered[0]}..${recovered.at(-1)}, live ${live[0]}..`;
      assert.deepEqual(seen, range(1, total), `no gap, no duplicate (${where})`);
    }
    assert.ok(recoveredCount > 0, 'the back-off made them miss messages, recovered on rejoin');
    assert.deepEqual(offsetsOf(observer.all('message'), room), range(1, total));

    // B's presence and stats expire (TTL = 3 x 200 ms + 1 s); the others stay.
    await waitFor(async () => (await online(C, stay)) === 1, 'B presence expired', 6000);
    const expiredAfterMs = Date.now() - killedAt;
    assert.ok(expiredAfterMs < 6000, `expired after ${expiredAfterMs} ms`);
    await waitFor(
      async () => (await statsNodeIds(A)).join() === 'node-a,node-c',
      'B gone from /api/stats',
      6000,
    );
    // alice: 2 connections on A, 1 on C left (the one on B died with it).
    const push = await api(A, 'POST', '/api/push', { userId: 'alice', event: 'e', data: 2 });
    assert.deepEqual(push.body, { delivered: 3 });
  });
});

describe('barrage serve --workers 2', () => {
  it('shares one port between two workers over Redis; SIGTERM stops both with 1001', async () => {
    const supervisor = spawnBarrage([
      ...['serve', '--host', '127.0.0.1', '--port', '0', '--workers', '2', '--node-id', 'w'],
      ...['--redis-url', redis.url, '--redis-prefix', 'workers', '--presence-interval-ms', '200'],
      ...['--shutdown-timeout-ms', '2000'],
    ]);
    const listening = (id: string) => (e: { msg?: string; nodeId?: unknown }) =>
      e.msg === 'barrage listening' && e.nodeId === id;
    const [w0, w1] = await Promise.all([
      supervisor.waitForLog(listening('w-w0'), 30_000),
      supervisor.waitForLog(listening('w-w1'), 30_000),
    ]);
    assert.equal(w0.url, w1.url, 'one port for both workers');
    // The supervisor logs through the same logger as its workers: JSON lines on a pipe.
    const started = await supervisor.waitForLog((e) => e.msg === 'starting workers');
    assert.deepEqual([started.role, started.workers], ['supervisor', 2]);
    const node = { url: String(w0.url), wsUrl: `${String(w0.url).replace('http', 'ws')}/ws` };
    const members: TestClient[] = [];
    const room = 'chat:workers';
    // Connections are handed out round-robin: connect until both workers hold some.
    const both = async () => {
      const res = await api(node, 'GET', '/api/stats');
      const nodes = res.body.nodes as { nodeId: string; connections: number }[];
      const busy = nodes.filter((n) => n.connections > 0).map((n) => n.nodeId);
      return busy.sort().join() === 'w-w0,w-w1';
    };
    for (let i = 0; i < 20 && (members.length < 2 || !(await both())); i++) {
      const member = await connect(node);
      await join(member, room);
      members.push(member);
      await sleep(250); // one stats report interval
    }
    await waitFor(both, 'both workers holding members in /api/stats', 5000);
    const res = await api(node, 'POST', '/api/publish', { room, data: 'hi' });
    assert.equal(res.status, 200);
    for (const m of members) {
      const msg = await m.next((x) => x.type === 'message' && x.room === room, 5000);
      assert.deepEqual([msg.offset, msg.data], [1, 'hi']);
    }

    const workerPids = childPids(supervisor.pid);
    assert.equal(workerPids.length, 2, 'two worker processes');
    supervisor.child.kill('SIGTERM');
    for (const m of members) assert.equal(await m.closed(8000), 1001);
    // Every worker closes cleanly and exits, so the supervisor exits 0 well within the timeout.
    const exit = await Promise.race([
      supervisor.exited,
      sleep(6000).then(() => ({ code: 'still running' })),
    ]);
    assert.equal(exit.code, 0);
    await supervisor.waitForLog((e) => e.msg === 'stopping workers' && e.signal === 'SIGTERM');
    await waitFor(() => !workerPids.some(isRunning), 'both workers gone', 3000);
  });

  it('refuses --workers 2 without Redis, naming --redis-url, exit 2', async () => {
    const p = spawnBarrage(['serve', '--host', '127.0.0.1', '--port', '0', '--workers', '2']);
    const exit = await Promise.race([p.exited, sleep(15_000).then(() => ({ code: 'timeout' }))]);
    assert.equal(exit.code, 2);
    assert.match(p.stderr(), /--redis-url/);
  });
});
