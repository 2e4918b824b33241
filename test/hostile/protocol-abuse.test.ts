/**
 * Protocol abuse over raw TCP against a `barrage serve` process: malformed handshakes and
 * malformed frames. Each case passes when the server answers with the right HTTP status or close
 * code (read from the raw socket), the process is still alive and healthy, and a probe client on
 * the same server still gets its ping answered. With BARRAGE_TIMING_GATES=1 the probe must also
 * be answered within 3x of its baseline (baseline floored at 20 ms on this shared machine).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { TestClient } from '../support/client.js';
import { rawExchange, rawExchangeOutcome, rawHead, upgradeRequest } from '../support/raw.js';
import {
  frame,
  latencyBound,
  medianRtt,
  nodeStats,
  RawWs,
  type ServedProcess,
  serveProcess,
  sleep,
  TIMING_GATES,
  timingGate,
} from './support.js';

const MAX_FRAME = 8192;

let server: ServedProcess;
let probe: TestClient;
let bound = 0;
let baselineMs = 0;
let worst = 0;
const raws: RawWs[] = [];

before(async () => {
  server = await serveProcess([
    '--max-frame-bytes',
    String(MAX_FRAME),
    '--max-connections-per-ip',
    '5000',
  ]);
  probe = await TestClient.connect(server.wsUrl);
  await medianRtt(probe, 5); // warm up (JIT, first allocations)
  const baseline = await medianRtt(probe, 11);
  bound = latencyBound(baseline);
  baselineMs = baseline;
});

after(async () => {
  probe?.close();
  for (const r of raws) r.destroy();
  await server?.stop();
});

/** The pass criterion shared by every case: alive, healthy, probe answered (in time, with gates on). */
async function stillServing(): Promise<void> {
  assert.ok(server.alive(), `server process exited; stderr: ${server.stderr()}`);
  const health = await fetch(`${server.url}/healthz`);
  assert.equal(health.status, 200);
  const rtt = await medianRtt(probe, 5);
  worst = Math.max(worst, rtt);
  timingGate(rtt <= bound, `probe median ping ${rtt.toFixed(1)} ms over the bound ${bound} ms`);
}

function statusOf(response: string): number {
  const m = /^HTTP\/1\.[01] (\d{3})/.exec(response);
  return m ? Number(m[1]) : 0;
}

async function open(headers: Record<string, string> = {}): Promise<RawWs> {
  const raw = await RawWs.open(server.port, headers);
  raws.push(raw);
  await raw.waitText((l) => l.includes('"welcome"'));
  return raw;
}

