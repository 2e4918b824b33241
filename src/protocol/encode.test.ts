import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  alertPushLine,
  droppedLine,
  errorLine,
  isShadowLine,
  joinedLine,
  leftLine,
  linePriority,
  lineSender,
  mergeLines,
  messageLine,
  messageParts,
  NEWLINE,
  PING_LINE,
  presenceLine,
  publishedLine,
  pushLine,
  readLine,
  replyLine,
  shadowParts,
  skippedLine,
  unshadowLine,
  welcomeLine,
  withdrawnLine,
} from './encode.js';

/** Parses an encoded line, failing the test with the text when it is not one JSON object. */
function parse(line: Buffer): Record<string, unknown> {
  const text = line.toString('utf8');
  assert.equal(text.includes('\n'), false, `a line holds a raw newline: ${text}`);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    assert.fail(`not valid JSON (${(err as Error).message}): ${text}`);
  }
  assert.equal(typeof value, 'object');
  assert.ok(value !== null && !Array.isArray(value));
  return value as Record<string, unknown>;
}

const TRICKY_ROOM = 'live:a/b_c-d.e@f';
const TRICKY_DATA = {
  text: 'line one\nline two "quoted" \\ back\u2028sep\u0000nul',
  emoji: '弾幕 🎉',
  list: [1, 2.5, -3, null, true, { deep: { er: [] } }],
};

