/**
 * Moderation rules held in Redis, so that every node applies the same ones.
 *
 * - A rule is one string key per user, kind and scope (`P:m:{USER}:KIND[:ROOM]`, value = its expiry
 *   in ms or 0), written with SET PX when it expires, and listed in the user's index sorted set
 *   (`P:m:{USER}:i`). Every key of a user shares the `{USER}` hash tag: one MGET or MULTI reads
 *   or writes them on one Cluster slot.
 * - The per-publish check (`rulesFor`) is one MGET of six keys (three kinds, global and the room),
 *   cached per user and room for at most `cacheMs` (1000). Every change is published on the
 *   moderation channel; each node (the writer included) drops the user's cached entries when it
 *   hears it, so a change applies on every node within the pub/sub latency, and within `cacheMs`
 *   even if a notification is lost (a subscriber reconnecting).
 * - Slow mode: the interval is a string per room (cached the same way); a user's turn is
 *   `SET P:r:{ROOM}:t:USER 1 NX PX interval`, atomic for the whole cluster, so a second comment
 *   inside the interval is refused whichever node it arrives on.
 * - Kicks travel only on the channel (a kick with a duration is also a global ban, set first).
 */
import type { ChainableCommander, Cluster, Redis } from 'ioredis';
import type { ModerationEvent, ModerationKind, ModerationRule, ModerationStore } from '../types.js';
import type { RedisKeys } from './keys.js';

const KINDS: readonly ModerationKind[] = ['mute', 'ban', 'shadow'];
/** Cached entries above this many are all dropped (a bound, not an LRU). */
const MAX_CACHED = 50_000;

interface Cached<T> {
  at: number;
  value: T;
}

function isKind(value: unknown): value is ModerationKind {
  return value === 'mute' || value === 'ban' || value === 'shadow';
}

/** Reads a rule value (`0` or an expiry in ms); null when absent or already expired. */
function expiryOf(value: string | null, now: number): number | null | undefined {
  if (value === null) return undefined;
  const at = Number(value);
  if (!Number.isFinite(at)) return undefined;
  if (at === 0) return null;
  return at > now ? at : undefined;
}

/** The Redis broker's `ModerationStore`. */
export class RedisModeration implements ModerationStore {
  /** userId → room → the rules that apply there. */
  private readonly rules = new Map<string, Map<string, Cached<ModerationRule[]>>>();
  private readonly slow = new Map<string, Cached<number>>();
  private cached = 0;
  /** Bumped on every invalidation: a read that started before one does not fill the cache. */
  private generation = 0;
  private readonly listeners: ((event: ModerationEvent) => void)[] = [];

  constructor(
    private readonly cmd: Redis | Cluster,
    private readonly keys: RedisKeys,
    private readonly publish: (channel: string, payload: string) => Promise<number>,
    private readonly cacheMs = 1000,
  ) {}

  async setRule(
    kind: ModerationKind,
    userId: string,
    room: string | null,
    durationMs: number | null,
  ): Promise<ModerationRule> {
    const now = Date.now();
    const expiresAt = durationMs === null ? null : now + durationMs;
    const key = this.keys.moderationRule(userId, kind, room);
    const index = this.keys.moderationIndex(userId);
    const tx = this.cmd.multi();
    if (durationMs === null) tx.set(key, '0');
    else tx.set(key, String(expiresAt), 'PX', durationMs);
    tx.zadd(index, expiresAt === null ? '+inf' : String(expiresAt), member(kind, room));
    tx.zremrangebyscore(index, '-inf', `(${now}`);
    await exec(tx);
    const rule: ModerationRule = { kind, userId, room, expiresAt };
    await this.announce({ type: 'rule', rule, lifted: false });
    return rule;
  }

  async liftRule(kind: ModerationKind, userId: string, room: string | null): Promise<boolean> {
    const tx = this.cmd.multi();
    tx.del(this.keys.moderationRule(userId, kind, room));
    tx.zrem(this.keys.moderationIndex(userId), member(kind, room));
    const [deleted] = (await exec(tx)) as [number, number];
    const lifted = Number(deleted) > 0;
    if (lifted) {
      await this.announce({
        type: 'rule',
        rule: { kind, userId, room, expiresAt: null },
        lifted: true,
      });
    }
    return lifted;
  }

  async rulesFor(userId: string, room: string): Promise<ModerationRule[]> {
    const now = Date.now();
    const hit = this.rules.get(userId)?.get(room);
    if (hit && now - hit.at < this.cacheMs) return hit.value;
    const generation = this.generation;
    const scopes: (string | null)[] = [null, room];
    const keys = KINDS.flatMap((kind) =>
      scopes.map((scope) => this.keys.moderationRule(userId, kind, scope)),
    );
    const values = await this.cmd.mget(...keys);
    const found: ModerationRule[] = [];
    KINDS.forEach((kind, k) => {
      scopes.forEach((scope, s) => {
        const expiresAt = expiryOf(values[k * 2 + s] ?? null, now);
        if (expiresAt !== undefined) found.push({ kind, userId, room: scope, expiresAt });
      });
    });
    if (generation === this.generation) this.remember(userId, room, { at: now, value: found });
    return found;
  }

