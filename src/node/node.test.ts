/**
 * The engine without a server: a Node on the embedded broker, with sessions on in-memory
 * transports, driven by client command lines as the gateway would hand them over. Covers the
 * membership path (join, leave, removal, broker subscriptions following the hub's rooms),
 * publishing, moderation and re-authentication. The wire is tested over real sockets under
 * test/server.
 */
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { MemoryTransport } from '../../test/support/memory-transport.js';
import { MemoryBroker } from '../broker/memory/broker.js';
import type { HistoryRequest, HistoryResult } from '../broker/types.js';
import type { Identity, Session } from '../session/index.js';
import { Node } from './node.js';
import type { NodeOptions } from './options.js';

type Line = Record<string, unknown> & { type: string };

/** Tokens of this test: `user:ID` (any room) or `public:ID` (only `public:*` rooms). */
function identityOf(token: string): Identity | null {
  const [kind, userId] = token.split(':');
  if (!userId) return null;
  if (kind === 'user') return { userId };
  if (kind === 'public') return { userId, joinRooms: ['public:*'] };
  return null;
}

const OPTIONS: NodeOptions = {
  nodeId: 'unit',
  heartbeatMs: 60_000,
  authTimeoutMs: null,
  allowAnonymousPublish: true,
  maxRoomsPerConnection: 10,
  maxHistory: 50,
  renderBudget: 0,
  presenceIntervalMs: 60_000,
  policyFor: () => ({ mergeWindowMs: 0, lossy: false }),
  parseLimits: { maxTokenLength: 1000, maxEvents: 8, maxHistory: 1000 },
  hooks: { authenticate: identityOf },
  sendSoftLimitBytes: 1 << 20,
  sendHardLimitBytes: 1 << 22,
  publishRate: 1000,
  publishBurst: 1000,
  commandRate: 1000,
  commandBurst: 1000,
};

const nodes: Node[] = [];
afterEach(async () => {
  for (const node of nodes.splice(0)) await node.shutdown();
});

/** The embedded broker, whose history reads can be held back to catch a join half-way. */
class GatedBroker extends MemoryBroker {
  gate: Promise<void> = Promise.resolve();
  override async history(request: HistoryRequest): Promise<HistoryResult> {
    await this.gate;
    return super.history(request);
  }
}

/** A started node on a fresh embedded broker. */
async function engine(hooks: NodeOptions['hooks'] = {}) {
  const broker = new GatedBroker();
  const node = new Node({ ...OPTIONS, hooks: { authenticate: identityOf, ...hooks } }, broker);
  await node.start();
  nodes.push(node);
  return { node, broker };
}

/** A client: a session on an in-memory transport, and what it received, line by line. */
class Peer {
  readonly transport = new MemoryTransport();
  readonly session: Session;
  private nextId = 0;

  constructor(
    private readonly node: Node,
    token: string | null,
  ) {
    const identity = token === null ? null : identityOf(token);
    this.session = node.connect(this.transport, '127.0.0.1', identity);
  }

  /** Every line received so far. */
  lines(): Line[] {
    return this.transport.sent.flatMap((f) =>
      f
        .toString()
        .split('\n')
        .map((l) => JSON.parse(l) as Line),
    );
  }

  /** Sends a command and waits for its reply (matched by id). */
  async request(command: Record<string, unknown>): Promise<Line> {
    const id = ++this.nextId;
    this.node.handleFrame(this.session, JSON.stringify({ ...command, id }));
    return this.until((l) => l.id === id);
  }

  /** Waits (a bounded number of turns of the event loop) for a line matching `pick`. */
  async until(pick: (l: Line) => boolean): Promise<Line> {
    for (let turn = 0; turn < 1000; turn++) {
      const found = this.lines().find(pick);
      if (found) return found;
      await new Promise((resolve) => setImmediate(resolve));
    }
    throw new Error('no such line arrived');
  }

  /** The room messages received, as [room, offset, data]. */
  messages(room: string): [number, unknown][] {
    return this.lines()
      .filter((l) => l.type === 'message' && l.room === room)
      .map((l) => [l.offset as number, l.data]);
  }
}

