import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  compileRoomPatterns,
  eventNameProblem,
  roomNameProblem,
  userIdProblem,
} from './validate.js';

describe('compileRoomPatterns', () => {
  /** [patterns, rooms that match, rooms that do not] */
  const rows: [string, string[], string[], string[]][] = [
    ['an empty list matches nothing', [], [], ['', 'a', 'live:x', '*']],
    ['"*" matches every room', ['*'], ['', 'a', 'live:x', 'a/b/c', '*'], []],
    ['"*" among others matches every room', ['chat:1', '*'], ['anything', 'x'], []],
    ['an exact name matches only itself', ['lobby'], ['lobby'], ['lobby2', 'xlobby', 'Lobby', '']],
    [
      'a trailing wildcard matches the prefix and anything after it',
      ['live:*'],
      ['live:', 'live:a', 'live:a/b:c'],
      ['live', 'xlive:a', 'LIVE:a', 'chat:live:a'],
    ],
    ['a leading wildcard', ['*:vip'], [':vip', 'room:vip'], ['room:vip2', 'vip']],
    ['a middle wildcard', ['a*b'], ['ab', 'axb', 'a/x/b'], ['abc', 'xab', 'a']],
    ['two wildcards', ['u:*:*'], ['u::', 'u:1:2', 'u:1:2:3'], ['u:1', 'v:1:2']],
    ['a double wildcard acts as one', ['a**'], ['a', 'abc'], ['b']],
    [
      'several patterns are each anchored',
      ['x', 'live:*'],
      ['x', 'live:1'],
      ['xx', 'ax', 'x:live:1', 'xlive:1'],
    ],
    ['"." is literal', ['a.b'], ['a.b'], ['aXb', 'a-b', 'ab']],
    ['"+" is literal', ['a+b'], ['a+b'], ['aab', 'ab']],
    ['"?" is literal', ['a?'], ['a?'], ['a', '']],
    ['parentheses and "|" are literal', ['(a|b)'], ['(a|b)'], ['a', 'b', '(a)']],
    ['brackets are literal', ['[ab]'], ['[ab]'], ['a', 'b']],
    ['"^" and "$" are literal', ['^a$'], ['^a$'], ['a']],
    ['braces are literal', ['a{2}'], ['a{2}'], ['aa']],
    ['a backslash is literal', ['a\\d'], ['a\\d'], ['a1', 'ad']],
    ['"/" is literal', ['a/*'], ['a/', 'a/b'], ['ab']],
  ];
  for (const [name, patterns, yes, no] of rows) {
    it(name, () => {
      const matches = compileRoomPatterns(patterns);
      for (const room of yes)
        assert.equal(matches(room), true, `${JSON.stringify(room)} should match`);
      for (const room of no)
        assert.equal(matches(room), false, `${JSON.stringify(room)} should not match`);
    });
  }
});

describe('roomNameProblem', () => {
  const ok = ['a', 'A-z_0.9:@/', 'r'.repeat(128)];
  const bad: [unknown, string][] = [
    [undefined, 'must be a string'],
    [null, 'must be a string'],
    [1, 'must be a string'],
    ['', '1-128 characters'],
    ['r'.repeat(129), '1-128 characters'],
    ['a b', '1-128 characters'],
    ['é', '1-128 characters'],
    ['a\u0000', '1-128 characters'],
    ['a*', '1-128 characters'],
  ];
  it('accepts 1-128 characters of letters, digits and _ - : . @ /', () => {
    for (const room of ok) assert.equal(roomNameProblem(room), null, room);
  });
  it('explains every refusal', () => {
    for (const [room, problem] of bad)
      assert.match(roomNameProblem(room) ?? '', new RegExp(problem.replace(/[.*]/g, '\\$&')));
  });
});

describe('eventNameProblem', () => {
  it('accepts 1-64 characters of letters, digits and _ - : .', () => {
    for (const event of ['alert', 'a:b.c-d_e', 'e'.repeat(64)])
      assert.equal(eventNameProblem(event), null);
  });
  it('refuses slashes, @, spaces, empty, too long and non-strings', () => {
    for (const event of ['a/b', 'a@b', 'a b', '', 'e'.repeat(65), 5, null]) {
      assert.notEqual(eventNameProblem(event), null, JSON.stringify(event));
    }
  });
});

describe('userIdProblem', () => {
  it('accepts visible ASCII and non-ASCII up to 128 characters', () => {
    for (const id of ['alice', 'user@example.com', 'ユーザー', 'ü', 'u'.repeat(128), '"!~']) {
      assert.equal(userIdProblem(id), null, id);
    }
  });
  it('refuses whitespace, control characters, empty, too long and non-strings', () => {
    for (const id of [
      'a b',
      'a\tb',
      'a\nb',
      '\u0000',
      '\u007f',
      '\u0085',
      '\u00a0'.slice(1),
      'u'.repeat(129),
      1,
      null,
    ]) {
      assert.notEqual(userIdProblem(id), null, JSON.stringify(id));
    }
  });
});
