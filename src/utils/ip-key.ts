/**
 * @module `ipKey`: the limiter key for a client address. One IPv6 user typically holds a whole
 * /56 or /64, so IPv6 is grouped by prefix (/56 by default, as express-rate-limit does) — otherwise
 * a client could rotate addresses inside its prefix and get a fresh budget each time.
 */
import { isIPv4, isIPv6 } from 'node:net';

/** Options of `ipKey`. */
export interface IpKeyOptions {
  /** Prefix length IPv6 addresses are grouped by; false keeps the full address. @default 56 */
  ipv6Subnet?: number | false;
}

function hextets(ip: string): number[] {
  // An embedded IPv4 tail (::ffff:1.2.3.4) becomes its two hextets first.
  const address = ip.replace(/(\d+)\.(\d+)\.(\d+)\.(\d+)$/, (_, a, b, c, d) =>
    `${((+a << 8) | +b).toString(16)}:${((+c << 8) | +d).toString(16)}`,
  );
  const [head, tail] = address.split('::');
  const parse = (part: string | undefined) => (part ? part.split(':').map((h) => parseInt(h, 16)) : []);
  const left = parse(head);
  const right = parse(tail);
  return [...left, ...Array(Math.max(8 - left.length - right.length, 0)).fill(0), ...right];
}

/**
 * The key an address is counted under. Never throws: input that is not an address gives `'unknown'`.
 * @example ipKey('2001:db8:1:2:3::4') // '2001:db8:1:200::/56'
 */
export function ipKey(ip: string | undefined, { ipv6Subnet = 56 }: IpKeyOptions = {}): string {
  if (typeof ip !== 'string') return 'unknown';
  const address = ip.split('%')[0];
  if (isIPv4(address)) return address;
  if (!isIPv6(address)) return 'unknown';
  const groups = hextets(address.toLowerCase());
  // IPv4-mapped (::ffff:a.b.c.d): the client is an IPv4 client.
  if (groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff) {
    return [groups[6] >> 8, groups[6] & 255, groups[7] >> 8, groups[7] & 255].join('.');
  }
  if (ipv6Subnet === false) return groups.map((g) => g.toString(16)).join(':');
  const bits = Math.min(Math.max(Math.trunc(ipv6Subnet), 1), 128);
  const masked = groups.map((g, i) => {
    const keep = Math.min(Math.max(bits - i * 16, 0), 16);
    return keep === 0 ? 0 : g & ((0xffff << (16 - keep)) & 0xffff);
  });
  const used = Math.ceil(bits / 16);
  return `${masked.slice(0, used).map((g) => g.toString(16)).join(':')}${used < 8 ? '::' : ''}/${bits}`;
}
