import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type HistoryEntry, HistoryRing } from './history.js';

/** An entry whose line names its offset, accepted at `ts` (default: 100 x offset). */
const entry = (offset: number, ts = offset * 100): HistoryEntry => ({
  offset,
  ts,
  line: Buffer.from(`m${offset}`),
});
const texts = (lines: Buffer[]): string[] => lines.map((l) => l.toString());

/** A ring of `capacity` holding offsets `from..to`. */
function ring(capacity: number, from: number, to: number): HistoryRing {
  const r = new HistoryRing(capacity);
  for (let o = from; o <= to; o++) r.push(entry(o));
  return r;
}

describe('HistoryRing', () => {
  describe('#push', () => {
    it('keeps entries oldest first while under capacity', () => {
      const r = ring(5, 1, 3);
      assert.equal(r.length, 3);
      assert.equal(r.oldestOffset, 1);
      assert.deepStrictEqual(texts(r.lastLines(5)), ['m1', 'm2', 'm3']);
    });

    it('drops the oldest entry once full', () => {
      const r = ring(3, 1, 4);
      assert.equal(r.length, 3);
      assert.equal(r.oldestOffset, 2);
      assert.deepStrictEqual(texts(r.lastLines(3)), ['m2', 'm3', 'm4']);
    });

    it('keeps order across many wrap-arounds', () => {
      for (const total of [7, 9, 10, 31]) {
        const r = ring(3, 1, total);
        assert.equal(r.length, 3);
        assert.deepStrictEqual(texts(r.linesAfter(0)), [
          `m${total - 2}`,
          `m${total - 1}`,
          `m${total}`,
        ]);
      }
    });

    it('keeps nothing with a capacity of 0', () => {
      const r = ring(0, 1, 5);
      assert.equal(r.length, 0);
      assert.equal(r.oldestOffset, undefined);
      assert.deepStrictEqual(r.linesAfter(0), []);
      assert.deepStrictEqual(r.lastLines(3), []);
    });

    it('keeps just the newest entry with a capacity of 1', () => {
      const r = ring(1, 1, 4);
      assert.deepStrictEqual(texts(r.linesAfter(0)), ['m4']);
      assert.equal(r.oldestOffset, 4);
    });

    it('hands back the very buffers it was given', () => {
      const r = new HistoryRing(2);
      const e = entry(1);
      r.push(e);
      assert.equal(r.lastLines(1)[0], e.line);
      assert.equal(r.linesAfter(0)[0], e.line);
    });
  });

  describe('#linesAfter', () => {
    const r = ring(4, 1, 6); // holds 3, 4, 5, 6
    it('returns everything held for an offset before the oldest', () => {
      assert.deepStrictEqual(texts(r.linesAfter(0)), ['m3', 'm4', 'm5', 'm6']);
      assert.deepStrictEqual(texts(r.linesAfter(2)), ['m3', 'm4', 'm5', 'm6']);
    });

    it('returns only entries with a greater offset', () => {
      assert.deepStrictEqual(texts(r.linesAfter(3)), ['m4', 'm5', 'm6']);
      assert.deepStrictEqual(texts(r.linesAfter(5)), ['m6']);
    });

    it('returns nothing at or past the newest offset', () => {
      assert.deepStrictEqual(r.linesAfter(6), []);
      assert.deepStrictEqual(r.linesAfter(1000), []);
    });
  });

  describe('#lastLines', () => {
    const r = ring(4, 1, 6);
    it('returns the newest n, oldest first', () => {
      assert.deepStrictEqual(texts(r.lastLines(2)), ['m5', 'm6']);
      assert.deepStrictEqual(texts(r.lastLines(1)), ['m6']);
    });

    it('returns all it holds when asked for more', () => {
      assert.deepStrictEqual(texts(r.lastLines(100)), ['m3', 'm4', 'm5', 'm6']);
    });

    it('returns nothing for 0', () => {
      assert.deepStrictEqual(r.lastLines(0), []);
    });
  });

  describe('#expire', () => {
    it('drops entries accepted before the cut-off and keeps one accepted exactly at it', () => {
      const r = ring(10, 1, 5); // ts 100..500
      r.expire(300);
      assert.equal(r.length, 3);
      assert.equal(r.oldestOffset, 3);
      assert.deepStrictEqual(texts(r.linesAfter(0)), ['m3', 'm4', 'm5']);
    });

    it('can empty the ring', () => {
      const r = ring(10, 1, 5);
      r.expire(10_000);
      assert.equal(r.length, 0);
      assert.equal(r.oldestOffset, undefined);
      assert.deepStrictEqual(r.lastLines(5), []);
    });

    it('does nothing when every entry is recent enough', () => {
      const r = ring(10, 1, 5);
      r.expire(0);
      assert.equal(r.length, 5);
    });

    it('expires across the wrap point', () => {
      const r = ring(3, 1, 5); // holds 3, 4, 5, physically wrapped
      r.expire(450);
      assert.deepStrictEqual(texts(r.linesAfter(0)), ['m5']);
    });

    it('keeps working as a ring after expiring', () => {
      const r = ring(3, 1, 5);
      r.expire(400); // holds 4, 5
      r.push(entry(6));
      assert.deepStrictEqual(texts(r.linesAfter(0)), ['m4', 'm5', 'm6']);
      r.push(entry(7));
      r.push(entry(8));
      assert.deepStrictEqual(texts(r.linesAfter(0)), ['m6', 'm7', 'm8']);
      r.expire(100_000);
      r.push(entry(9));
      assert.deepStrictEqual(texts(r.lastLines(3)), ['m9']);
      assert.equal(r.oldestOffset, 9);
    });

    it('does nothing on an empty ring', () => {
      const r = new HistoryRing(3);
      r.expire(1_000);
      assert.equal(r.length, 0);
      const none = new HistoryRing(0);
      none.expire(1_000);
      assert.equal(none.length, 0);
    });
  });
});