describe('encode', () => {
  describe('#messageParts and #messageLine', () => {
    it('encodes a message with every contract field (room, offset, data, ts, from)', () => {
      const parts = messageParts(
        TRICKY_ROOM,
        JSON.stringify(TRICKY_DATA),
        1_700_000_000_123,
        'alice',
      );
      assert.deepStrictEqual(parse(messageLine(parts, 42)), {
        type: 'message',
        room: TRICKY_ROOM,
        offset: 42,
        data: TRICKY_DATA,
        ts: 1_700_000_000_123,
        from: 'alice',
      });
    });

    it('encodes an anonymous sender as from: null (the key is present)', () => {
      const msg = parse(messageLine(messageParts('r', '1', 5, null), 1));
      assert.ok(Object.hasOwn(msg, 'from'));
      assert.equal(msg.from, null);
    });

    it('escapes a sender id that holds quotes and backslashes', () => {
      const from = 'we"ird\\user';
      assert.equal(parse(messageLine(messageParts('r', '1', 5, from), 1)).from, from);
    });

    it('reuses one set of parts for many offsets, each line carrying its own', () => {
      const parts = messageParts('r', '"x"', 9, null);
      const offsets = [1, 2, 1000, Number.MAX_SAFE_INTEGER];
      for (const offset of offsets) assert.equal(parse(messageLine(parts, offset)).offset, offset);
    });

    it('splices the data JSON text in verbatim, without re-encoding it', () => {
      const dataJson = '{"b":1,"a":[1,2]}';
      const text = messageLine(messageParts('r', dataJson, 1, null), 1).toString();
      assert.ok(text.includes(`"data":${dataJson}`), text);
    });

    it('encodes null, string and number payloads', () => {
      for (const data of [null, 'str', 0, -1.5, false, []]) {
        assert.deepStrictEqual(
          parse(messageLine(messageParts('r', JSON.stringify(data), 1, null), 1)).data,
          data,
        );
      }
    });
  });

  describe('alert lines', () => {
    it('adds alert and expiresAt to a push line', () => {
      const line = alertPushLine('order', '{"n":1}', 5, { alert: 'Ax', expiresAt: 9 });
      assert.deepStrictEqual(parse(line), {
        type: 'push',
        event: 'order',
        data: { n: 1 },
        ts: 5,
        alert: 'Ax',
        expiresAt: 9,
      });
      const bare = alertPushLine('order', 'null', 5, { alert: 'Ax', expiresAt: null });
      assert.equal('expiresAt' in parse(bare), false);
    });

    it('encodes read, withdrawn and dropped', () => {
      assert.deepStrictEqual(parse(readLine(['a', 'b'])), { type: 'read', alerts: ['a', 'b'] });
      assert.deepStrictEqual(parse(withdrawnLine(['a'], 'collapsed', 'b')), {
        type: 'withdrawn',
        alerts: ['a'],
        reason: 'collapsed',
        replacedBy: 'b',
      });
      assert.deepStrictEqual(parse(withdrawnLine(['a'], 'expired')), {
        type: 'withdrawn',
        alerts: ['a'],
        reason: 'expired',
      });
      assert.deepStrictEqual(parse(droppedLine(3, 7)), { type: 'dropped', count: 3, ts: 7 });
    });
  });

  describe('#pushLine', () => {
    it('encodes type, event, data and ts', () => {
      assert.deepStrictEqual(parse(pushLine('alert', JSON.stringify(TRICKY_DATA), 77)), {
        type: 'push',
        event: 'alert',
        data: TRICKY_DATA,
        ts: 77,
      });
    });

    it('encodes a null payload as data: null', () => {
      const push = parse(pushLine('e', 'null', 1));
      assert.ok(Object.hasOwn(push, 'data'));
      assert.equal(push.data, null);
    });
  });

  describe('#presenceLine', () => {
    it('encodes type, room and the online count', () => {
      assert.deepStrictEqual(parse(presenceLine(TRICKY_ROOM, 12345)), {
        type: 'presence',
        room: TRICKY_ROOM,
        online: 12345,
      });
    });

    it('encodes an empty room as online: 0', () => {
      assert.equal(parse(presenceLine('r', 0)).online, 0);
    });
  });

  describe('PING_LINE', () => {
    it('is exactly a ping object', () => {
      assert.deepStrictEqual(parse(PING_LINE), { type: 'ping' });
    });
  });

  describe('#welcomeLine', () => {
    it('carries connId, heartbeat and userId when authenticated', () => {
      assert.deepStrictEqual(parse(welcomeLine('c-1', 25_000, 'alice')), {
        type: 'welcome',
        connId: 'c-1',
        heartbeat: 25_000,
        userId: 'alice',
      });
    });

    it('leaves userId out entirely when anonymous', () => {
      const welcome = parse(welcomeLine('c-2', 100, null));
      assert.deepStrictEqual(welcome, { type: 'welcome', connId: 'c-2', heartbeat: 100 });
      assert.equal(Object.hasOwn(welcome, 'userId'), false);
    });

    it('announces maxFrameBytes when given', () => {
      assert.equal(parse(welcomeLine('c-3', 100, null, 65_536)).maxFrameBytes, 65_536);
    });
  });

  describe('#shadowParts', () => {
    it('marks a line so that it is recognised, and unmarks it into the plain message', () => {
      const parts = messageParts('live:1', '{"t":"hi"}', 5, 'carol', 'paid');
      const marked = messageLine(shadowParts(parts), 7);
      assert.equal(isShadowLine(marked), true);
      assert.equal(isShadowLine(messageLine(parts, 7)), false);
      assert.deepStrictEqual(unshadowLine(marked), messageLine(parts, 7));
      assert.equal(lineSender(marked), '"carol"');
      assert.equal(parse(marked).shadow, true, 'still one JSON line for the broker to store');
    });
  });

  describe('#leftLine', () => {
    it('names the room and the reason', () => {
      assert.deepStrictEqual(parse(leftLine('live:"1"', 'banned')), {
        type: 'left',
        room: 'live:"1"',
        reason: 'banned',
      });
    });
  });

  describe('#errorLine', () => {
    it('echoes a numeric id with code and message', () => {
      assert.deepStrictEqual(parse(errorLine(7, 'forbidden', 'no "quotes"\nhere')), {
        type: 'error',
        id: 7,
        code: 'forbidden',
        message: 'no "quotes"\nhere',
      });
    });

    it('echoes a string id unchanged', () => {
      assert.equal(parse(errorLine('req-1', 'bad_request', 'm')).id, 'req-1');
    });

    it('echoes id 0 (a falsy id is still an id)', () => {
      assert.equal(parse(errorLine(0, 'bad_request', 'm')).id, 0);
    });

    it('leaves id out when the request had none', () => {
      const error = parse(errorLine(undefined, 'rate_limited', 'slow down'));
      assert.deepStrictEqual(error, { type: 'error', code: 'rate_limited', message: 'slow down' });
      assert.equal(Object.hasOwn(error, 'id'), false);
    });

    it('carries retryAfterMs only when given', () => {
      assert.equal(parse(errorLine(3, 'rate_limited', 'slow down', 250)).retryAfterMs, 250);
      assert.equal(Object.hasOwn(parse(errorLine(3, 'forbidden', 'no')), 'retryAfterMs'), false);
    });
  });

  describe('#replyLine', () => {
    it('encodes an ok reply with its id and fields', () => {
      assert.deepStrictEqual(parse(replyLine('ok', 'p1', { offset: 9 })), {
        type: 'ok',
        id: 'p1',
        offset: 9,
      });
    });

    it('encodes a pong without an id', () => {
      assert.deepStrictEqual(parse(replyLine('pong', undefined)), { type: 'pong' });
    });
  });

  describe('#publishedLine', () => {
    it('writes the same bytes as replyLine for every kind of id', () => {
      const ids = [undefined, 0, 7, 2 ** 40, 'p1', '', 'q"\\\n\u2028x', 'é漢😀'];
      for (const id of ids) {
        for (const offset of [0, 1, 123456789]) {
          assert.equal(
            publishedLine(id, offset).toString(),
            replyLine('ok', id, { offset }).toString(),
            `id ${String(id)} offset ${offset}`,
          );
        }
      }
    });
  });

  describe('#joinedLine', () => {
    const base = { room: 'live:x', online: 3, offset: 10, epoch: 'ep-1', recovered: true };
    const history = [8, 9, 10].map((offset) =>
      messageLine(
        messageParts('live:x', JSON.stringify({ n: offset }), 100 + offset, null),
        offset,
      ),
    );

    it('has every contract field and an empty messages array without history', () => {
      assert.deepStrictEqual(parse(joinedLine(1, { ...base, messages: [] })), {
        type: 'joined',
        id: 1,
        ...base,
        messages: [],
      });
    });

    it('splices history lines in, oldest first, as complete message objects', () => {
      const joined = parse(joinedLine('j', { ...base, recovered: false, messages: history }));
      assert.equal(joined.recovered, false);
      assert.deepStrictEqual(
        joined.messages,
        history.map((line) => JSON.parse(line.toString())),
      );
      assert.deepStrictEqual(
        (joined.messages as { offset: number }[]).map((m) => m.offset),
        [8, 9, 10],
      );
    });

    it('copies the history bytes verbatim into the reply', () => {
      const text = joinedLine(1, { ...base, messages: history }).toString();
      assert.ok(text.includes(history.map((l) => l.toString()).join(',')), text);
    });

    it('encodes one history line', () => {
      const joined = parse(joinedLine(1, { ...base, messages: [history[0]!] }));
      assert.equal((joined.messages as unknown[]).length, 1);
    });

    it('leaves id out when the join had none, keeping the other fields', () => {
      const joined = parse(joinedLine(undefined, { ...base, messages: history }));
      assert.equal(Object.hasOwn(joined, 'id'), false);
      for (const key of ['type', 'room', 'online', 'offset', 'epoch', 'recovered', 'messages']) {
        assert.ok(Object.hasOwn(joined, key), `missing ${key}`);
      }
    });
  });

  describe('#mergeLines', () => {
    it('returns a single line as the very same buffer', () => {
      const line = pushLine('e', '1', 1);
      assert.equal(mergeLines([line]), line);
    });

    it('joins N lines with one newline each, in order, no trailing newline', () => {
      const lines = Array.from({ length: 5 }, (_, i) =>
        messageLine(messageParts('r', `${i}`, i, null), i + 1),
      );
      const frame = mergeLines(lines);
      const text = frame.toString();
      assert.equal(text.endsWith('\n'), false);
      assert.equal(text.startsWith('\n'), false);
      const split = text.split('\n');
      assert.equal(split.length, 5);
      split.forEach((part, i) => {
        assert.equal(part, lines[i]!.toString());
        assert.equal(JSON.parse(part).offset, i + 1);
      });
      assert.equal(frame.length, lines.reduce((n, l) => n + l.length, 0) + 4 * NEWLINE.length);
    });

    it('keeps lines whose data holds newlines splittable (data newlines are escaped)', () => {
      const lines = [
        messageLine(messageParts('r', JSON.stringify('a\nb'), 1, null), 1),
        pushLine('e', JSON.stringify({ x: '\n\n' }), 2),
      ];
      const parts = mergeLines(lines).toString().split('\n');
      assert.equal(parts.length, 2);
      assert.equal(JSON.parse(parts[0]!).data, 'a\nb');
      assert.deepStrictEqual(JSON.parse(parts[1]!).data, { x: '\n\n' });
    });

    it('does not modify the lines it merges', () => {
      const a = Buffer.from('{"type":"ping"}');
      const b = Buffer.from('{"type":"pong"}');
      mergeLines([a, b]);
      assert.equal(a.toString(), '{"type":"ping"}');
      assert.equal(b.toString(), '{"type":"pong"}');
    });
  });
});

describe('message line classes and senders', () => {
  const line = (from: string | null, priority?: 'normal' | 'highlight' | 'paid' | 'system') =>
    messageLine(messageParts('live:r', '{"from":"spoof","x":1}', 1, from, priority), 7);

  it('reads the class at its fixed place, normal when unmarked', () => {
    assert.equal(linePriority(line('a')), 0);
    assert.equal(linePriority(line('a', 'highlight')), 1);
    assert.equal(linePriority(line('a', 'paid')), 2);
    assert.equal(linePriority(line('a', 'system')), 3);
    assert.equal(JSON.parse(line('a', 'paid').toString()).priority, 'paid');
    assert.equal('priority' in JSON.parse(line('a').toString()), false);
  });

  it('reads the sender from the end, not from look-alike data', () => {
    assert.equal(lineSender(line('alice')), '"alice"');
    assert.equal(lineSender(line(null)), 'null');
    assert.equal(lineSender(line('we"ird')), JSON.stringify('we"ird'));
  });

  it('encodes a skipped notice', () => {
    assert.deepEqual(JSON.parse(skippedLine('live:r', 5).toString()), {
      type: 'skipped',
      room: 'live:r',
      count: 5,
    });
  });
});
