/**
 * @module `ipKey`: the limiter key for a client address. One IPv6 user typically holds a whole
 * /56 or /64, so IPv6 is grouped by prefix (/56 by default, as express-rate-limit does) — otherwise
 * a client could rotate addresses inside its prefix and get a fresh budget each time.
 */
import { isIPv4, isIPv6 } from 'node:net';
import { InvalidOptionError } from '../errors';

/** The IPv6 prefix length clients are grouped by unless configured otherwise (as express-rate-limit). */
export const DEFAULT_IPV6_SUBNET = 56;

/** Options of `ipKey`. */
export interface IpKeyOptions {
  /** Prefix length IPv6 addresses are grouped by (an integer 1–128); false keeps the full address. @default 56 */
  ipv6Subnet?: number | false;
}

/**
 * Validates an `ipv6Subnet` option once, at construction; the one check every backend and
 * `identify()` use. `undefined` gives the default (56). Issue 8 item 12: NaN used to be accepted
 * and put every IPv6 client in one bucket.
 * @throws InvalidOptionError naming `option` for anything but an integer 1–128 or false
 * @example parseIpv6Subnet(64) // 64
 */
export function parseIpv6Subnet(value: unknown, option = 'ipv6Subnet'): number | false {
  if (value === undefined) return DEFAULT_IPV6_SUBNET;
  if (value === false) return false;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > 128) {
    throw new InvalidOptionError(option, `must be an integer from 1 to 128 (a prefix length) or false; got ${typeof value === 'number' ? String(value) : typeof value}`);
  }
  return value;
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
 * The key an address is counted under. Never throws on the address: input that is not an address
 * gives `'unknown'`.
 * @example ipKey('2001:db8:1:2:3::4') // '2001:db8:1:200::/56'
 * @throws InvalidOptionError for an `ipv6Subnet` that is not an integer 1–128 or false
 */
export function ipKey(ip: string | undefined, options: IpKeyOptions = {}): string {
  const ipv6Subnet = parseIpv6Subnet(options.ipv6Subnet);
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
  const bits = ipv6Subnet;
  const masked = groups.map((g, i) => {
    const keep = Math.min(Math.max(bits - i * 16, 0), 16);
    return keep === 0 ? 0 : g & ((0xffff << (16 - keep)) & 0xffff);
  });
  const used = Math.ceil(bits / 16);
  return `${masked.slice(0, used).map((g) => g.toString(16)).join(':')}${used < 8 ? '::' : ''}/${bits}`;
}
