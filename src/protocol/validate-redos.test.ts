import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compileRoomPatterns } from './validate.js';

describe('compileRoomPatterns', () => {
  it('matches a 5-wildcard pattern against a 128-character room name within 100 ms', () => {
    const matches = compileRoomPatterns(['*a*a*a*a*a*b']);
    const started = performance.now();
    assert.equal(matches('a'.repeat(128)), false);
    const ms = performance.now() - started;
    assert.ok(ms < 100, `took ${ms.toFixed(0)} ms`);
  });
});
