import {
  linePriority,
  lineSender,
  mergeLines,
  PROTECTED_LEVEL,
  skippedLine,
} from '../protocol/index.js';
import { SendResult, type Session } from '../session/index.js';
import type { Room, Tier } from './room.js';
import { type SenderTurns, sampleBatch } from './sampling.js';

/** A room's batch as the fan-out sees it: lines, offsets, classes, and the full merged frame. */
export interface Batch {
  readonly lines: readonly Buffer[];
  readonly offsets: readonly number[];
  readonly levels: readonly number[];
  readonly frame: Buffer;
  /** Whether any line is of a protected class (paid, system). */
  readonly hasProtected: boolean;
}

/** What one tier's members are offered for a batch, built once for all of them. */
interface TierFrame {
  frame: Buffer;
  /** Messages in `frame` (the `skipped` notice not counted). */
  messages: number;
  /** Protected lines only, for members over their soft mark; built on first need. */
  protectedFrame: Buffer | null | undefined;
  protectedCount: number;
  sampledOut: number;
}

/** Tallies of one batch's fan-out. */
export interface FanoutTally {
  framesOut: number;
  messagesOut: number;
  droppedSlow: number;
  closedSlow: number;
  sampledOut: number;
}

/** Builds a batch from a room's pending lines. */
export function makeBatch(lines: readonly Buffer[], offsets: readonly number[]): Batch {
  const levels = lines.map(linePriority);
  return {
    lines,
    offsets,
    levels,
    frame: mergeLines(lines),
    hasProtected: levels.some((l) => l >= PROTECTED_LEVEL),
  };
}

/**
 * Writes a batch to every member of a room, tier by tier: the full frame to unlimited members and
 * to tiers whose budget the room's rate does not exceed; otherwise a fairly sampled frame built
 * once for the tier. A member over its soft mark still gets the batch's protected lines.
 */
export function writeBatch(
  room: Room,
  batch: Batch,
  ratePerSecond: number,
  now: number,
  usersOf: UsersOf = () => undefined,
): FanoutTally {
  const tally: FanoutTally = {
    framesOut: 0,
    messagesOut: 0,
    droppedSlow: 0,
    closedSlow: 0,
    sampledOut: 0,
  };
  for (const tier of room.tiers.values()) {
    const out = tierFrame(room, tier, batch, ratePerSecond, now, usersOf);
    writeTier(tier, out, batch, room.policy.lossy, now, tally);
  }
  return tally;
}

function tierFrame(
  room: Room,
  tier: Tier,
  batch: Batch,
  rate: number,
  now: number,
  usersOf: UsersOf,
): TierFrame {
  const { lines, levels } = batch;
  const full = {
    frame: batch.frame,
    messages: lines.length,
    protectedFrame: undefined,
    protectedCount: 0,
    sampledOut: 0,
  };
  if (tier.budget === 0 || rate <= tier.budget) return full;
  const low = levels.reduce((n, l) => (l < PROTECTED_LEVEL ? n + 1 : n), 0);
  if (low === 0) return full;
  tier.credit = Math.min(tier.budget, tier.credit + (low * tier.budget) / rate);
  let senders: string[] | null = null;
  const sendersOf = (): string[] => (senders ??= lines.map(lineSender));
  // Never below 0: the credit is negative while a line taken on credit is being paid back.
  let quota = Math.max(0, Math.min(low, Math.floor(tier.credit)));
  // A batch whose credit is under one line would drop every line of it, however long ago their
  // senders were last shown: a viewer budgeted to 10/s in a room of 400/s gets a line every few
  // batches, and a sender who writes once a second was shown only when its line fell in one of
  // those. So a batch with a line owed a turn (another sender was shown after its sender) takes
  // one line on credit while nothing is owed; the next batches pay it back, so over any second
  // the tier still gets its budget, give or take that one line.
  if (quota === 0 && tier.credit >= 0 && owesATurn(levels, sendersOf, tier.turns)) quota = 1;
  tier.credit -= quota;
  if (quota === low) return full;
  const keep = sampleBatch(levels, sendersOf, quota, tier.turns);
  const kept: Buffer[] = [];
  keep.forEach((k, i) => {
    if (k) kept.push(lines[i]!);
    else returnOwnLine(room, tier, batch, i, now, sendersOf()[i]!, usersOf);
  });
  const skipped = low - quota;
  return {
    frame: mergeLines([...kept, skippedLine(room.name, skipped)]),
    messages: kept.length,
    protectedFrame: undefined,
    protectedCount: 0,
    sampledOut: skipped,
  };
}

