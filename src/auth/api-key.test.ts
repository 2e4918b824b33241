import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createApiKeyCheck, isLoopback } from './api-key.js';

describe('createApiKeyCheck', () => {
  const KEY = 'k3y-0123456789abcdef';
  const check = createApiKeyCheck(KEY);

  it('accepts the right key as a Bearer token', () => {
    assert.equal(check(`Bearer ${KEY}`), true);
  });

  it('tolerates whitespace after the key', () => {
    assert.equal(check(`Bearer ${KEY}  `), true);
  });

  const refused: [string, string | undefined][] = [
    ['no header', undefined],
    ['an empty header', ''],
    ['the key without the Bearer scheme', KEY],
    ['another scheme', `Basic ${Buffer.from(`user:${KEY}`).toString('base64')}`],
    ['Bearer with nothing after it', 'Bearer '],
    ['Bearer without a space', `Bearer${KEY}`],
    ['a wrong key of the same length', `Bearer ${KEY.slice(0, -1)}X`],
    ['a prefix of the key (shorter)', `Bearer ${KEY.slice(0, 5)}`],
    ['the key with a suffix (longer)', `Bearer ${KEY}0`],
    ['the key twice', `Bearer ${KEY}${KEY}`],
    ['the key in another case', `Bearer ${KEY.toUpperCase()}`],
  ];
  for (const [name, header] of refused) {
    it(`refuses ${name}`, () => assert.equal(check(header), false));
  }

  it('compares against its own key only', () => {
    const other = createApiKeyCheck('other');
    assert.equal(other(`Bearer ${KEY}`), false);
    assert.equal(other('Bearer other'), true);
  });
});

describe('isLoopback', () => {
  const rows: [string | undefined, boolean][] = [
    ['127.0.0.1', true],
    ['127.0.0.2', true],
    ['127.255.255.254', true],
    ['::1', true],
    ['::ffff:127.0.0.1', true],
    [undefined, false],
    ['', false],
    ['10.0.0.1', false],
    ['192.168.1.1', false],
    ['128.0.0.1', false],
    ['1.127.0.0', false],
    ['::ffff:10.0.0.1', false],
    ['::2', false],
    ['fe80::1', false],
  ];
  for (const [address, loopback] of rows) {
    it(`says ${JSON.stringify(address)} is ${loopback ? '' : 'not '}loopback`, () => {
      assert.equal(isLoopback(address), loopback);
    });
  }
});
