import { isIPv6 } from 'node:net';

/**
 * The part of a client address that identifies one client for limits and fairness: an IPv4
 * address whole, an IPv6 address by its /56 prefix (what one household is usually given, and what
 * express-rate-limit keys on), so a host cannot become 2^72 clients by changing its suffix.
 */
export function addressKey(ip: string): string {
  const address = ip.startsWith('::ffff:') && ip.includes('.') ? ip.slice(7) : ip;
  if (!isIPv6(address)) return address;
  const groups = expandIPv6(address);
  // 56 bits: three groups and the high byte of the fourth.
  return `${groups.slice(0, 3).join(':')}:${groups[3]!.slice(0, 2)}00::/56`;
}

/** Eight four-digit hex groups of an IPv6 address (a zone id is dropped). */
function expandIPv6(address: string): string[] {
  const [head = '', tail] = address.split('%')[0]!.split('::');
  const left = head === '' ? [] : head.split(':');
  const right = tail === undefined || tail === '' ? [] : tail.split(':');
  // An embedded IPv4 tail (64:ff9b::192.0.2.1) is two groups.
  const last = (tail === undefined ? left : right).at(-1);
  if (last?.includes('.')) {
    const [a = 0, b = 0, c = 0, d = 0] = last.split('.').map(Number);
    (tail === undefined ? left : right).splice(-1, 1, ((a << 8) | b).toString(16), ((c << 8) | d).toString(16));
  }
  const missing = 8 - left.length - right.length;
  const groups = tail === undefined ? left : [...left, ...Array<string>(missing).fill('0'), ...right];
  return groups.map((group) => group.padStart(4, '0').toLowerCase());
}
