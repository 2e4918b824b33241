import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ClientCommand } from './frames.js';
import { DEFAULT_PARSE_LIMITS, type ParseResult, parseCommand, splitLines } from './parse.js';

/** A row of the table: an input line and what the parser must make of it. */
interface Row {
  /** What the row is about (never the raw input: some are megabytes long). */
  name: string;
  line: string;
  /** Expected command (deep-equal, undefined fields included) when the line is accepted. */
  command?: ClientCommand;
  /** Expected refusal when the line is refused. */
  error?: { code?: string; message: string; id?: number | string };
}

const j = (value: unknown): string => JSON.stringify(value);
const s64 = 'i'.repeat(64);
const s65 = 'i'.repeat(65);

const ENVELOPE: Row[] = [
  { name: 'not JSON at all', line: 'not json', error: { message: 'invalid JSON' } },
  { name: 'an empty line', line: '', error: { message: 'invalid JSON' } },
  { name: 'truncated JSON', line: '{"type":"ping"', error: { message: 'invalid JSON' } },
  { name: 'trailing garbage', line: '{"type":"ping"}x', error: { message: 'invalid JSON' } },
  {
    name: 'two objects on one line',
    line: '{"type":"ping"}{"type":"ping"}',
    error: { message: 'invalid JSON' },
  },
  { name: 'a JSON array', line: '[{"type":"ping"}]', error: { message: 'must be a JSON object' } },
  { name: 'a JSON string', line: '"ping"', error: { message: 'must be a JSON object' } },
  { name: 'a JSON number', line: '42', error: { message: 'must be a JSON object' } },
  { name: 'JSON null', line: 'null', error: { message: 'must be a JSON object' } },
  { name: 'JSON true', line: 'true', error: { message: 'must be a JSON object' } },
  { name: 'an object without type', line: '{}', error: { message: '"type" must be a string' } },
  {
    name: 'a numeric type',
    line: '{"type":1}',
    error: { message: '"type" must be a string' },
  },
  {
    name: 'a null type, echoing the id',
    line: '{"type":null,"id":7}',
    error: { message: '"type" must be a string', id: 7 },
  },
  {
    name: 'an array type',
    line: '{"type":["ping"]}',
    error: { message: '"type" must be a string' },
  },
  { name: 'an unknown type', line: '{"type":"nope"}', error: { message: 'unknown type "nope"' } },
  {
    name: 'a type in the wrong case',
    line: '{"type":"PING","id":"a"}',
    error: { message: 'unknown type "PING"', id: 'a' },
  },
  {
    name: 'type "__proto__"',
    line: '{"type":"__proto__"}',
    error: { message: 'unknown type "__proto__"' },
  },
  {
    name: 'type "constructor"',
    line: '{"type":"constructor"}',
    error: { message: 'unknown type "constructor"' },
  },
  { name: 'type "toString"', line: '{"type":"toString"}', error: { message: 'unknown type' } },
  {
    name: 'a 100 000-character unknown type (echoed only in part)',
    line: j({ type: 'x'.repeat(100_000) }),
    error: { message: `unknown type "${'x'.repeat(32)}"` },
  },
  {
    name: 'whitespace around the object',
    line: ' \t{"type":"ping"}\r ',
    command: { type: 'ping', id: undefined },
  },
  {
    name: 'unknown extra fields (ignored)',
    line: '{"type":"pong","extra":{"deep":[1,2]}}',
    command: { type: 'pong', id: undefined },
  },
];

const PROTO: Row[] = [
  {
    name: 'an own "__proto__" key at the top level',
    line: '{"__proto__":{"polluted":true},"type":"ping","id":1}',
    command: { type: 'ping', id: 1 },
  },
  {
    name: 'a "__proto__" key that tries to set type',
    line: '{"__proto__":{"type":"ping"}}',
    error: { message: '"type" must be a string' },
  },
  {
    name: 'a "constructor.prototype" key',
    line: '{"constructor":{"prototype":{"polluted":true}},"type":"pong"}',
    command: { type: 'pong', id: undefined },
  },
  {
    name: 'a "__proto__" room',
    line: '{"type":"join","room":"__proto__"}',
    command: {
      type: 'join',
      id: undefined,
      room: '__proto__',
      since: undefined,
      history: undefined,
    },
  },
];

