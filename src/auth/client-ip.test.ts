import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createClientIpResolver, normalizeIp } from './client-ip.js';

const headers =
  (h: Record<string, string>) =>
  (name: string): string | undefined =>
    h[name];

describe('createClientIpResolver', () => {
  const behind = createClientIpResolver(['10.0.0.0/8', '::1', '127.0.0.1']);

  it('uses the TCP peer and ignores forwarding headers when no proxy is trusted', () => {
    const off = createClientIpResolver([]);
    assert.equal(off('192.0.2.7', headers({ 'x-forwarded-for': '198.51.100.1' })), '192.0.2.7');
    assert.equal(off('::ffff:192.0.2.7', headers({})), '192.0.2.7');
  });

  it('ignores headers from a peer that is not a trusted proxy (spoofing)', () => {
    const h = headers({ 'x-forwarded-for': '1.2.3.4', forwarded: 'for=1.2.3.4' });
    assert.equal(behind('192.0.2.7', h), '192.0.2.7');
  });

  it('takes the rightmost untrusted hop of X-Forwarded-For from a trusted proxy', () => {
    // The client put a fake address in front; the proxy appended what it saw.
    const h = headers({ 'x-forwarded-for': '6.6.6.6, 198.51.100.9, 10.1.2.3' });
    assert.equal(behind('127.0.0.1', h), '198.51.100.9');
    assert.equal(behind('::ffff:127.0.0.1', h), '198.51.100.9');
  });

  it('reads Forwarded when there is no X-Forwarded-For (quoted, bracketed IPv6, ports)', () => {
    const h = headers({
      forwarded: 'for=6.6.6.6, for="[2001:db8:cafe::17]:4711";proto=https, for=10.0.0.2',
    });
    assert.equal(behind('::1', h), '2001:db8:cafe::17');
    assert.equal(behind('::1', headers({ forwarded: 'for="198.51.100.4:80"' })), '198.51.100.4');
  });

  it('stops at a hop a proxy could not name and keeps the last good one', () => {
    assert.equal(
      behind('10.0.0.1', headers({ 'x-forwarded-for': 'unknown, 10.0.0.9' })),
      '10.0.0.9',
    );
    assert.equal(behind('10.0.0.1', headers({ 'x-forwarded-for': 'garbage' })), '10.0.0.1');
  });

  it('answers the leftmost hop when every hop is trusted, the peer with no header', () => {
    assert.equal(
      behind('10.0.0.1', headers({ 'x-forwarded-for': '10.0.0.3, 10.0.0.2' })),
      '10.0.0.3',
    );
    assert.equal(behind('10.0.0.1', headers({})), '10.0.0.1');
  });

  it('refuses a bad CIDR naming the option', () => {
    for (const bad of ['10.0.0.0/33', 'example.com', '::1/129', '10.0.0.0/8/1', '']) {
      assert.throws(() => createClientIpResolver([bad]), /BARRAGE_ERR_CONFIG: trustProxy: /);
    }
  });
});

describe('normalizeIp', () => {
  it('strips brackets, ports and the IPv4-mapped prefix; null for non-addresses', () => {
    assert.equal(normalizeIp('[::1]:80'), '::1');
    assert.equal(normalizeIp('192.0.2.1:8080'), '192.0.2.1');
    assert.equal(normalizeIp('::FFFF:192.0.2.1'), '192.0.2.1');
    assert.equal(normalizeIp('2001:DB8::1'), '2001:db8::1');
    assert.equal(normalizeIp('unknown'), null);
    assert.equal(normalizeIp('_hidden'), null);
  });
});
