import { BlockList, isIP } from 'node:net';
import { BarrageError } from '../errors.js';

/** Reads a request header by lower-case name (Node joins repeated ones with `, `). */
export type HeaderReader = (name: string) => string | string[] | undefined;

/**
 * The client address of a request: the TCP peer, or, when the peer is a trusted proxy, the
 * rightmost address of `X-Forwarded-For` (else `Forwarded`) that is not a trusted proxy itself.
 */
export type ClientIpResolver = (peer: string | undefined, header: HeaderReader) => string;

/**
 * Builds the resolver from `trustProxy` CIDRs (`10.0.0.0/8`, `::1`, `fd00::/8`; a bare address is
 * a /32 or /128). With none, the TCP peer is the client and forwarding headers are never read. A
 * header from a peer outside the list is ignored: anyone can send one. Walking the hops from the
 * right and skipping trusted ones means a client cannot choose its address by putting one in
 * front: the hop the last trusted proxy saw wins. Throws BARRAGE_ERR_CONFIG on a bad CIDR.
 */
export function createClientIpResolver(trustProxy: readonly string[]): ClientIpResolver {
  if (trustProxy.length === 0) {
    // Calls come in runs from the same few peers: the last answer is kept (a hot API call's cost).
    let lastPeer: string | undefined;
    let lastIp = 'unknown';
    return (peer) => {
      if (peer !== lastPeer) {
        lastIp = normalizeIp(peer ?? '') ?? 'unknown';
        lastPeer = peer;
      }
      return lastIp;
    };
  }
  const trusted = new BlockList();
  for (const cidr of trustProxy) addCidr(trusted, cidr);
  const isTrusted = (ip: string) => trusted.check(ip, isIP(ip) === 6 ? 'ipv6' : 'ipv4');
  return (peer, header) => {
    const direct = normalizeIp(peer ?? '');
    if (direct === null) return 'unknown';
    if (!isTrusted(direct)) return direct;
    const hops = forwardedHops(header);
    let client = direct;
    for (let i = hops.length - 1; i >= 0; i--) {
      const hop = normalizeIp(hops[i]!);
      // A hop a trusted proxy could not name (`unknown`, garbage): the last good one stands.
      if (hop === null) break;
      client = hop;
      if (!isTrusted(hop)) break;
    }
    return client;
  };
}

/** The hops a request went through, leftmost (the original client, as claimed) first. */
function forwardedHops(header: HeaderReader): string[] {
  const xff = joined(header('x-forwarded-for'));
  if (xff !== '') return xff.split(',').map((s) => s.trim());
  const forwarded = joined(header('forwarded'));
  if (forwarded === '') return [];
  const hops: string[] = [];
  for (const element of forwarded.split(',')) {
    for (const pair of element.split(';')) {
      const eq = pair.indexOf('=');
      if (eq === -1 || pair.slice(0, eq).trim().toLowerCase() !== 'for') continue;
      hops.push(
        pair
          .slice(eq + 1)
          .trim()
          .replace(/^"|"$/g, ''),
      );
    }
  }
  return hops;
}

function joined(value: string | string[] | undefined): string {
  if (value === undefined) return '';
  return (Array.isArray(value) ? value.join(',') : value).trim();
}

/**
 * An address as the caps and logs key it: IPv4-mapped IPv6 as plain IPv4, without brackets or a
 * port (`[2001:db8::1]:4711`, `192.0.2.1:80`); null when it is not an IP address.
 */
export function normalizeIp(raw: string): string | null {
  let ip = raw.trim();
  if (ip.startsWith('[')) {
    const end = ip.indexOf(']');
    if (end === -1) return null;
    ip = ip.slice(1, end);
  } else if (ip.includes('.') && ip.indexOf(':') === ip.lastIndexOf(':') && ip.includes(':')) {
    ip = ip.slice(0, ip.indexOf(':')); // IPv4 with a port
  }
  if (ip.toLowerCase().startsWith('::ffff:') && isIP(ip.slice(7)) === 4) ip = ip.slice(7);
  return isIP(ip) === 0 ? null : ip.toLowerCase();
}

function addCidr(list: BlockList, cidr: string): void {
  const [address = '', prefix, extra] = cidr.trim().split('/');
  const ip = normalizeIp(address);
  const family = ip === null ? 0 : isIP(ip);
  const max = family === 6 ? 128 : 32;
  const bits = prefix === undefined ? max : Number(prefix);
  if (ip === null || extra !== undefined || !Number.isInteger(bits) || bits < 0 || bits > max) {
    throw new BarrageError(
      'BARRAGE_ERR_CONFIG',
      `trustProxy: "${cidr}" is not an IP address or CIDR (e.g. 10.0.0.0/8, ::1, fd00::/8)`,
    );
  }
  list.addSubnet(ip, bits, family === 6 ? 'ipv6' : 'ipv4');
}