describe('malformed handshakes', () => {
  const cases: [string, () => string, number[]][] = [
    ['HTTP/1.0', () => upgradeRequest({}, '/ws', '1.0'), [400, 426]],
    ['no Host header', () => upgradeRequest({ Host: null }), [400]],
    ['a bad Sec-WebSocket-Key', () => upgradeRequest({ 'Sec-WebSocket-Key': 'short' }), [400]],
    ['no Sec-WebSocket-Key', () => upgradeRequest({ 'Sec-WebSocket-Key': null }), [400]],
    ['version 8', () => upgradeRequest({ 'Sec-WebSocket-Version': '8' }), [426]],
    ['a POST', () => upgradeRequest().replace(/^GET/, 'POST'), [405]],
    ['a path other than /ws', () => upgradeRequest({}, '/admin'), [404]],
    [
      'an empty-token Sec-WebSocket-Protocol list of 4000 commas',
      () => upgradeRequest({ 'Sec-WebSocket-Protocol': ','.repeat(4000) }),
      [400],
    ],
    [
      'a duplicated Sec-WebSocket-Protocol',
      () => upgradeRequest({ 'Sec-WebSocket-Protocol': 'chat, chat' }),
      [400],
    ],
    [
      'a Sec-WebSocket-Protocol with separators inside a token',
      () => upgradeRequest({ 'Sec-WebSocket-Protocol': 'a b;c=d"(),{}' }),
      [400],
    ],
  ];
  for (const [what, request, statuses] of cases) {
    it(`refuses an upgrade with ${what}: HTTP ${statuses.join(' or ')}`, async () => {
      const status = statusOf(await rawExchange(server.port, request()));
      assert.ok(statuses.includes(status), `got HTTP ${status}, wanted ${statuses.join('/')}`);
      await stillServing();
    });
  }

  // Node's 16 KiB header limit, and requests Node cannot parse: answered before any upgrade work.
  const unparsable: [string, () => string, number][] = [
    [
      'one header of 20 KiB (over the 16 KiB limit)',
      () => upgradeRequest({ 'X-Big': 'a'.repeat(20 * 1024) }),
      431,
    ],
    [
      '3000 headers (over 16 KiB together)',
      () => {
        const extra: Record<string, string> = {};
        for (let i = 0; i < 3000; i++) extra[`X-H${i}`] = 'v';
        return upgradeRequest(extra);
      },
      431,
    ],
    ['a request line that is not HTTP', () => 'HELLO\r\n\r\n', 400],
    ['a header line without a colon', () => upgradeRequest().replace('Upgrade:', 'Upgrade'), 400],
  ];
  for (const [what, request, status] of unparsable) {
    it(`answers ${what} with ${status} and closes`, async () => {
      const { response, closedByServer } = await rawExchangeOutcome(server.port, request(), 30_000);
      assert.ok(closedByServer, 'the server did not close the connection');
      assert.equal(statusOf(response), status);
      await stillServing();
    });
  }

  it('accepts 1000 extra small headers (under the limit) and serves the socket', async () => {
    const extra: Record<string, string> = {};
    for (let i = 0; i < 1000; i++) extra[`X-H${i}`] = 'v';
    const raw = await open(extra);
    raw.write(frame(1, '{"type":"ping","id":"many"}'));
    await raw.waitText((l) => l.includes('"id":"many"'));
    await stillServing();
  });

  it('picks one of 1500 valid subprotocols without choking, and serves the socket', async () => {
    const list = Array.from({ length: 1500 }, (_, i) => `p${i}`).join(', ');
    const response = await rawHead(server.port, upgradeRequest({ 'Sec-WebSocket-Protocol': list }));
    assert.equal(statusOf(response), 101);
    assert.match(response, /Sec-WebSocket-Protocol: p0\r\n/i);
    await stillServing();
  });

  it('ignores pathological Sec-WebSocket-Extensions: no compression is ever negotiated', async () => {
    const junk = 'permessage-deflate; client_max_window_bits=abc; ;;, x-foo="'.repeat(200);
    const raw = await open({ 'Sec-WebSocket-Extensions': junk });
    raw.write(frame(1, '{"type":"ping","id":"ext"}'));
    await raw.waitText((l) => l.includes('"id":"ext"'));
    const response = await rawHead(
      server.port,
      upgradeRequest({ 'Sec-WebSocket-Extensions': 'permessage-deflate' }),
    );
    assert.equal(statusOf(response), 101);
    assert.doesNotMatch(response, /Sec-WebSocket-Extensions/i);
    await stillServing();
  });
});