const IDS: Row[] = [
  { name: 'id 0', line: '{"type":"ping","id":0}', command: { type: 'ping', id: 0 } },
  { name: 'a negative id', line: '{"type":"ping","id":-3}', command: { type: 'ping', id: -3 } },
  { name: 'a float id', line: '{"type":"ping","id":1.5}', command: { type: 'ping', id: 1.5 } },
  {
    name: 'an empty string id',
    line: '{"type":"ping","id":""}',
    command: { type: 'ping', id: '' },
  },
  {
    name: 'a 64-char string id',
    line: j({ type: 'ping', id: s64 }),
    command: { type: 'ping', id: s64 },
  },
  {
    name: 'a 65-char string id',
    line: j({ type: 'ping', id: s65 }),
    error: { message: '"id" must be a number or a string of at most 64 characters' },
  },
  {
    name: 'a bare NaN id (not JSON at all)',
    line: '{"type":"ping","id":NaN}',
    error: { message: 'invalid JSON' },
  },
  {
    name: 'a negative overflow id (-Infinity)',
    line: '{"type":"ping","id":-1e400}',
    error: { message: '"id" must be' },
  },
  {
    name: 'an id that overflows to Infinity',
    line: '{"type":"ping","id":1e400}',
    error: { message: '"id" must be' },
  },
  {
    name: 'a "NaN" string id (a string, fine)',
    line: '{"type":"ping","id":"NaN"}',
    command: { type: 'ping', id: 'NaN' },
  },
  { name: 'a null id', line: '{"type":"ping","id":null}', error: { message: '"id" must be' } },
  { name: 'a boolean id', line: '{"type":"ping","id":true}', error: { message: '"id" must be' } },
  {
    name: 'an object id',
    line: '{"type":"ping","id":{"a":1}}',
    error: { message: '"id" must be' },
  },
  { name: 'an array id', line: '{"type":"ping","id":[1]}', error: { message: '"id" must be' } },
  {
    name: 'a bad id checked before the type',
    line: '{"type":"nope","id":{}}',
    error: { message: '"id" must be' },
  },
];

const join = (room: unknown, extra: Record<string, unknown> = {}): string =>
  j({ type: 'join', id: 1, room, ...extra });
const joined = (room: string, extra: Partial<ClientCommand> = {}): ClientCommand =>
  ({ type: 'join', id: 1, room, since: undefined, history: undefined, ...extra }) as ClientCommand;
const ROOM_RULE = '"room" must be 1-128 characters';

const ROOMS: Row[] = [
  { name: 'a plain room', line: join('lobby'), command: joined('lobby') },
  {
    name: 'every allowed punctuation, slashes included',
    line: join('live:a/b/c_d-e.f@g'),
    command: joined('live:a/b/c_d-e.f@g'),
  },
  { name: 'a 128-char room', line: join('r'.repeat(128)), command: joined('r'.repeat(128)) },
  { name: 'a 129-char room', line: join('r'.repeat(129)), error: { message: ROOM_RULE, id: 1 } },
  {
    name: 'a huge room (100 000 chars)',
    line: join('r'.repeat(100_000)),
    error: { message: ROOM_RULE, id: 1 },
  },
  { name: 'an empty room', line: join(''), error: { message: ROOM_RULE, id: 1 } },
  { name: 'a room with a space', line: join('a b'), error: { message: ROOM_RULE, id: 1 } },
  {
    name: 'a room with accented letters',
    line: join('café'),
    error: { message: ROOM_RULE, id: 1 },
  },
  { name: 'a room in CJK', line: join('房间'), error: { message: ROOM_RULE, id: 1 } },
  { name: 'a room with an emoji', line: join('room🎉'), error: { message: ROOM_RULE, id: 1 } },
  { name: 'a room with NUL', line: join('a\u0000b'), error: { message: ROOM_RULE, id: 1 } },
  { name: 'a room with a newline', line: join('a\nb'), error: { message: ROOM_RULE, id: 1 } },
  { name: 'a room with a tab', line: join('a\tb'), error: { message: ROOM_RULE, id: 1 } },
  { name: 'a room with DEL', line: join('a\u007fb'), error: { message: ROOM_RULE, id: 1 } },
  { name: 'a room with a star', line: join('live:*'), error: { message: ROOM_RULE, id: 1 } },
  {
    name: 'a numeric room',
    line: join(5),
    error: { message: '"room" must be a string', id: 1 },
  },
  {
    name: 'a missing room',
    line: '{"type":"join","id":1}',
    error: { message: '"room" must be a string', id: 1 },
  },
  {
    name: 'leave with a bad room',
    line: '{"type":"leave","id":2,"room":"a b"}',
    error: { message: ROOM_RULE, id: 2 },
  },
  {
    name: 'leave with a good room',
    line: '{"type":"leave","id":2,"room":"a"}',
    command: { type: 'leave', id: 2, room: 'a' },
  },
];