describe('Node (engine, in-memory transport)', () => {
  describe('membership', () => {
    it('joins and leaves on both sides, subscribing the broker while the room has members', async () => {
      const { node, broker } = await engine();
      const a = new Peer(node, 'user:a');
      const b = new Peer(node, 'user:b');
      const joined = await a.request({ type: 'join', room: 'chat:1' });
      assert.deepEqual([joined.type, joined.online, joined.offset], ['joined', 1, 0]);
      await b.request({ type: 'join', room: 'chat:1' });
      assert.deepEqual([...a.session.rooms], ['chat:1']);
      assert.equal(node.hub.rooms.get('chat:1')?.members.size, 2);
      assert.equal(broker.roomState().streams, 1, 'subscribed while it has members');

      assert.equal((await a.request({ type: 'leave', room: 'chat:1' })).type, 'ok');
      const again = await a.request({ type: 'leave', room: 'chat:1' });
      assert.deepEqual([again.code, again.message], ['not_found', 'not in room chat:1']);
      assert.equal(node.hub.rooms.get('chat:1')?.members.size, 1);
      node.disconnect(b.session, 1000);
      assert.equal(node.hub.rooms.has('chat:1'), false, 'the last one out drops the room');
      await new Promise((resolve) => setImmediate(resolve));
      assert.equal(broker.roomState().streams, 0, 'and the broker forgot the empty room');
    });

    it('refuses a second join of the same room and rooms over the per-connection cap', async () => {
      const { node } = await engine();
      const a = new Peer(node, 'user:a');
      await a.request({ type: 'join', room: 'r:0' });
      assert.equal((await a.request({ type: 'join', room: 'r:0' })).code, 'bad_request');
      for (let i = 1; i < OPTIONS.maxRoomsPerConnection; i++) {
        assert.equal((await a.request({ type: 'join', room: `r:${i}` })).type, 'joined');
      }
      const over = await a.request({ type: 'join', room: 'r:x' });
      assert.deepEqual([over.code, a.session.rooms.size], ['forbidden', 10]);
    });
  });

  describe('publish', () => {
    it('delivers to every member in offset order and answers ok with the offset', async () => {
      const { node } = await engine();
      const a = new Peer(node, 'user:a');
      const b = new Peer(node, null);
      await a.request({ type: 'join', room: 'chat:p' });
      await b.request({ type: 'join', room: 'chat:p' });
      const ok = await a.request({ type: 'publish', room: 'chat:p', data: 'one' });
      await node.publish('chat:p', 'two', null);
      assert.deepEqual([ok.type, ok.offset], ['ok', 1]);
      for (const peer of [a, b]) {
        assert.deepEqual(peer.messages('chat:p'), [
          [1, 'one'],
          [2, 'two'],
        ]);
      }
      const from = a.lines().find((l) => l.type === 'message' && l.offset === 1)?.from;
      assert.equal(from, 'a');
    });

    it('never lets a client publish system lines, whatever its identity allows', async () => {
      const { node } = await engine();
      const a = new Peer(node, null);
      node.identify(a.session, { userId: 'a', maxPriority: 'system' }, undefined);
      const refused = await a.request({
        type: 'publish',
        room: 'chat:s',
        data: 1,
        priority: 'system',
      });
      assert.equal(refused.code, 'forbidden');
      const paid = await a.request({ type: 'publish', room: 'chat:s', data: 1, priority: 'paid' });
      assert.equal(paid.type, 'ok');
    });
  });

  describe('moderation', () => {
    it('a ban takes the user out of the room with a left line; the room goes if emptied', async () => {
      const { node } = await engine();
      const eve = new Peer(node, 'user:eve');
      const eve2 = new Peer(node, 'user:eve');
      await eve.request({ type: 'join', room: 'chat:b' });
      await eve2.request({ type: 'join', room: 'chat:b' });
      await node.moderation.ban('eve', { room: 'chat:b' });
      for (const peer of [eve, eve2]) {
        const left = await peer.until((l) => l.type === 'left');
        assert.deepEqual([left.room, left.reason], ['chat:b', 'banned']);
        assert.equal(peer.session.rooms.size, 0);
      }
      assert.equal(node.hub.rooms.has('chat:b'), false);
      assert.equal((await eve.request({ type: 'join', room: 'chat:b' })).code, 'forbidden');
    });

    it('a ban during a join takes the joiner out and refuses the join', async () => {
      const { node, broker } = await engine();
      const eve = new Peer(node, 'user:eve');
      let release = () => {};
      broker.gate = new Promise((resolve) => {
        release = resolve;
      });
      const reply = eve.request({ type: 'join', room: 'chat:mid' });
      await eve.until(() => eve.session.rooms.has('chat:mid'));
      await node.moderation.ban('eve', { room: 'chat:mid' });
      release();
      const refused = await reply;
      assert.deepEqual(
        [refused.type, refused.code, refused.message],
        ['error', 'forbidden', 'removed from chat:mid while joining'],
      );
      assert.equal((await eve.until((l) => l.type === 'left')).reason, 'banned');
      assert.equal(node.hub.rooms.has('chat:mid'), false);
    });

    it('a ban set while the join checks run is not missed', async () => {
      let release = () => {};
      let asked = false;
      const gate = new Promise<void>((resolve) => {
        release = resolve;
      });
      const { node } = await engine({
        authorizeJoin: async () => {
          asked = true;
          await gate;
          return true;
        },
      });
      const eve = new Peer(node, 'user:eve');
      const reply = eve.request({ type: 'join', room: 'chat:race' });
      for (let turn = 0; !asked && turn < 1000; turn++) await new Promise(setImmediate);
      assert.ok(asked, 'the join is in its authorizeJoin hook');
      await node.moderation.ban('eve', { room: 'chat:race' });
      release();
      const refused = await reply;
      assert.deepEqual([refused.code, refused.message], ['forbidden', 'banned from chat:race']);
      assert.equal(eve.session.rooms.size, 0);
      assert.equal(node.hub.rooms.has('chat:race'), false);
    });

    it('a shadow-banned comment reaches only its author, at the next offset, without a gap', async () => {
      const { node } = await engine();
      const carol = new Peer(node, 'user:carol');
      const dan = new Peer(node, 'user:dan');
      await carol.request({ type: 'join', room: 'chat:sh' });
      await dan.request({ type: 'join', room: 'chat:sh' });
      await node.moderation.shadowBan('carol', { room: 'chat:sh' });
      await dan.request({ type: 'publish', room: 'chat:sh', data: 'real 1' });
      const ok = await carol.request({ type: 'publish', room: 'chat:sh', data: 'shadow' });
      await dan.request({ type: 'publish', room: 'chat:sh', data: 'real 2' });
      assert.equal(ok.offset, 2);
      assert.deepEqual(carol.messages('chat:sh'), [
        [1, 'real 1'],
        [2, 'shadow'],
        [3, 'real 2'],
      ]);
      assert.deepEqual(dan.messages('chat:sh'), [
        [1, 'real 1'],
        [3, 'real 2'],
      ]);
      const history = async (token: string) => {
        const peer = new Peer(node, token);
        const joined = await peer.request({ type: 'join', room: 'chat:sh', history: 10 });
        return (joined.messages as Line[]).map((m) => m.data);
      };
      assert.deepEqual(await history('user:carol'), ['real 1', 'shadow', 'real 2']);
      assert.deepEqual(await history('user:dan'), ['real 1', 'real 2']);
    });
  });

  describe('re-authentication', () => {
    it('leaves the rooms the new token no longer allows, telling the client before the ok', async () => {
      const { node } = await engine();
      const m = new Peer(node, 'user:mallory');
      await m.request({ type: 'join', room: 'team:1' });
      await m.request({ type: 'join', room: 'public:1' });
      const ok = await m.request({ type: 'auth', token: 'public:mallory' });
      assert.equal(ok.type, 'ok');
      const types = m.lines().map((l) => l.type);
      assert.ok(types.indexOf('left') < types.lastIndexOf('ok'));
      assert.deepEqual(
        m
          .lines()
          .filter((l) => l.type === 'left')
          .map((l) => [l.room, l.reason]),
        [['team:1', 'not_allowed']],
      );
      assert.deepEqual([...m.session.rooms], ['public:1']);
      await node.publish('team:1', 'secret', null);
      assert.deepEqual(m.messages('team:1'), []);
    });

    it('refuses a token for another user and keeps the connection as it was', async () => {
      const { node } = await engine();
      const m = new Peer(node, 'user:mallory');
      await m.request({ type: 'join', room: 'team:1' });
      const refused = await m.request({ type: 'auth', token: 'user:other' });
      assert.equal(refused.code, 'bad_request');
      assert.equal(m.session.userId, 'mallory');
      assert.deepEqual([...m.session.rooms], ['team:1']);
    });
  });
});
