import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { frameText, parseFrame } from './frames.js';

describe('parseFrame', () => {
  it('parses a single-line frame', () => {
    const { frames, skipped } = parseFrame('{"type":"ping"}');
    assert.deepEqual(frames, [{ type: 'ping' }]);
    assert.equal(skipped, 0);
  });

  it('splits newline-merged frames in order', () => {
    const lines = [1, 2, 3].map((o) => JSON.stringify({ type: 'message', room: 'r', offset: o }));
    const { frames } = parseFrame(lines.join('\n'));
    assert.deepEqual(
      frames.map((f) => (f as { offset: number }).offset),
      [1, 2, 3],
    );
  });

  it('skips blank, broken and type-less lines without losing the others', () => {
    const text = '\n{"type":"ping"}\n\nnot json\n[1]\n{"x":1}\n{"type":"pong"}\n';
    const { frames, skipped } = parseFrame(text);
    assert.deepEqual(
      frames.map((f) => f.type),
      ['ping', 'pong'],
    );
    assert.equal(skipped, 3);
  });

  it('keeps newlines escaped inside JSON strings intact', () => {
    const { frames } = parseFrame('{"type":"message","data":"a\\nb"}');
    assert.equal((frames[0] as { data: string }).data, 'a\nb');
  });
});

describe('frameText', () => {
  it('decodes strings, ArrayBuffers and byte views', () => {
    assert.equal(frameText('x'), 'x');
    const bytes = new TextEncoder().encode('{"type":"ping"}');
    assert.equal(frameText(bytes), '{"type":"ping"}');
    assert.equal(frameText(bytes.buffer), '{"type":"ping"}');
    assert.equal(frameText(Buffer.from('héllo')), 'héllo');
    assert.equal(frameText(42), null);
  });
});
