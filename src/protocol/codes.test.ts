import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CLOSE, CLOSE_RANGES, closeReconnects } from './codes.js';

describe('close codes', () => {
  it('puts every Barrage code in the range that says what its entry says', () => {
    for (const [name, spec] of Object.entries(CLOSE)) {
      if (spec.code < 3000) continue; // WebSocket's own codes are listed one by one
      const range = CLOSE_RANGES.find((r) => spec.code >= r.from && spec.code <= r.to);
      assert.ok(range, `${name} (${spec.code}) lies in no range`);
      assert.equal(range.reconnect, spec.reconnect, `${name} (${spec.code}) in the wrong range`);
    }
  });

  it('gives each code once', () => {
    const codes = Object.values(CLOSE).map((s) => s.code);
    assert.equal(new Set(codes).size, codes.length);
  });

  it('answers codes it does not list by their range', () => {
    assert.equal(closeReconnects(CLOSE.kicked.code), false);
    assert.equal(closeReconnects(CLOSE.policy.code), false);
    assert.equal(closeReconnects(1006), true);
    assert.equal(closeReconnects(3100), true);
    assert.equal(closeReconnects(3600), false);
    assert.equal(closeReconnects(4100), true);
    assert.equal(closeReconnects(4999), false);
  });
});
