import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { budgetTier, SenderTurns, sampleBatch } from './sampling.js';

describe('budgetTier', () => {
  it('keeps 0 as no limit and rounds a budget down to a tier', () => {
    assert.equal(budgetTier(0), 0);
    assert.equal(budgetTier(1), 1);
    assert.equal(budgetTier(24), 20);
    assert.equal(budgetTier(30), 30);
    assert.equal(budgetTier(1_000_000), 5000);
  });
});

describe('sampleBatch', () => {
  const senders = (list: string[]) => () => list;

  it('always keeps protected classes, whatever the quota', () => {
    assert.deepEqual(sampleBatch([0, 2, 0, 3], senders(['a', 'a', 'a', 'a']), 0), [
      false,
      true,
      false,
      true,
    ]);
  });

  it('keeps highlighted lines before normal ones', () => {
    assert.deepEqual(sampleBatch([0, 0, 1, 0], senders(['a', 'b', 'c', 'd']), 1), [
      false,
      false,
      true,
      false,
    ]);
  });

  it('takes one line per sender in turn, so a flooder cannot fill the quota', () => {
    const levels = [0, 0, 0, 0, 0, 0];
    const who = ['loud', 'loud', 'loud', 'loud', 'quiet', 'loud'];
    assert.deepEqual(sampleBatch(levels, senders(who), 2), [
      true,
      false,
      false,
      false,
      true,
      false,
    ]);
  });

  it('serves the sender served longest ago first, across batches', () => {
    const turns = new SenderTurns();
    const who = ['loud', 'quiet'];
    assert.deepEqual(sampleBatch([0, 0], senders(who), 1, turns), [true, false]);
    assert.deepEqual(sampleBatch([0, 0], senders(who), 1, turns), [false, true]);
    assert.deepEqual(sampleBatch([0, 0], senders(who), 1, turns), [true, false]);
  });

  it('never keeps more low-class lines than the quota', () => {
    const levels = Array.from({ length: 50 }, (_, i) => (i % 7 === 0 ? 1 : 0));
    const who = levels.map((_, i) => `u${i % 5}`);
    const kept = sampleBatch(levels, senders(who), 12).filter(Boolean).length;
    assert.equal(kept, 12);
  });
});
