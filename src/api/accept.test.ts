/**
 * The fast path's acceptors (accept.ts) take exactly the bodies their zod schema takes, with the
 * same output: every body below, valid or not, is judged by both.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MAX_ALERT_TTL_MS } from '../node/index.js';
import { MAX_MEDIA_TIME_MS } from '../protocol/index.js';
import { acceptPublish, acceptPush } from './accept.js';
import { publishBody, pushBody } from './schemas.js';

/** Values of every JSON kind, edge cases of the rules included. */
const VALUES: unknown[] = [
  null,
  true,
  false,
  0,
  -0,
  1,
  -1,
  1.5,
  2 ** 53,
  MAX_ALERT_TTL_MS,
  MAX_ALERT_TTL_MS + 1,
  MAX_MEDIA_TIME_MS,
  MAX_MEDIA_TIME_MS + 1,
  '',
  'u1',
  'a'.repeat(64),
  'a'.repeat(65),
  'a'.repeat(128),
  'a'.repeat(129),
  'has space',
  'tab\t',
  'ünï©ødé',
  'live:room-1.x@y/z',
  'bad event!',
  'normal',
  'system',
  'paid',
  'Normal',
  [],
  ['u1'],
  {},
  { text: 'hi' },
];

/** Bodies made from `base` by setting or removing one field at a time, over every value. */
function variants(base: Record<string, unknown>, fields: string[]): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [base, { ...base, extra: 1 }];
  for (const field of fields) {
    const { [field]: _, ...without } = base;
    out.push(without);
    for (const value of VALUES) out.push({ ...base, [field]: value });
  }
  return out;
}

function agrees(
  accept: (body: Record<string, unknown>) => unknown,
  schema: typeof pushBody | typeof publishBody,
  body: Record<string, unknown>,
): void {
  const zod = schema.safeParse(body);
  const fast = accept(body);
  const what = JSON.stringify(body);
  if (zod.success) assert.deepEqual(fast, zod.data, `accepted alike: ${what}`);
  else assert.equal(fast, null, `refused alike: ${what}`);
}

describe('fast-path acceptors', () => {
  it('acceptPush takes what pushBody takes, and outputs the same', () => {
    const fields = ['userId', 'event', 'data', 'message', 'persist', 'ttlMs', 'collapseKey', 'id'];
    const bases = [
      { userId: 'u1', event: 'e' },
      { userId: 'u1', event: 'e', data: { x: 1 } },
      { userId: 'u1', event: 'e', message: 'hi', persist: true, ttlMs: 60_000 },
      { userId: 'u1', event: 'e', persist: true, collapseKey: 'k', id: 'id-1' },
    ];
    let accepted = 0;
    for (const base of bases) {
      for (const body of variants(base, fields)) {
        agrees(acceptPush, pushBody, body);
        if (acceptPush(body)) accepted++;
      }
    }
    assert.ok(accepted > 50, `some bodies are valid (${accepted})`);
  });

  it('acceptPublish takes what publishBody takes, and outputs the same', () => {
    const fields = ['room', 'data', 'priority', 't'];
    const bases = [
      { room: 'r', data: 1 },
      { room: 'live:hot', data: null, priority: 'paid', t: 0 },
    ];
    let accepted = 0;
    for (const base of bases) {
      for (const body of variants(base, fields)) {
        agrees(acceptPublish, publishBody, body);
        if (acceptPublish(body)) accepted++;
      }
    }
    assert.ok(accepted > 20, `some bodies are valid (${accepted})`);
  });
});
