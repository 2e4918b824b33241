import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { otherCpus } from './alerts-target.js';

describe('where the alerts scenario puts a scratch PostgreSQL', () => {
  it('on the CPUs the server is not pinned to, unpinned when none is left or the server is not', () => {
    assert.equal(otherCpus('0', 2), '1');
    assert.equal(otherCpus('0-1,3', 6), '2,4,5');
    assert.equal(otherCpus('0-1', 2), null);
    assert.equal(otherCpus(null, 2), null);
  });
});