const SINCE_RULE = '"since" must be an object';
const SINCE: Row[] = [
  {
    name: 'a valid since',
    line: join('a', { since: { offset: 5, epoch: 'e1' } }),
    command: joined('a', { since: { offset: 5, epoch: 'e1' } } as Partial<ClientCommand>),
  },
  {
    name: 'since offset 0 and an empty epoch',
    line: join('a', { since: { offset: 0, epoch: '' } }),
    command: joined('a', { since: { offset: 0, epoch: '' } } as Partial<ClientCommand>),
  },
  {
    name: 'since with extra keys (dropped)',
    line: join('a', { since: { offset: 1, epoch: 'e', x: 1 } }),
    command: joined('a', { since: { offset: 1, epoch: 'e' } } as Partial<ClientCommand>),
  },
  {
    name: 'a negative since offset',
    line: join('a', { since: { offset: -1, epoch: 'e' } }),
    error: { message: '"since.offset" must be a non-negative integer', id: 1 },
  },
  {
    name: 'a float since offset',
    line: join('a', { since: { offset: 1.5, epoch: 'e' } }),
    error: { message: '"since.offset"', id: 1 },
  },
  {
    name: 'a string since offset',
    line: join('a', { since: { offset: '5', epoch: 'e' } }),
    error: { message: '"since.offset"', id: 1 },
  },
  {
    name: 'a since offset past the safe integers',
    line: join('a', { since: { offset: 2 ** 53, epoch: 'e' } }),
    error: { message: '"since.offset"', id: 1 },
  },
  {
    name: 'a missing since offset',
    line: join('a', { since: { epoch: 'e' } }),
    error: { message: '"since.offset"', id: 1 },
  },
  {
    name: 'a missing epoch',
    line: join('a', { since: { offset: 3 } }),
    error: { message: '"since.epoch" must be a string of at most 64 characters', id: 1 },
  },
  {
    name: 'a numeric epoch',
    line: join('a', { since: { offset: 3, epoch: 7 } }),
    error: { message: '"since.epoch"', id: 1 },
  },
  {
    name: 'a 64-char epoch',
    line: join('a', { since: { offset: 3, epoch: s64 } }),
    command: joined('a', { since: { offset: 3, epoch: s64 } } as Partial<ClientCommand>),
  },
  {
    name: 'a 65-char epoch',
    line: join('a', { since: { offset: 3, epoch: s65 } }),
    error: { message: '"since.epoch"', id: 1 },
  },
  { name: 'since null', line: join('a', { since: null }), error: { message: SINCE_RULE, id: 1 } },
  {
    name: 'since an array',
    line: join('a', { since: [3, 'e'] }),
    error: { message: SINCE_RULE, id: 1 },
  },
  {
    name: 'since a string',
    line: join('a', { since: '3' }),
    error: { message: SINCE_RULE, id: 1 },
  },
  { name: 'since a number', line: join('a', { since: 3 }), error: { message: SINCE_RULE, id: 1 } },
];

