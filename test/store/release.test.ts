/**
 * Group-commit answers released a slice at a time: every item once, in order, and the event
 * loop's other callbacks (here an immediate queued before the release began, standing for a
 * socket read) run between slices instead of after the whole group.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RELEASE_SLICE, releaseInSlices } from '../../src/store/release.js';

describe('releaseInSlices', () => {
  it('releases every item in order, a slice per turn, with other callbacks in between', async () => {
    const count = RELEASE_SLICE * 3 + 5;
    const items = Array.from({ length: count }, (_, i) => i);
    const seen: string[] = [];
    const done = new Promise<void>((resolve) => {
      setImmediate(() => seen.push('other'));
      releaseInSlices(items, (item, index) => {
        assert.equal(item, index);
        seen.push(String(item));
        if (item === count - 1) resolve();
      });
    });
    await done;
    const released = seen.filter((s) => s !== 'other').map(Number);
    assert.deepEqual(released, items);
    // The first slice runs at once; the other callback runs before the second slice.
    assert.equal(seen.indexOf('other'), RELEASE_SLICE);
  });

  it('releases a group smaller than a slice at once', () => {
    const seen: number[] = [];
    releaseInSlices([1, 2, 3], (item) => seen.push(item));
    assert.deepEqual(seen, [1, 2, 3]);
  });
});
