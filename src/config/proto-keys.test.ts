import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { resolveConfig } from './index.js';

describe('resolveConfig', () => {
  for (const key of ['toString', 'constructor', 'hasOwnProperty', '__proto__']) {
    it(`refuses the unknown config-file key "${key}"`, () => {
      assert.throws(() => resolveConfig({ file: JSON.parse(`{"${key}": 5}`) }), /unknown option/);
    });
  }
});