const HISTORY_RULE = `"history" must be an integer from 0 to ${DEFAULT_PARSE_LIMITS.maxHistory}`;
const HISTORY: Row[] = [
  {
    name: 'history 0',
    line: join('a', { history: 0 }),
    command: joined('a', { history: 0 } as Partial<ClientCommand>),
  },
  {
    name: 'history at the limit',
    line: join('a', { history: DEFAULT_PARSE_LIMITS.maxHistory }),
    command: joined('a', { history: DEFAULT_PARSE_LIMITS.maxHistory } as Partial<ClientCommand>),
  },
  {
    name: 'history one over the limit (refused, not clamped)',
    line: join('a', { history: DEFAULT_PARSE_LIMITS.maxHistory + 1 }),
    error: { message: HISTORY_RULE, id: 1 },
  },
  {
    name: 'a negative history',
    line: join('a', { history: -1 }),
    error: { message: HISTORY_RULE, id: 1 },
  },
  {
    name: 'a float history',
    line: join('a', { history: 2.5 }),
    error: { message: HISTORY_RULE, id: 1 },
  },
  {
    name: 'a string history',
    line: join('a', { history: '10' }),
    error: { message: HISTORY_RULE, id: 1 },
  },
  {
    name: 'a null history',
    line: join('a', { history: null }),
    error: { message: HISTORY_RULE, id: 1 },
  },
  {
    name: 'since and history together',
    line: join('a', { since: { offset: 9, epoch: 'e' }, history: 5 }),
    command: joined('a', {
      since: { offset: 9, epoch: 'e' },
      history: 5,
    } as Partial<ClientCommand>),
  },
];

const publish = (extra: Record<string, unknown>): string =>
  j({ type: 'publish', id: 'p', room: 'r', ...extra });
const published = (data: unknown): ClientCommand => ({
  type: 'publish',
  id: 'p',
  room: 'r',
  data,
});
const NESTED = { a: [1, { b: [true, null, 'x'] }], c: { d: { e: { f: 'deep' } } } };

const PUBLISH: Row[] = [
  {
    name: 'publish without data',
    line: publish({}),
    error: { message: '"data" is required', id: 'p' },
  },
  {
    name: 'publish with null data (allowed)',
    line: publish({ data: null }),
    command: published(null),
  },
  { name: 'publish with false data', line: publish({ data: false }), command: published(false) },
  { name: 'publish with 0 data', line: publish({ data: 0 }), command: published(0) },
  { name: 'publish with an empty string', line: publish({ data: '' }), command: published('') },
  { name: 'publish with nested data', line: publish({ data: NESTED }), command: published(NESTED) },
  {
    name: 'publish with a 1 MiB string (size is the gateway’s job)',
    line: publish({ data: 'd'.repeat(1 << 20) }),
    command: published('d'.repeat(1 << 20)),
  },
  {
    name: 'publish without room',
    line: '{"type":"publish","id":"p","data":1}',
    error: { message: '"room" must be a string', id: 'p' },
  },
  {
    name: 'publish to a bad room',
    line: publish({ room: 'a b', data: 1 }),
    error: { message: ROOM_RULE, id: 'p' },
  },
];

const auth = (extra: Record<string, unknown>): string => j({ type: 'auth', id: 3, ...extra });
const TOKEN_RULE = '"token" must be a non-empty string';
const MAX_TOKEN = DEFAULT_PARSE_LIMITS.maxTokenLength;
const MAX_EVENTS = DEFAULT_PARSE_LIMITS.maxEvents;
const names = (n: number): string[] => Array.from({ length: n }, (_, i) => `e${i}`);