describe('malformed frames after the upgrade', () => {
  const ping = '{"type":"ping"}';
  const closeWith = (code: number, reason = '') => {
    const b = Buffer.alloc(2 + Buffer.byteLength(reason));
    b.writeUInt16BE(code, 0);
    b.write(reason, 2);
    return b;
  };
  const cases: [string, () => Buffer, number][] = [
    ['an unmasked client frame', () => frame(1, ping, { masked: false }), 1002],
    ['RSV1 set (no extension negotiated)', () => frame(1, ping, { rsv: 4 }), 1002],
    ['RSV2 set', () => frame(1, ping, { rsv: 2 }), 1002],
    ['RSV3 set', () => frame(1, ping, { rsv: 1 }), 1002],
    ['reserved data opcode 3', () => frame(3, ping), 1002],
    ['reserved control opcode 0xB', () => frame(0xb, ''), 1002],
    ['a fragmented ping (control frame without FIN)', () => frame(9, 'x', { fin: false }), 1002],
    ['a 126-byte ping (control frames max 125)', () => frame(9, 'x'.repeat(126)), 1002],
    ['a continuation frame with nothing to continue', () => frame(0, 'x'), 1002],
    [
      'a new text frame inside a fragmented message',
      () => Buffer.concat([frame(1, '{"ty', { fin: false }), frame(1, 'pe":"ping"}')]),
      1002,
    ],
    ['invalid UTF-8 in a text frame', () => frame(1, Buffer.from([0x22, 0xc3, 0x28, 0x22])), 1007],
    [
      'invalid UTF-8 split across fragments',
      () =>
        Buffer.concat([
          frame(1, Buffer.from([0x7b, 0xe2, 0x82]), { fin: false }),
          frame(0, Buffer.from([0x7d])),
        ]),
      1007,
    ],
    ['a binary frame', () => frame(2, Buffer.from([1, 2, 3])), 1003],
    [
      'a header promising 2^63 bytes',
      () => frame(1, '', { declaredLength: 2n ** 63n }).subarray(0, 14),
      1009,
    ],
    [
      'a header promising 2^32 bytes',
      () => frame(1, '', { declaredLength: 2n ** 32n }).subarray(0, 14),
      1009,
    ],
    ['a text frame one byte over maxFrameBytes', () => frame(1, 'x'.repeat(MAX_FRAME + 1)), 1009],
    ['a close frame with code 999', () => frame(8, closeWith(999)), 1002],
    ['a close frame with code 1004 (reserved)', () => frame(8, closeWith(1004)), 1002],
    ['a close frame with code 1005 (must not be sent)', () => frame(8, closeWith(1005)), 1002],
    ['a close frame with code 5000', () => frame(8, closeWith(5000)), 1002],
    ['a close frame with a 1-byte payload', () => frame(8, Buffer.from([3])), 1002],
    [
      'a close frame whose reason is invalid UTF-8',
      () => frame(8, Buffer.concat([closeWith(1000), Buffer.from([0xff])])),
      1007,
    ],
    ['a valid close frame (1000): echoed', () => frame(8, closeWith(1000, 'bye')), 1000],
    ['a valid application close code (4321): echoed', () => frame(8, closeWith(4321)), 4321],
  ];
  for (const [what, bytes, code] of cases) {
    it(`closes on ${what} with ${code}`, async () => {
      const raw = await open();
      raw.write(bytes());
      assert.equal(await raw.closed(), code);
      await stillServing();
    });
  }

  // ws closes by itself in the middle of the read: the replies of the commands before the close
  // (held for the end of the turn) must still go out, and before the close frame.
  const repliedBeforeClose: [string, string, Buffer, number][] = [
    [
      'a publish and the close frame',
      '{"type":"publish","room":"r","id":"last","data":{"n":1}}',
      frame(8, closeWith(1000, 'bye')),
      1000,
    ],
    [
      'a ping and an unmasked frame',
      '{"type":"ping","id":"last"}',
      frame(1, ping, { masked: false }),
      1002,
    ],
  ];
  for (const [what, command, closing, code] of repliedBeforeClose) {
    it(`answers ${what} sent in one write, then closes with ${code}`, async () => {
      const raw = await open();
      raw.write(Buffer.concat([frame(1, command), closing]));
      assert.equal(await raw.closed(), code);
      const reply = raw.frames.findIndex(
        (f) => f.opcode === 1 && f.payload.toString('utf8').includes('"id":"last"'),
      );
      const close = raw.frames.findIndex((f) => f.opcode === 8);
      assert.ok(reply >= 0, `no reply; got ${JSON.stringify(raw.texts())}`);
      assert.ok(reply < close, 'the reply came before the close frame');
      await stillServing();
    });
  }

  // More than maxFragments (64) is refused with 1008: test/hostile/fragments.test.ts.
  it('reassembles a message from 60 empty fragments, memory bounded', async () => {
    const before = await nodeStats(server.url);
    const raw = await open();
    const parts: Buffer[] = [frame(1, '{"type":"ping",', { fin: false })];
    for (let i = 0; i < 60; i++) parts.push(frame(0, '', { fin: false }));
    parts.push(frame(0, '"id":"frag"}'));
    raw.write(Buffer.concat(parts));
    await raw.waitText((l) => l.includes('"id":"frag"'), 10_000);
    const afterStats = await nodeStats(server.url);
    const grew = afterStats.rssBytes - before.rssBytes;
    assert.ok(grew < 50 * 1024 * 1024, `RSS grew by ${grew} bytes`);
    await stillServing();
  });

  it('closes with 1009 once fragments add up past maxFrameBytes', async () => {
    const raw = await open();
    const parts: Buffer[] = [frame(1, '"', { fin: false })];
    for (let i = 0; i < 40; i++) parts.push(frame(0, 'x'.repeat(256), { fin: false }));
    raw.write(Buffer.concat(parts));
    assert.equal(await raw.closed(10_000), 1009);
    await stillServing();
  });

  it('answers each ping with a pong of the same data, in order', async () => {
    const raw = await open();
    raw.write(Buffer.concat([frame(9, 'first'), frame(9, Buffer.alloc(125, 0x79)), frame(9, '')]));
    const pongs = () => raw.frames.filter((f) => f.opcode === 10);
    await raw.until(() => pongs().length >= 3 || raw.ended, 'three pongs');
    assert.deepEqual(
      pongs().map((f) => f.payload.toString('latin1')),
      ['first', 'y'.repeat(125), ''],
    );
    assert.equal(raw.closeCode, null);
    await stillServing();
  });

  it('cuts off a ping flood (10 000 pings in one write) at 60 pending pongs, memory bounded', async () => {
    const before = await nodeStats(server.url);
    const raw = await open();
    const ping = frame(9, Buffer.alloc(125, 0x78));
    raw.write(Buffer.concat(Array.from({ length: 10_000 }, () => ping)));
    await raw.until(() => raw.ended, 'the flooding connection to be terminated');
    const pongs = raw.frames.filter((f) => f.opcode === 10).length;
    assert.ok(pongs <= 60, `${pongs} pongs before the cut`);
    const grew = (await nodeStats(server.url)).rssBytes - before.rssBytes;
    assert.ok(grew < 50 * 1024 * 1024, `RSS grew by ${grew} bytes`);
    await stillServing();
  });

  it('ignores 10 000 unsolicited pongs and keeps serving the connection', async () => {
    const raw = await open();
    const pong = frame(10, Buffer.alloc(125, 0x78));
    raw.write(Buffer.concat(Array.from({ length: 10_000 }, () => pong)));
    raw.write(frame(1, '{"type":"ping","id":"after-pongs"}'));
    await raw.waitText((l) => l.includes('"id":"after-pongs"'));
    assert.equal(raw.closeCode, null);
    await stillServing();
  });

  it('serves a frame trickled one byte per write', async () => {
    const raw = await open();
    const bytes = frame(1, '{"type":"ping","id":"trickle"}');
    for (const byte of bytes) {
      raw.write(Buffer.from([byte]));
      await sleep(3);
    }
    await raw.waitText((l) => l.includes('"id":"trickle"'));
    await stillServing();
  });

  it('handles 200 abusive connections at once and stays within the probe bound', async () => {
    const opened = await Promise.all(Array.from({ length: 200 }, () => open()));
    const abuse = [
      () => frame(1, '{}', { masked: false }),
      () => frame(3, 'x'),
      () => frame(1, Buffer.from([0xff])),
      () => frame(8, Buffer.from([3])),
    ];
    for (const [i, raw] of opened.entries()) raw.write(abuse[i % abuse.length]!());
    const codes = await Promise.all(opened.map((raw) => raw.closed(10_000)));
    for (const [i, code] of codes.entries()) assert.equal(code, i % 4 === 2 ? 1007 : 1002);
    await stillServing();
  });
});

describe('the probe', () => {
  it('was answered after every case (within its bound with timing gates on)', (t) => {
    t.diagnostic(
      `probe median ping: baseline ${baselineMs.toFixed(2)} ms, worst after a case ${worst.toFixed(2)} ms, bound ${bound} ms${TIMING_GATES ? '' : ' (not enforced: BARRAGE_TIMING_GATES is off)'}`,
    );
    assert.ok(worst > 0, 'the probe was measured');
    timingGate(worst <= bound, `worst probe ping ${worst.toFixed(1)} ms over ${bound} ms`);
  });
});
