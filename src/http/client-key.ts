/**
 * Who a limit counts: the client address (after `trust proxy`), an IPv6 address by its /56,
 * because one household holds a whole IPv6 prefix. The keys are those express-rate-limit's
 * `ipKeyGenerator(ip, 56)` made before this replaced it: IPv4 as is, IPv4-mapped IPv6 (and the
 * dotted IPv4-compatible form) as the IPv4 address, any other IPv6 address as its /56 network in
 * RFC 5952 form (`2001:db8:ab00::/56`).
 */
import { isIPv4, isIPv6 } from 'node:net';
import type { ApiRequest } from './api-request.js';

const PREFIX_BITS = 56;

/** The limits' key of an address (anything that is not an IPv6 address is its own key). */
export function addressKey(ip: string): string {
  if (!isIPv6(ip)) return ip;
  const address = ip.split('%', 1)[0]!;
  const groups = hextets(address);
  const leadingZeros = groups.slice(0, 5).every((group) => group === 0);
  const mapped = leadingZeros && groups[5] === 0xffff;
  // The deprecated IPv4-compatible range (::/96) also holds `::` and `::1`: there the dotted notation decides.
  const compatible = leadingZeros && groups[5] === 0 && address.includes('.');
  if (mapped || compatible) return `${groups[6]! >> 8}.${groups[6]! & 0xff}.${groups[7]! >> 8}.${groups[7]! & 0xff}`;
  const network = groups.map((group, i) => {
    const bitsBefore = i * 16;
    if (bitsBefore >= PREFIX_BITS) return 0;
    const kept = Math.min(16, PREFIX_BITS - bitsBefore);
    return group & ((0xffff << (16 - kept)) & 0xffff);
  });
  return `${rfc5952(network)}/${PREFIX_BITS}`;
}

/** The key of a request's client address, as every limit and budget counts it. */
export function clientKey(req: ApiRequest): string {
  return addressKey(req.ip ?? req.socket.remoteAddress ?? '');
}

/** The eight 16-bit groups of a valid IPv6 address (no zone). */
function hextets(address: string): number[] {
  const parse = (part: string): number[] => {
    if (part === '') return [];
    return part.split(':').flatMap((piece) => {
      if (!isIPv4(piece)) return [Number.parseInt(piece, 16)];
      const [a, b, c, d] = piece.split('.').map(Number) as [number, number, number, number];
      return [(a << 8) | b, (c << 8) | d];
    });
  };
  const gap = address.indexOf('::');
  if (gap < 0) return parse(address);
  const head = parse(address.slice(0, gap));
  const tail = parse(address.slice(gap + 2));
  return [...head, ...new Array<number>(8 - head.length - tail.length).fill(0), ...tail];
}

/** RFC 5952 §4: lower-case hex without leading zeros, the longest run (first of equals) of two or more zero groups as `::`. */
function rfc5952(groups: readonly number[]): string {
  let bestStart = -1;
  let bestLength = 1;
  for (let start = 0; start < groups.length; ) {
    if (groups[start] !== 0) {
      start++;
      continue;
    }
    let end = start;
    while (end < groups.length && groups[end] === 0) end++;
    if (end - start > bestLength) {
      bestStart = start;
      bestLength = end - start;
    }
    start = end;
  }
  const hex = (part: readonly number[]): string => part.map((group) => group.toString(16)).join(':');
  if (bestStart < 0) return hex(groups);
  return `${hex(groups.slice(0, bestStart))}::${hex(groups.slice(bestStart + bestLength))}`;
}