const AUTH: Row[] = [
  {
    name: 'auth with a token',
    line: auth({ token: 't' }),
    command: { type: 'auth', id: 3, token: 't' },
  },
  { name: 'auth without a token', line: auth({}), error: { message: TOKEN_RULE, id: 3 } },
  {
    name: 'auth with an empty token',
    line: auth({ token: '' }),
    error: { message: TOKEN_RULE, id: 3 },
  },
  {
    name: 'auth with a numeric token',
    line: auth({ token: 12 }),
    error: { message: TOKEN_RULE, id: 3 },
  },
  {
    name: 'auth with a null token',
    line: auth({ token: null }),
    error: { message: TOKEN_RULE, id: 3 },
  },
  {
    name: 'auth with a token at the length limit',
    line: auth({ token: 't'.repeat(MAX_TOKEN) }),
    command: { type: 'auth', id: 3, token: 't'.repeat(MAX_TOKEN) },
  },
  {
    name: 'auth with a token one over the limit',
    line: auth({ token: 't'.repeat(MAX_TOKEN + 1) }),
    error: { code: 'too_large', message: `longer than ${MAX_TOKEN} characters`, id: 3 },
  },
  {
    name: 'auth with events',
    line: auth({ token: 't', events: ['alert', 'chat:dm', 'a.b-c_d'] }),
    command: { type: 'auth', id: 3, token: 't', events: ['alert', 'chat:dm', 'a.b-c_d'] },
  },
  {
    name: 'auth with an empty events list',
    line: auth({ token: 't', events: [] }),
    command: { type: 'auth', id: 3, token: 't', events: [] },
  },
  {
    name: 'auth with events at the count limit',
    line: auth({ token: 't', events: names(MAX_EVENTS) }),
    command: { type: 'auth', id: 3, token: 't', events: names(MAX_EVENTS) },
  },
  {
    name: 'auth with too many events',
    line: auth({ token: 't', events: names(MAX_EVENTS + 1) }),
    error: { message: `at most ${MAX_EVENTS} events`, id: 3 },
  },
  {
    name: 'auth with events as a string',
    line: auth({ token: 't', events: 'alert' }),
    error: { message: '"events" must be an array', id: 3 },
  },
  {
    name: 'auth with events null',
    line: auth({ token: 't', events: null }),
    error: { message: '"events" must be an array', id: 3 },
  },
  {
    name: 'auth with events as an object',
    line: auth({ token: 't', events: { 0: 'alert', length: 1 } }),
    error: { message: '"events" must be an array', id: 3 },
  },
  {
    name: 'auth with an event name holding a space',
    line: auth({ token: 't', events: ['ok', 'not ok'] }),
    error: { message: 'in "events": "event" must be 1-64 characters', id: 3 },
  },
  {
    name: 'auth with an empty event name',
    line: auth({ token: 't', events: [''] }),
    error: { message: 'in "events"', id: 3 },
  },
  {
    name: 'auth with a 65-char event name',
    line: auth({ token: 't', events: ['e'.repeat(65)] }),
    error: { message: 'in "events"', id: 3 },
  },
  {
    name: 'auth with a slash in an event name (rooms allow it, events do not)',
    line: auth({ token: 't', events: ['a/b'] }),
    error: { message: 'in "events"', id: 3 },
  },
  {
    name: 'auth with a numeric event name',
    line: auth({ token: 't', events: [1] }),
    error: { message: 'in "events": "event" must be a string', id: 3 },
  },
];

const SIMPLE: Row[] = [
  { name: 'ping', line: '{"type":"ping"}', command: { type: 'ping', id: undefined } },
  { name: 'pong with an id', line: '{"type":"pong","id":"x"}', command: { type: 'pong', id: 'x' } },
];

