import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { userIdProblem } from './validate.js';

describe('userIdProblem', () => {
  it('refuses Unicode whitespace (NBSP, ideographic space, line separator)', () => {
    for (const id of ['a\u00a0b', 'a\u3000b', 'a\u2028b']) {
      assert.notEqual(userIdProblem(id), null, JSON.stringify(id));
    }
  });
});
