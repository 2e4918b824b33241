import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import { createLogger, effectiveLogFormat } from './logger.js';

/** A destination that keeps what it is given. */
function sink() {
  let text = '';
  const stream = new Writable({
    write(chunk, _encoding, done) {
      text += String(chunk);
      done();
    },
  });
  return { stream, text: () => text, lines: () => text.split('\n').filter(Boolean) };
}

describe('createLogger', () => {
  it('picks pretty on a terminal and JSON otherwise for auto; json and pretty as asked', () => {
    assert.equal(effectiveLogFormat('auto', true), 'pretty');
    assert.equal(effectiveLogFormat('auto', false), 'json');
    assert.equal(effectiveLogFormat('json', true), 'json');
    assert.equal(effectiveLogFormat('pretty', false), 'pretty');
  });

  it('writes one JSON object a line with the bindings in json format', () => {
    const out = sink();
    const log = createLogger({
      level: 'info',
      format: 'json',
      bindings: { nodeId: 'n1' },
      destination: out.stream,
    });
    log.info({ url: 'http://127.0.0.1:1' }, 'barrage listening');
    log.debug({}, 'hidden at info');
    const lines = out.lines().map((l) => JSON.parse(l));
    assert.equal(lines.length, 1);
    assert.equal(lines[0].msg, 'barrage listening');
    assert.equal(lines[0].nodeId, 'n1');
    assert.equal(lines[0].url, 'http://127.0.0.1:1');
  });

  it('writes human-readable lines in pretty format: time, level name, message, fields', () => {
    const out = sink();
    const log = createLogger({
      level: 'debug',
      format: 'pretty',
      bindings: { nodeId: 'n1' },
      destination: out.stream,
      isTTY: false,
    });
    log.warn({ room: 'r' }, 'room stream lost continuity');
    log.debug({ connId: 7 }, 'connection open');
    const lines = out.lines();
    assert.equal(lines.length, 2, out.text());
    assert.match(lines[0]!, /^\[\d\d:\d\d:\d\d\.\d{3}\] WARN: room stream lost continuity /);
    assert.ok(lines[0]!.includes('"room":"r"'), lines[0]);
    assert.match(lines[1]!, /DEBUG: connection open/);
    assert.throws(() => JSON.parse(lines[0]!));
    assert.ok(!out.text().includes('\u001b['), 'no colour codes when not a terminal');
  });

  for (const format of ['json', 'pretty'] as const) {
    it(`redacts credential fields in ${format} format`, () => {
      const out = sink();
      const log = createLogger({ level: 'info', format, destination: out.stream, isTTY: false });
      log.info({ token: 'tok-SECRET', req: { authorization: 'Bearer key-SECRET' } }, 'call');
      assert.ok(out.text().includes('call'), out.text());
      assert.ok(!out.text().includes('SECRET'), out.text());
    });
  }
});
