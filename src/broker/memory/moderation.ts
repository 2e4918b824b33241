/**
 * Moderation rules of the embedded broker: maps with expiry, for one node. A rule that expired is
 * ignored on read and swept when the maps grow; changes reach the node's listeners synchronously.
 */
import type { ModerationEvent, ModerationKind, ModerationRule, ModerationStore } from '../types.js';

/** Turns above this many are swept of the expired ones on the next claim. */
const SWEEP_AT = 10_000;

function ruleKey(kind: ModerationKind, userId: string, room: string | null): string {
  return `${kind}\n${userId}\n${room ?? ''}`;
}

/** The embedded broker's `ModerationStore`. */
export class MemoryModeration implements ModerationStore {
  private readonly rules = new Map<string, ModerationRule>();
  /** Rule keys per user, to answer `listRules` and `rulesFor` without a scan. */
  private readonly byUser = new Map<string, Set<string>>();
  private readonly slow = new Map<string, number>();
  /** `room\nuser` → when the user's next turn frees, ms. */
  private readonly turns = new Map<string, number>();
  private readonly listeners: ((event: ModerationEvent) => void)[] = [];

  constructor(private readonly now: () => number = Date.now) {}

  async setRule(
    kind: ModerationKind,
    userId: string,
    room: string | null,
    durationMs: number | null,
  ): Promise<ModerationRule> {
    const rule: ModerationRule = {
      kind,
      userId,
      room,
      expiresAt: durationMs === null ? null : this.now() + durationMs,
    };
    const key = ruleKey(kind, userId, room);
    this.rules.set(key, rule);
    const keys = this.byUser.get(userId) ?? new Set<string>();
    this.byUser.set(userId, keys);
    keys.add(key);
    this.emit({ type: 'rule', rule, lifted: false });
    return rule;
  }

  async liftRule(kind: ModerationKind, userId: string, room: string | null): Promise<boolean> {
    const key = ruleKey(kind, userId, room);
    const rule = this.rules.get(key);
    const live = rule !== undefined && this.alive(rule);
    this.drop(key, userId);
    if (live) this.emit({ type: 'rule', rule: { ...rule, expiresAt: null }, lifted: true });
    return live;
  }

  async rulesFor(userId: string, room: string): Promise<ModerationRule[]> {
    if (!this.byUser.has(userId)) return [];
    return (await this.listRules(userId)).filter((r) => r.room === null || r.room === room);
  }

  async listRules(userId: string): Promise<ModerationRule[]> {
    const keys = this.byUser.get(userId);
    if (!keys) return [];
    const live: ModerationRule[] = [];
    for (const key of [...keys]) {
      const rule = this.rules.get(key);
      if (rule && this.alive(rule)) live.push({ ...rule });
      else this.drop(key, userId);
    }
    return live;
  }

  async setSlowMode(room: string, intervalMs: number): Promise<void> {
    if (intervalMs > 0) this.slow.set(room, intervalMs);
    else this.slow.delete(room);
    this.emit({ type: 'slowmode', room, intervalMs });
  }

  clearNow(userId: string, room: string): boolean {
    return !this.byUser.has(userId) && !this.slow.has(room);
  }

  async slowMode(room: string): Promise<number> {
    return this.slow.get(room) ?? 0;
  }

  async claimTurn(room: string, userId: string, intervalMs: number): Promise<number> {
    const now = this.now();
    const key = `${room}\n${userId}`;
    const frees = this.turns.get(key);
    if (frees !== undefined && frees > now) return frees - now;
    if (this.turns.size >= SWEEP_AT) {
      for (const [k, at] of this.turns) if (at <= now) this.turns.delete(k);
    }
    this.turns.set(key, now + intervalMs);
    return 0;
  }

  async kick(userId: string, durationMs: number): Promise<void> {
    this.emit({ type: 'kick', userId, durationMs });
  }

  onModeration(listener: (event: ModerationEvent) => void): void {
    this.listeners.push(listener);
  }

  private alive(rule: ModerationRule): boolean {
    return rule.expiresAt === null || rule.expiresAt > this.now();
  }

  private drop(key: string, userId: string): void {
    this.rules.delete(key);
    const keys = this.byUser.get(userId);
    if (!keys) return;
    keys.delete(key);
    if (keys.size === 0) this.byUser.delete(userId);
  }

  private emit(event: ModerationEvent): void {
    for (const listener of this.listeners) {
      try {
        listener(event);
      } catch {
        // a listener's failure is its own; the change is made
      }
    }
  }
}
