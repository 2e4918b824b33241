/**
 * Behind a proxy (issue 11, item 9): per-IP caps, the keyless API's loopback check and logs must
 * see the client, not the proxy, and only a trusted proxy may say who the client is. The test
 * plays the proxy from 127.0.0.1. Passes when, with `--trust-proxy 127.0.0.1`, the per-IP cap
 * counts the forwarded client (rightmost untrusted hop; a prepended fake changes nothing) and the
 * keyless API refuses a forwarded outsider; and when, without it or from an untrusted peer,
 * forwarding headers change nothing at all.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { RawWs, type ServedProcess, serveProcess } from './support.js';

const CAP = 3;
const servers: ServedProcess[] = [];
const raws: RawWs[] = [];

after(async () => {
  for (const r of raws) r.destroy();
  await Promise.all(servers.map((s) => s.stop()));
});

async function serve(args: string[]): Promise<ServedProcess> {
  const server = await serveProcess([
    '--store',
    'none',
    '--max-connections-per-ip',
    String(CAP),
    ...args,
  ]);
  servers.push(server);
  return server;
}

/** Upgrades with extra headers: 101, or the refusal's status code. */
async function upgrade(server: ServedProcess, headers: Record<string, string>): Promise<number> {
  try {
    raws.push(await RawWs.open(server.port, headers));
    return 101;
  } catch (err) {
    const m = /upgrade refused: HTTP\/1\.1 (\d+)/.exec((err as Error).message);
    if (!m) throw err;
    return Number(m[1]);
  }
}

async function upgrades(
  server: ServedProcess,
  headers: (i: number) => Record<string, string>,
  n: number,
): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) out.push(await upgrade(server, headers(i)));
  return out;
}

const accepted = (n: number) => Array.from({ length: n }, () => 101);

describe('--trust-proxy 127.0.0.1', () => {
  let server: ServedProcess;

  it('caps connections per forwarded client, not per proxy', async () => {
    server = await serve(['--trust-proxy', '127.0.0.1']);
    const alice = () => ({ 'X-Forwarded-For': '198.51.100.1' });
    assert.deepEqual(await upgrades(server, alice, CAP + 1), [...accepted(CAP), 429]);
    // Another client through the same proxy still gets in.
    const bob = () => ({ 'X-Forwarded-For': '198.51.100.2' });
    assert.deepEqual(await upgrades(server, bob, CAP), accepted(CAP));
    // And the proxy's own address (no header) is a client of its own.
    assert.deepEqual(await upgrades(server, () => ({}), CAP), accepted(CAP));
  });

  it('takes the rightmost untrusted hop: a client prepending fake hops cannot escape its cap', async () => {
    const carol = (i: number) => ({ 'X-Forwarded-For': `203.0.113.${i + 1}, 198.51.100.3` });
    assert.deepEqual(await upgrades(server, carol, CAP + 1), [...accepted(CAP), 429]);
    const viaForwarded = (i: number) => ({
      Forwarded: `for=203.0.113.${i + 1}, for="198.51.100.4:4711";proto=https`,
    });
    assert.deepEqual(await upgrades(server, viaForwarded, CAP + 1), [...accepted(CAP), 429]);
  });

  it('answers a forwarded outsider on a keyless API as it answers any outsider (401)', async () => {
    const outsider = await fetch(`${server.url}/api/stats`, {
      headers: { 'X-Forwarded-For': '198.51.100.9' },
    });
    assert.equal(outsider.status, 401);
    const local = await fetch(`${server.url}/api/stats`);
    assert.equal(local.status, 200);
  });
});

describe('forwarding headers from peers that are not trusted proxies', () => {
  for (const [what, args] of [
    ['no --trust-proxy (the default)', []],
    ['--trust-proxy 10.0.0.0/8 (the peer is outside it)', ['--trust-proxy', '10.0.0.0/8']],
  ] as const) {
    it(`are ignored with ${what}: a new fake address per connection does not lift the cap`, async () => {
      const server = await serve([...args]);
      const spoof = (i: number) => ({
        'X-Forwarded-For': `198.51.100.${i + 10}`,
        Forwarded: `for=198.51.100.${i + 10}`,
      });
      assert.deepEqual(await upgrades(server, spoof, CAP + 1), [...accepted(CAP), 429]);
      const api = await fetch(`${server.url}/api/stats`, {
        headers: { 'X-Forwarded-For': '198.51.100.9' },
      });
      assert.equal(api.status, 200, 'the loopback caller stays a loopback caller');
    });
  }
});
