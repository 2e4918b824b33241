import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createApiKeyCheck } from './api-key.js';
import { createConnectionKeyCheck, equalsSecretText } from './connection-key.js';

const KEY = 'k3y-0123456789abcdef';
const RIGHT = `Bearer ${KEY}`;

/** The real hashed check, wrapped to count how often it runs. */
function countingCheck() {
  const hashed = createApiKeyCheck(KEY);
  const counter = { calls: 0 };
  const check = (authorization: string | undefined) => {
    counter.calls++;
    return hashed(authorization);
  };
  return { counter, check: createConnectionKeyCheck(check) };
}

describe('createConnectionKeyCheck', () => {
  it('passes the accepted text again on the same connection without hashing it', () => {
    const { counter, check } = countingCheck();
    const connection = {};
    assert.equal(check(RIGHT, connection), true);
    assert.equal(counter.calls, 1);
    assert.equal(check(RIGHT, connection), true);
    assert.equal(check(RIGHT, connection), true);
    assert.equal(counter.calls, 1);
  });

  it('refuses a wrong key of the same length on a connection that already passed', () => {
    const { counter, check } = countingCheck();
    const connection = {};
    assert.equal(check(RIGHT, connection), true);
    const sameLength = `Bearer ${KEY.slice(0, -1)}X`;
    assert.equal(sameLength.length, RIGHT.length);
    assert.equal(check(sameLength, connection), false);
    assert.equal(counter.calls, 2, 'a mismatch runs the full check');
    assert.equal(check(RIGHT, connection), true, 'the accepted text still passes');
    assert.equal(counter.calls, 2);
  });

  const otherLengths: [string, string][] = [
    ['a prefix of the accepted text', RIGHT.slice(0, -1)],
    ['the accepted text with a suffix', `${RIGHT}0`],
    ['the accepted text twice', `${RIGHT}${RIGHT}`],
    ['an empty header', ''],
  ];
  for (const [name, header] of otherLengths) {
    it(`refuses ${name} on a connection that already passed`, () => {
      const { counter, check } = countingCheck();
      const connection = {};
      assert.equal(check(RIGHT, connection), true);
      assert.equal(check(header, connection), false);
      assert.equal(counter.calls, 2);
    });
  }

  it('keeps what one connection passed with to that connection', () => {
    const { counter, check } = countingCheck();
    assert.equal(check(RIGHT, {}), true);
    assert.equal(check(RIGHT, {}), true);
    assert.equal(counter.calls, 2);
  });

  it('remembers nothing without a connection or a header', () => {
    const { counter, check } = countingCheck();
    assert.equal(check(RIGHT, undefined), true);
    assert.equal(check(RIGHT, undefined), true);
    assert.equal(counter.calls, 2);
    const connection = {};
    assert.equal(check(undefined, connection), false);
    assert.equal(check(undefined, connection), false);
  });

  it('does not remember a refused text', () => {
    const { counter, check } = countingCheck();
    const connection = {};
    assert.equal(check('Bearer wrong', connection), false);
    assert.equal(check('Bearer wrong', connection), false);
    assert.equal(counter.calls, 2);
  });
});

describe('equalsSecretText', () => {
  const rows: [string, string, boolean][] = [
    ['abc', 'abc', true],
    ['abd', 'abc', false],
    ['xbc', 'abc', false],
    ['ab', 'abc', false],
    ['abcd', 'abc', false],
    ['abcabc', 'abc', false],
    ['', 'abc', false],
    ['', '', true],
    ['a', '', false],
    ['\u00e9', 'e', false],
  ];
  for (const [presented, secret, equal] of rows) {
    it(`says ${JSON.stringify(presented)} ${equal ? 'equals' : 'differs from'} ${JSON.stringify(secret)}`, () => {
      assert.equal(equalsSecretText(presented, secret), equal);
    });
  }
});
