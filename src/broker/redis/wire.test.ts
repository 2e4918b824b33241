import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decodePush, decodeReply, decodeRoomFrame, encodePush, encodeReply } from './wire.js';

describe('redis broker wire frames', () => {
  it('reads a room frame without copying the line', () => {
    const payload = Buffer.from('42:Ab_9-x:{"type":"message","offset":42}');
    const frame = decodeRoomFrame(payload);
    assert.ok(frame);
    assert.equal(frame.offset, 42);
    assert.equal(frame.epoch, 'Ab_9-x');
    assert.equal(frame.line.toString(), '{"type":"message","offset":42}');
    assert.equal(frame.line.buffer, payload.buffer);
  });

  it('refuses malformed room frames', () => {
    for (const bad of ['', ':e:x', '4x:e:l', '12', '12:epoch-without-end']) {
      assert.equal(decodeRoomFrame(Buffer.from(bad)), null, bad);
    }
  });

  it('round-trips a push frame and a reply', () => {
    const line = Buffer.from('{"type":"push","event":"a","data":"x\\ny","ts":1}');
    const frame = encodePush({ r: 'req.1', n: 'node-1', e: 'a', u: 'u{1}' }, line);
    const push = decodePush(frame);
    assert.deepEqual(push?.header, { r: 'req.1', n: 'node-1', e: 'a', u: 'u{1}' });
    assert.equal(push?.line.toString(), line.toString());
    assert.equal(decodePush(Buffer.from('not json\nline')), null);
    assert.deepEqual(decodeReply(Buffer.from(encodeReply('seed.1z', 12))), {
      requestId: 'seed.1z',
      delivered: 12,
    });
    assert.equal(decodeReply(Buffer.from('x:-1')), null);
  });
});
