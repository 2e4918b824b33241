import { PROTECTED_LEVEL } from '../protocol/index.js';

/** Budgets a client may declare are rounded down to one of these tiers (bounded work per batch). */
export const BUDGET_TIERS = [
  1, 2, 5, 10, 15, 20, 30, 50, 75, 100, 150, 200, 300, 500, 1000, 2000, 5000,
];

/** The tier of a declared budget in messages a second; 0 means no limit. */
export function budgetTier(budget: number): number {
  if (budget <= 0) return 0;
  let tier = BUDGET_TIERS[0]!;
  for (const t of BUDGET_TIERS) if (t <= budget) tier = t;
  return tier;
}

/**
 * Remembers when each sender last had a line kept for a tier, so that across batches the sender
 * served longest ago goes first. Bounded: forgotten wholesale past `limit` senders.
 */
export class SenderTurns {
  private readonly lastServed = new Map<string, number>();
  private clock = 0;

  constructor(private readonly limit = 4096) {}

  /** When the sender was last served (-1: never). */
  servedAt(sender: string): number {
    return this.lastServed.get(sender) ?? -1;
  }

  /** Records that the sender was just served. */
  served(sender: string): void {
    if (this.lastServed.size >= this.limit) this.lastServed.clear();
    this.lastServed.set(sender, this.clock++);
  }

  /** Whether someone else was served after this sender's last line (or it was never served). */
  owed(sender: string): boolean {
    return this.clock > 0 && this.servedAt(sender) < this.clock - 1;
  }
}

/**
 * Chooses which lines of a batch a budgeted client keeps. Lines of a protected class (paid,
 * system) are always kept. Of the others at most `quota` are kept: highlighted ones first, and
 * within a class one line per sender in turn, the sender served longest ago first, so no single
 * sender can fill a viewer's screen. Returns a mask over the batch, in batch order.
 */
export function sampleBatch(
  levels: readonly number[],
  senders: () => readonly string[],
  quota: number,
  turns: SenderTurns = new SenderTurns(),
): boolean[] {
  const keep = levels.map((level) => level >= PROTECTED_LEVEL);
  let left = quota;
  for (let level = PROTECTED_LEVEL - 1; level >= 0 && left > 0; level--) {
    const bySender = new Map<string, number[]>();
    const who = senders();
    levels.forEach((l, i) => {
      if (l !== level) return;
      const queue = bySender.get(who[i]!);
      if (queue) queue.push(i);
      else bySender.set(who[i]!, [i]);
    });
    const queues = [...bySender.entries()].sort(
      (a, b) => turns.servedAt(a[0]) - turns.servedAt(b[0]),
    );
    for (let round = 0; left > 0 && queues.some(([, q]) => q.length > round); round++) {
      for (const [sender, q] of queues) {
        if (left === 0) break;
        const i = q[round];
        if (i === undefined) continue;
        keep[i] = true;
        turns.served(sender);
        left--;
      }
    }
  }
  return keep;
}
