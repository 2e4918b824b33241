import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RoomNames } from './room-names.js';

describe('RoomNames', () => {
  it('behaves as a Set of names (order, size, has, delete) through one room and many', () => {
    // A seeded walk of adds and deletes over a few names, checked against a Set at each step.
    let seed = 11;
    const random = () => {
      seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648;
      return seed / 2_147_483_648;
    };
    const names = ['a', 'b', 'c', 'd'];
    for (let run = 0; run < 50; run++) {
      const rooms = new RoomNames();
      const set = new Set<string>();
      for (let step = 0; step < 40; step++) {
        const name = names[Math.floor(random() * names.length)]!;
        if (random() < 0.55) {
          rooms.add(name);
          set.add(name);
        } else {
          assert.equal(rooms.delete(name), set.delete(name));
        }
        assert.deepEqual([...rooms], [...set]);
        assert.equal(rooms.size, set.size);
        for (const n of names) assert.equal(rooms.has(n), set.has(n));
      }
    }
  });

  it('is empty at first and after its only room is deleted', () => {
    const rooms = new RoomNames();
    assert.deepEqual([rooms.size, [...rooms], rooms.has('a')], [0, [], false]);
    rooms.add('a');
    rooms.add('a');
    assert.deepEqual([rooms.size, [...rooms]], [1, ['a']]);
    assert.equal(rooms.delete('b'), false);
    assert.equal(rooms.delete('a'), true);
    assert.deepEqual([rooms.size, [...rooms]], [0, []]);
  });
});
