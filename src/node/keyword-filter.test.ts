import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { KeywordFilter } from './keyword-filter.js';

describe('KeywordFilter', () => {
  it('is inactive without words and passes data through untouched', () => {
    const filter = new KeywordFilter([' ', ''], 'reject');
    assert.equal(filter.active, false);
    const data = { a: 'anything' };
    assert.equal(filter.apply(data).data, data);
  });

  it('rejects a word in any case, anywhere in nested strings, never in keys', () => {
    const filter = new KeywordFilter(['Bad'], 'reject');
    assert.equal(filter.apply({ x: [{ y: 'so bAD' }] }).outcome, 'blocked');
    assert.equal(filter.apply({ bad: 'fine' }).outcome, 'clean');
    assert.equal(filter.apply(42).outcome, 'clean');
  });

  it('treats words literally (regex characters escaped) and matches non-ASCII case-insensitively', () => {
    const filter = new KeywordFilter(['a.b', 'ÄRGER'], 'reject');
    assert.equal(filter.apply('axb').outcome, 'clean');
    assert.equal(filter.apply('see a.b').outcome, 'blocked');
    assert.equal(filter.apply('kein ärger').outcome, 'blocked');
  });

  it('masks each match with as many stars (by code point) and keeps a __proto__ key as data', () => {
    const filter = new KeywordFilter(['bad', '😀x'], 'mask');
    const input = JSON.parse('{"__proto__":"bad bad","t":"😀X!","n":1}');
    const result = filter.apply(input);
    assert.equal(result.outcome, 'masked');
    assert.deepEqual(Object.keys(result.data as object), ['__proto__', 't', 'n']);
    assert.equal(JSON.stringify(result.data), '{"__proto__":"*** ***","t":"**!","n":1}');
    assert.equal(filter.apply('good').outcome, 'clean');
  });

  it('does not search deeper than 32 levels', () => {
    let deep: unknown = 'bad';
    for (let i = 0; i < 40; i++) deep = [deep];
    assert.equal(new KeywordFilter(['bad'], 'reject').apply(deep).outcome, 'clean');
  });
});
