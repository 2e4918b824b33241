/**
 * Group-commit answers released a slice at a time: every item once, in order (across groups
 * too), and the event loop's other callbacks (here an immediate queued before the release began,
 * standing for a socket read) run between slices instead of after the whole group.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  RELEASE_MAX_SLICE,
  RELEASE_SLICE,
  ReleaseQueue,
  releaseSlice,
} from '../../src/store/release.js';

describe('ReleaseQueue', () => {
  it('releases every item in order, a slice per turn, with other callbacks in between', async () => {
    const count = RELEASE_SLICE * 3 + 5;
    const items = Array.from({ length: count }, (_, i) => i);
    const seen: string[] = [];
    const done = new Promise<void>((resolve) => {
      setImmediate(() => seen.push('other'));
      new ReleaseQueue().release(items, (item, index) => {
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
    new ReleaseQueue().release([1, 2, 3], (item) => seen.push(item));
    assert.deepEqual(seen, [1, 2, 3]);
  });

  it('keeps the order across groups: a later group waits behind an earlier one', async () => {
    const queue = new ReleaseQueue();
    const seen: string[] = [];
    const turns: number[] = [];
    let turn = 0;
    const group = (name: string) => Array.from({ length: 40 }, (_, i) => `${name}${i}`);
    const first = group('a');
    const second = group('b');
    const done = new Promise<void>((resolve) => {
      const release = (item: string) => {
        seen.push(item);
        turns.push(turn);
        if (seen.length === 80) resolve();
      };
      // Counts the turns of the event loop while the groups are released.
      const tick = () => {
        turn++;
        if (seen.length < 80) setImmediate(tick);
      };
      setImmediate(tick);
      queue.release(first, release);
      // The second group commits while the first is still being released (as on both stores).
      setImmediate(() => queue.release(second, release));
    });
    await done;
    assert.deepEqual(seen, [...first, ...second]);
    // Never more than one slice per turn, over both groups (80 waiting at most).
    const perTurn = new Map<number, number>();
    for (const t of turns) perTurn.set(t, (perTurn.get(t) ?? 0) + 1);
    for (const [t, n] of perTurn) assert.ok(n <= releaseSlice(80), `${n} released in turn ${t}`);
  });

  it('releases a backlog faster: a quarter of what waits a turn, up to the most a turn', async () => {
    assert.equal(releaseSlice(1), RELEASE_SLICE);
    assert.equal(releaseSlice(RELEASE_SLICE * 4 + 4), RELEASE_SLICE + 1);
    assert.equal(releaseSlice(100_000), RELEASE_MAX_SLICE);
    const count = 1000;
    const perTurn: number[] = [];
    let turn = 0;
    const done = new Promise<void>((resolve) => {
      const tick = () => {
        turn++;
        setImmediate(tick).unref();
      };
      setImmediate(tick).unref();
      new ReleaseQueue().release(
        Array.from({ length: count }, (_, i) => i),
        (item) => {
          perTurn[turn] = (perTurn[turn] ?? 0) + 1;
          if (item === count - 1) resolve();
        },
      );
    });
    await done;
    const slices = perTurn.filter((n) => n !== undefined);
    assert.equal(slices[0], RELEASE_MAX_SLICE, 'a long backlog starts at the most a turn');
    assert.ok(Math.max(...slices) <= RELEASE_MAX_SLICE, `slices ${slices}`);
    // A fixed slice would take count / RELEASE_SLICE = 63 turns.
    assert.ok(slices.length <= 30, `${slices.length} turns: ${slices}`);
    assert.equal(
      slices.reduce((a, b) => a + b, 0),
      count,
    );
  });

  it('flushes: everything still queued is released at once, in order', () => {
    const queue = new ReleaseQueue();
    const seen: number[] = [];
    const items = Array.from({ length: RELEASE_MAX_SLICE * 3 }, (_, i) => i);
    queue.release(items, (item) => seen.push(item));
    assert.equal(
      seen.length,
      releaseSlice(items.length),
      'the first slice at once, the rest queued',
    );
    queue.flush();
    assert.deepEqual(seen, items);
  });

  it('keeps going after a release threw', async () => {
    const queue = new ReleaseQueue();
    const seen: number[] = [];
    const items = Array.from({ length: RELEASE_SLICE * 2 }, (_, i) => i);
    const done = new Promise<void>((resolve) => {
      assert.throws(() =>
        queue.release(items, (item) => {
          if (item === 0) throw new Error('caller failed');
          seen.push(item);
          if (item === items.length - 1) resolve();
        }),
      );
    });
    await done;
    assert.deepEqual(seen, items.slice(1));
  });
});
