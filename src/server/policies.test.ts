import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { OPTIONS, parseRoomPolicies } from '../config/index.js';
import { policyResolver } from './policies.js';

const resolve = (rules: readonly string[]) => policyResolver(parseRoomPolicies(rules));

describe('policyResolver', () => {
  it('gives every room an adaptive merge window by default: live:* lossy, the rest reliable', () => {
    const policyFor = resolve(OPTIONS.roomPolicies.default);
    assert.deepEqual(policyFor('live:0'), { mergeWindowMs: 50, lossy: true, adaptive: true });
    for (const room of ['r0', 'chat-1', 'stream-123'])
      assert.deepEqual(policyFor(room), { mergeWindowMs: 50, lossy: false, adaptive: true }, room);
  });

  it('keeps the catch-all for rooms a custom list does not match', () => {
    const policyFor = resolve(['chat:*=0/reliable']);
    assert.deepEqual(policyFor('chat:a'), { mergeWindowMs: 0, lossy: false, adaptive: true });
    assert.deepEqual(policyFor('r0'), { mergeWindowMs: 50, lossy: false, adaptive: true });
    assert.deepEqual(resolve([])('r0'), policyFor('r0'));
  });

  it('lets a list end with its own catch-all, e.g. *=0 to send other rooms at once', () => {
    assert.equal(resolve(['live:*=50/lossy', '*=0'])('r0').mergeWindowMs, 0);
  });
});