const ALERTS: Row[] = [
  {
    name: 'an ack of two ids, a repeated one kept once',
    line: j({ type: 'ack', id: 3, alerts: ['Aa', 'B_-9', 'Aa'] }),
    command: { type: 'ack', id: 3, alerts: ['Aa', 'B_-9'] },
  },
  {
    name: 'an ack without alerts',
    line: j({ type: 'ack', id: 3 }),
    error: { message: '"alerts" must be an array of 1 to 100 alert ids', id: 3 },
  },
  {
    name: 'an ack of no alerts',
    line: j({ type: 'ack', alerts: [] }),
    error: { message: '"alerts" must be an array of 1 to 100 alert ids' },
  },
  {
    name: 'an ack of 101 alerts',
    line: j({ type: 'ack', alerts: Array.from({ length: 101 }, (_, i) => `a${i}`) }),
    error: { message: '"alerts" must be an array of 1 to 100 alert ids' },
  },
  {
    name: 'an ack with a bad id',
    line: j({ type: 'ack', alerts: ['ok', 'a b'] }),
    error: { message: 'in "alerts": an alert id must be 1-64 characters' },
  },
  {
    name: 'an ack with a 65-character id',
    line: j({ type: 'ack', alerts: [s65] }),
    error: { message: 'in "alerts"' },
  },
  {
    name: 'an inbox with defaults',
    line: j({ type: 'inbox', id: 'i' }),
    command: { type: 'inbox', id: 'i', unread: false, limit: 100 },
  },
  {
    name: 'an inbox of unread alerts, limit 1000',
    line: j({ type: 'inbox', unread: true, limit: 1000 }),
    command: { type: 'inbox', id: undefined, unread: true, limit: 1000 },
  },
  {
    name: 'an inbox with limit 0',
    line: j({ type: 'inbox', limit: 0 }),
    error: { message: '"limit" must be an integer from 1 to 1000' },
  },
  {
    name: 'an inbox with a string unread',
    line: j({ type: 'inbox', unread: '1' }),
    error: { message: '"unread" must be a boolean' },
  },
];

const TABLE: [string, Row[]][] = [
  ['alerts', ALERTS],
  ['envelope', ENVELOPE],
  ['prototype-pollution keys', PROTO],
  ['request ids', IDS],
  ['room names', ROOMS],
  ['since', SINCE],
  ['history bounds', HISTORY],
  ['publish', PUBLISH],
  ['auth', AUTH],
  ['ping and pong', SIMPLE],
];

function check(row: Row, result: ParseResult): void {
  if (row.command) {
    assert.equal(result.ok, true, `refused: ${result.ok ? '' : result.message}`);
    if (result.ok) assert.deepStrictEqual(result.command, row.command);
    return;
  }
  const want = row.error!;
  assert.equal(result.ok, false, 'accepted a line that must be refused');
  if (result.ok) return;
  assert.equal(result.code, want.code ?? 'bad_request');
  assert.ok(
    result.message.includes(want.message),
    `message ${JSON.stringify(result.message)} lacks ${JSON.stringify(want.message)}`,
  );
  assert.ok(result.message.length <= 200, `message is ${result.message.length} characters long`);
  if (want.id === undefined) assert.equal('id' in result, false, 'echoed an id it must not');
  else assert.equal(result.id, want.id);
}