/** Whether a low-class line of the batch has a sender another sender was shown after. */
function owesATurn(
  levels: readonly number[],
  sendersOf: () => readonly string[],
  turns: SenderTurns,
): boolean {
  const senders = sendersOf();
  for (let i = 0; i < levels.length; i++) {
    if (levels[i]! < PROTECTED_LEVEL && turns.owed(senders[i]!)) return true;
  }
  return false;
}

/**
 * A member's own message sampled out of its tier's frame is sent to it alone: to the session that
 * published it (`room.own`, known when the batch waited for its publish to be acknowledged) and to
 * the tier's sessions of the user in its `from` (a message sent at once is flushed before that).
 */
function returnOwnLine(
  room: Room,
  tier: Tier,
  batch: Batch,
  i: number,
  now: number,
  sender: string,
  usersOf: UsersOf,
): void {
  const line = batch.lines[i]!;
  const owner = room.own.get(batch.offsets[i]!);
  if (owner && tier.members.has(owner)) owner.send(line, false, now);
  const userId = senderId(sender);
  if (userId === null) return;
  for (const session of usersOf(userId) ?? []) {
    if (session !== owner && tier.members.has(session)) session.send(line, false, now);
  }
}

/** A user's sessions on this node, if any. */
export type UsersOf = (userId: string) => Iterable<Session> | undefined;

/** The user id in a line's `from` as `lineSender` reads it (JSON text, latin1), or null. */
function senderId(sender: string): string | null {
  if (sender === 'null') return null;
  try {
    const id: unknown = JSON.parse(Buffer.from(sender, 'latin1').toString('utf8'));
    return typeof id === 'string' ? id : null;
  } catch {
    return null;
  }
}

function writeTier(
  tier: Tier,
  out: TierFrame,
  batch: Batch,
  lossy: boolean,
  now: number,
  tally: FanoutTally,
): void {
  let sent = 0;
  for (const session of tier.members) {
    const result = session.send(out.frame, lossy, now);
    if (result === SendResult.Sent) {
      sent++;
      continue;
    }
    if (result === SendResult.ClosedSlow) tally.closedSlow++;
    if (result !== SendResult.Dropped) continue;
    tally.droppedSlow += out.messages;
    if (batch.hasProtected) sendProtected(session, out, batch, now, tally);
  }
  tally.framesOut += sent;
  tally.messagesOut += sent * out.messages;
  tally.sampledOut += out.sampledOut * tier.members.size;
}

/** Paid and system lines are never dropped by the lossy policy: they go as a reliable frame. */
function sendProtected(
  session: Session,
  out: TierFrame,
  batch: Batch,
  now: number,
  tally: FanoutTally,
): void {
  if (out.protectedFrame === undefined) {
    const lines = batch.lines.filter((_, i) => batch.levels[i]! >= PROTECTED_LEVEL);
    out.protectedFrame = lines.length > 0 ? mergeLines(lines) : null;
    out.protectedCount = lines.length;
  }
  if (out.protectedFrame === null) return;
  if (session.send(out.protectedFrame, false, now) !== SendResult.Sent) return;
  tally.droppedSlow -= out.protectedCount;
  tally.framesOut++;
  tally.messagesOut += out.protectedCount;
}
