import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runQueueWaitSeconds } from './proc.js';

describe('runQueueWaitSeconds', () => {
  it("reads this process's main-thread run-queue wait, and null for a process that is gone", () => {
    const wait = runQueueWaitSeconds(process.pid);
    assert.equal(typeof wait, 'number');
    assert.ok(wait! >= 0, `wait ${wait}`);
    assert.equal(runQueueWaitSeconds(2 ** 22 + 1), null, 'above the largest pid');
  });
});