describe('parseCommand', () => {
  for (const [group, rows] of TABLE) {
    describe(group, () => {
      for (const row of rows) {
        const verdict = row.command ? 'accepts' : `refuses (${row.error!.message.slice(0, 40)})`;
        it(`${verdict}: ${row.name}`, () => check(row, parseCommand(row.line)));
      }
    });
  }

  it('never pollutes Object.prototype, whatever the keys', () => {
    const lines = [
      '{"__proto__":{"polluted":1},"type":"ping"}',
      '{"constructor":{"prototype":{"polluted":1}},"type":"ping"}',
      j({ type: 'publish', room: 'r', data: JSON.parse('{"__proto__":{"polluted":1}}') }),
      '{"type":"publish","room":"r","data":{"__proto__":{"polluted":1}}}',
      '{"type":"join","room":"r","since":{"__proto__":{"offset":1,"epoch":"e"}}}',
    ];
    for (const line of lines) parseCommand(line);
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
  });

  it('keeps a "__proto__" key of publish data as an own key, not a prototype', () => {
    const r = parseCommand('{"type":"publish","room":"r","data":{"__proto__":{"x":1}}}');
    assert.ok(r.ok && r.command.type === 'publish');
    const data = r.command.data as Record<string, unknown>;
    assert.equal(Object.getPrototypeOf(data), Object.prototype);
    assert.ok(Object.hasOwn(data, '__proto__'));
    assert.equal(JSON.stringify(data), '{"__proto__":{"x":1}}');
  });

  it('refuses a since whose fields come only from a "__proto__" key', () => {
    const r = parseCommand(
      '{"type":"join","room":"r","since":{"__proto__":{"offset":1,"epoch":"e"}}}',
    );
    assert.equal(r.ok, false);
    assert.ok(!r.ok && r.message.includes('"since.offset"'));
  });

  it('applies the limits it is given instead of the defaults', () => {
    const limits = { maxTokenLength: 4, maxEvents: 1, maxHistory: 10 };
    const long = parseCommand(auth({ token: 'abcde' }), limits);
    assert.ok(!long.ok && long.code === 'too_large' && long.message.includes('longer than 4'));
    const events = parseCommand(auth({ token: 'abcd', events: ['a', 'b'] }), limits);
    assert.ok(!events.ok && events.message.includes('at most 1 events'));
    const history = parseCommand(join('a', { history: 11 }), limits);
    assert.ok(!history.ok && history.message.includes('from 0 to 10'));
    assert.ok(parseCommand(join('a', { history: 10 }), limits).ok);
  });

  it('never throws, whatever bytes it is given', () => {
    const hostile = [
      '\u0000',
      '\uFFFF',
      '\uD800',
      '{"type":"\uD800"}',
      '{'.repeat(10_000),
      `${'['.repeat(5000)}${']'.repeat(5000)}`,
      '{"type":"join","room":{"toString":"x"}}',
      '{"type":"auth","token":{"length":0}}',
    ];
    for (const line of hostile) {
      const r = parseCommand(line);
      assert.equal(r.ok, false, `accepted ${JSON.stringify(line.slice(0, 40))}`);
    }
  });
});

describe('splitLines', () => {
  const rows: [string, string, string[]][] = [
    ['an empty frame', '', []],
    ['a blank frame', '  \t ', []],
    ['only newlines', '\n\n\n', []],
    ['blank lines with whitespace', ' \n\t\n \r\n', []],
    ['one line, no newline (returned as is)', '{"type":"ping"}', ['{"type":"ping"}']],
    ['one line with surrounding spaces (kept)', ' {"a":1} ', [' {"a":1} ']],
    ['a trailing newline', '{"a":1}\n', ['{"a":1}']],
    ['a leading newline', '\n{"a":1}', ['{"a":1}']],
    ['two lines', '{"a":1}\n{"b":2}', ['{"a":1}', '{"b":2}']],
    ['blank lines between lines', '{"a":1}\n\n  \n{"b":2}\n', ['{"a":1}', '{"b":2}']],
    [
      'CRLF separators (the CR stays, JSON ignores it)',
      '{"a":1}\r\n{"b":2}',
      ['{"a":1}\r', '{"b":2}'],
    ],
    ['a lone CR is no separator', '{"a":1}\r{"b":2}', ['{"a":1}\r{"b":2}']],
  ];
  for (const [name, frame, lines] of rows) {
    it(`splits ${name}`, () => assert.deepStrictEqual(splitLines(frame), lines));
  }

  it('returns lines in order for a frame of 1000 lines', () => {
    const frame = Array.from({ length: 1000 }, (_, i) => j({ type: 'ping', id: i })).join('\n');
    const lines = splitLines(frame);
    assert.equal(lines.length, 1000);
    lines.forEach((line, i) => {
      assert.deepStrictEqual(parseCommand(line), { ok: true, command: { type: 'ping', id: i } });
    });
  });

  it('lets each line of a multi-line frame succeed or fail on its own', () => {
    const frame = '{"type":"ping","id":1}\nnot json\n{"type":"nope","id":3}\n\n{"type":"pong"}';
    const results = splitLines(frame).map((line) => parseCommand(line));
    assert.deepStrictEqual(
      results.map((r) => (r.ok ? r.command.type : `error:${r.id ?? '-'}`)),
      ['ping', 'error:-', 'error:3', 'pong'],
    );
  });
});
