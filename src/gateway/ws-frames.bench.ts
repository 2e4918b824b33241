/**
 * Micro-benchmark of building one shared frame: the plain frame (header + payload in one Buffer)
 * and the compressed one, per payload of 1, 10 and 50 bench-shaped lines. This is the cost paid
 * once per batch, whatever the number of members; the ratio shows what compression saves.
 * Run: `npm run bench:micro -- ws-frames` (or `node --import tsx src/gateway/ws-frames.bench.ts`).
 */
import { measure, print, type Result } from '../../bench/micro/timing.js';
import { mergeLines, messageLine, messageParts } from '../protocol/index.js';
import { SharedFrames } from './ws-frames.js';

const OPS = 200;
const results: Result[] = [];
const ratios: string[] = [];
for (const lines of [1, 10, 50]) {
  const batch = Array.from({ length: lines }, (_, i) => {
    const data = JSON.stringify({
      text: `comment ${i} ${'abcdefghij'.slice(0, 1 + (i % 10))}`,
      c: i,
    });
    return messageLine(
      messageParts('live:hot', data, 1_796_000_000_000 + i, `user-${i * 7919}`),
      i,
    );
  });
  // Distinct Buffers (a copy each): the builder caches by identity, and mergeLines of one line returns it.
  const payloads = () => Array.from({ length: OPS }, () => Buffer.from(mergeLines(batch)));
  const plain = new SharedFrames({ compressMinBytes: 0 });
  const deflating = new SharedFrames({ compressMinBytes: 1 });
  results.push(
    await measure(`plain frame, ${lines} line(s)`, OPS, () => {
      for (const p of payloads()) plain.plain(p);
    }),
    await measure(`compressed frame, ${lines} line(s)`, OPS, () => {
      for (const p of payloads()) deflating.deflated(p);
    }),
  );
  const one = mergeLines(batch);
  const out = new SharedFrames({ compressMinBytes: 1 }).deflated(one).length;
  ratios.push(
    `  ${lines} line(s): ${one.length} B -> ${out} B frame (${((100 * out) / one.length).toFixed(0)} %)`,
  );
}
print('building one shared frame, CPU per frame (payload copies included)', results);
console.log(ratios.join('\n'));