  async listRules(userId: string): Promise<ModerationRule[]> {
    const now = Date.now();
    const members = await this.cmd.zrangebyscore(
      this.keys.moderationIndex(userId),
      `(${now}`,
      '+inf',
    );
    if (members.length === 0) return [];
    const parsed = members.map((m) => {
      const at = m.indexOf(' ');
      return at === -1
        ? { kind: m, room: null }
        : { kind: m.slice(0, at), room: m.slice(at + 1) as string | null };
    });
    const values = await this.cmd.mget(
      ...parsed.map((p) => this.keys.moderationRule(userId, p.kind, p.room)),
    );
    const found: ModerationRule[] = [];
    parsed.forEach(({ kind, room }, i) => {
      const expiresAt = expiryOf(values[i] ?? null, now);
      if (isKind(kind) && expiresAt !== undefined) found.push({ kind, userId, room, expiresAt });
    });
    return found;
  }

  async setSlowMode(room: string, intervalMs: number): Promise<void> {
    const key = this.keys.slowMode(room);
    if (intervalMs > 0) await this.cmd.set(key, String(intervalMs));
    else await this.cmd.del(key);
    await this.announce({ type: 'slowmode', room, intervalMs });
  }

  async slowMode(room: string): Promise<number> {
    const now = Date.now();
    const hit = this.slow.get(room);
    if (hit && now - hit.at < this.cacheMs) return hit.value;
    const generation = this.generation;
    const value = Number((await this.cmd.get(this.keys.slowMode(room))) ?? 0);
    const intervalMs = Number.isFinite(value) && value > 0 ? value : 0;
    if (generation === this.generation) {
      if (!this.slow.has(room)) this.count();
      this.slow.set(room, { at: now, value: intervalMs });
    }
    return intervalMs;
  }

  async claimTurn(room: string, userId: string, intervalMs: number): Promise<number> {
    const key = this.keys.slowTurn(room, userId);
    // Twice at most: the turn may expire between a refused SET and its PTTL.
    for (let attempt = 0; attempt < 2; attempt++) {
      if ((await this.cmd.set(key, '1', 'PX', intervalMs, 'NX')) === 'OK') return 0;
      const left = await this.cmd.pttl(key);
      if (left > 0) return left;
    }
    return 1;
  }

  async kick(userId: string, durationMs: number): Promise<void> {
    const event: ModerationEvent = { type: 'kick', userId, durationMs };
    await this.publish(this.keys.moderationChannel, JSON.stringify(event));
  }

  onModeration(listener: (event: ModerationEvent) => void): void {
    this.listeners.push(listener);
  }

  /** A message of the moderation channel (from any node, this one included). */
  onMessage(payload: Buffer): void {
    let event: ModerationEvent;
    try {
      event = JSON.parse(payload.toString('utf8')) as ModerationEvent;
    } catch {
      return;
    }
    if (!isEvent(event)) return;
    this.invalidate(event);
    for (const listener of this.listeners) {
      try {
        listener(event);
      } catch {
        // a listener's failure must not stop the subscriber's reader
      }
    }
  }

  /** Drops what the change makes stale here at once, then tells every node. */
  private async announce(event: ModerationEvent): Promise<void> {
    this.invalidate(event);
    // The change is stored; a lost notification only delays it on the other nodes by `cacheMs`.
    await this.publish(this.keys.moderationChannel, JSON.stringify(event)).catch(() => 0);
  }

  private invalidate(event: ModerationEvent): void {
    this.generation++;
    if (event.type === 'rule') {
      const rooms = this.rules.get(event.rule.userId);
      if (rooms) this.cached -= rooms.size;
      this.rules.delete(event.rule.userId);
    } else if (event.type === 'slowmode') {
      if (this.slow.delete(event.room)) this.cached--;
    }
  }

  private remember(userId: string, room: string, entry: Cached<ModerationRule[]>): void {
    if (!this.rules.get(userId)?.has(room)) this.count();
    const rooms = this.rules.get(userId) ?? new Map<string, Cached<ModerationRule[]>>();
    this.rules.set(userId, rooms);
    rooms.set(room, entry);
  }

  private count(): void {
    if (++this.cached <= MAX_CACHED) return;
    this.rules.clear();
    this.slow.clear();
    this.cached = 1;
  }
}

function member(kind: ModerationKind, room: string | null): string {
  return room === null ? kind : `${kind} ${room}`;
}

/** Runs a MULTI, rejecting with the first command error. */
async function exec(tx: ChainableCommander): Promise<unknown[]> {
  const results = await tx.exec();
  if (!results) throw new Error('redis: transaction aborted');
  const failed = results.find(([err]) => err);
  if (failed) throw failed[0];
  return results.map(([, value]) => value);
}

function isEvent(e: unknown): e is ModerationEvent {
  if (typeof e !== 'object' || e === null) return false;
  const v = e as Record<string, unknown>;
  if (v.type === 'kick') return typeof v.userId === 'string' && typeof v.durationMs === 'number';
  if (v.type === 'slowmode') return typeof v.room === 'string' && typeof v.intervalMs === 'number';
  if (v.type !== 'rule' || typeof v.rule !== 'object' || v.rule === null) return false;
  const r = v.rule as Record<string, unknown>;
  return isKind(r.kind) && typeof r.userId === 'string' && typeof v.lifted === 'boolean';
}
