/**
 * Micro-benchmark of the codec: encoding a `message` line (once per message, whatever the room's
 * size), merging a batch, parsing a client command. CPU per operation.
 * Run: `npm run bench:micro -- codec` (or `node --import tsx src/protocol/codec.bench.ts`).
 */
import { measure, print, type Result } from '../../bench/micro/timing.js';
import { mergeLines, messageLine, messageParts } from './encode.js';
import { parseCommand } from './parse.js';

const OPS = 50_000;
const results: Result[] = [];
let sink = 0;
for (const size of [64, 1024]) {
  const dataJson = JSON.stringify({ text: 'x'.repeat(size) });
  results.push(
    await measure(`messageLine, data ${size} B`, OPS, () => {
      for (let i = 0; i < OPS; i++) {
        const parts = messageParts('live:room-1', dataJson, 1_796_000_000_000 + i, 'user-42');
        sink += messageLine(parts, i).length;
      }
    }),
  );
  const parts = messageParts('live:room-1', dataJson, 1_796_000_000_000, 'user-42');
  const lines = Array.from({ length: 20 }, (_, i) => messageLine(parts, i));
  results.push(
    await measure(`mergeLines x20, data ${size} B`, OPS / 10, () => {
      for (let i = 0; i < OPS / 10; i++) sink += mergeLines(lines).length;
    }),
  );
  const publish = `{"type":"publish","id":7,"room":"live:room-1","data":${dataJson}}`;
  results.push(
    await measure(`parseCommand publish, data ${size} B`, OPS, () => {
      for (let i = 0; i < OPS; i++) sink += parseCommand(publish).ok ? 1 : 0;
    }),
  );
}
print('codec, CPU per operation', results);
if (sink === 0) console.log('(nothing measured)');
