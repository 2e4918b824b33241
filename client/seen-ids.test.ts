import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SeenIds } from './seen-ids.js';

describe('SeenIds', () => {
  it('says whether an id is new, and remembers it', () => {
    const seen = new SeenIds(10);
    assert.equal(seen.add('a'), true);
    assert.equal(seen.add('a'), false);
    assert.equal(seen.has('a'), true);
    assert.equal(seen.has('b'), false);
  });

  it('keeps at most capacity ids, forgetting the least recently seen first', () => {
    const seen = new SeenIds(3);
    for (const id of ['a', 'b', 'c']) seen.add(id);
    seen.add('a'); // seen again: now the most recent
    seen.add('d'); // over capacity: b, the oldest, goes
    assert.equal(seen.size, 3);
    assert.deepEqual(
      ['a', 'b', 'c', 'd'].map((id) => seen.has(id)),
      [true, false, true, true],
    );
    for (let i = 0; i < 1000; i++) seen.add(`x${i}`);
    assert.equal(seen.size, 3, 'bounded whatever the number of ids');
  });

  it('refuses a capacity below 1', () => {
    assert.throws(() => new SeenIds(0), RangeError);
    assert.throws(() => new SeenIds(Number.NaN), RangeError);
  });
});
