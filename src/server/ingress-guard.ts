/**
 * Who may talk to the ingress listener, and who they are.
 *
 * - Peers: only the Supervisor's ingress proxy (INGRESS_TRUSTED_PROXIES). Anyone else gets a 403
 *   written straight onto the socket before a byte of the request is parsed.
 * - Identity: only from X-Remote-User-Id / -Name / -Display-Name, which the Supervisor sets after
 *   Home Assistant's login. A request without X-Remote-User-Id is refused with 401.
 */

import type { Server } from 'node:http';
import { BlockList, isIP, type Socket } from 'node:net';
import type { RequestHandler } from 'express';
import type { Subject } from '../store/index.js';

const NAMED: Record<string, Array<[string, number, 'ipv4' | 'ipv6']>> = {
  loopback: [
    ['127.0.0.0', 8, 'ipv4'],
    ['::1', 128, 'ipv6'],
  ],
  linklocal: [
    ['169.254.0.0', 16, 'ipv4'],
    ['fe80::', 10, 'ipv6'],
  ],
  uniquelocal: [
    ['10.0.0.0', 8, 'ipv4'],
    ['172.16.0.0', 12, 'ipv4'],
    ['192.168.0.0', 16, 'ipv4'],
    ['fc00::', 7, 'ipv6'],
  ],
};

/** "a.b.c.d", "a.b.c.d/n" or an IPv6 address with or without /n; no prefix means the one address. */
function subnet(entry: string): [string, number, 'ipv4' | 'ipv6'] {
  const [address, prefix] = entry.split('/') as [string, string | undefined];
  const family = isIP(address) === 6 ? 'ipv6' : 'ipv4';
  return [address, Number(prefix ?? (family === 'ipv6' ? 128 : 32)), family];
}

export function peerList(entries: readonly string[]): BlockList {
  const list = new BlockList();
  for (const entry of entries) {
    for (const [address, prefix, family] of NAMED[entry] ?? [subnet(entry)]) list.addSubnet(address, prefix, family);
  }
  return list;
}

/** IPv4 peers of a dual-stack socket arrive as ::ffff:a.b.c.d. */
export function normalizePeer(address: string | undefined): string | undefined {
  return address?.startsWith('::ffff:') && isIP(address.slice(7)) === 4 ? address.slice(7) : address;
}

export function isTrustedPeer(list: BlockList, address: string | undefined): boolean {
  const peer = normalizePeer(address);
  const family = peer ? isIP(peer) : 0;
  return family !== 0 && list.check(peer!, family === 6 ? 'ipv6' : 'ipv4');
}

/** Refuses untrusted peers on connection, before HTTP parsing. */
export function guardConnections(server: Server, trusted: readonly string[], onRefused: (peer: string | undefined) => void): void {
  const list = peerList(trusted);
  server.prependListener('connection', (socket: Socket) => {
    if (isTrustedPeer(list, socket.remoteAddress)) return;
    onRefused(normalizePeer(socket.remoteAddress));
    socket.end('HTTP/1.1 403 Forbidden\r\nContent-Type: text/plain\r\nContent-Length: 10\r\nConnection: close\r\n\r\nForbidden\n');
    socket.destroySoon();
  });
}

/** The shape of a Home Assistant user id (also what `cli.js revoke --user` accepts). */
export const HA_USER_ID = /^[A-Za-z0-9_-]{1,64}$/;
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point.
const CONTROL = /[\u0000-\u001f\u007f]/g;

const UTF8 = new TextDecoder('utf-8', { fatal: true });

/**
 * The Supervisor's aiohttp writes header values as UTF-8 bytes, and Node's parser hands each byte
 * over as one Latin-1 character: decoded back to UTF-8 here, or kept as it came when it is not UTF-8.
 */
function fromHeaderBytes(value: string): string {
  // Plain ASCII needs no decoding; a character above U+00FF cannot have come as one byte.
  const needsDecoding = /[\u0080-\u00ff]/.test(value) && ![...value].some((char) => char.charCodeAt(0) > 0xff);
  if (!needsDecoding) return value;
  try {
    return UTF8.decode(Buffer.from(value, 'latin1'));
  } catch {
    return value;
  }
}

function headerText(value: string | string[] | undefined, max: number): string | undefined {
  if (typeof value !== 'string') return undefined;
  const text = fromHeaderBytes(value).replace(CONTROL, '').trim().slice(0, max);
  return text === '' ? undefined : text;
}

declare module 'express-serve-static-core' {
  interface Locals {
    user?: Subject;
    /** The ingress path prefix every link and form must carry. */
    base?: string;
  }
}

/** Sets res.locals.user from the ingress headers, or answers 401. Also the path prefix. */
export const identify: RequestHandler = (req, res, next) => {
  const id = req.headers['x-remote-user-id'];
  if (typeof id !== 'string' || !HA_USER_ID.test(id)) {
    res.status(401).type('text/plain').send('Open Alexa Link from the Home Assistant sidebar.\n');
    return;
  }
  res.locals.user = {
    id,
    name: headerText(req.headers['x-remote-user-name'], 100),
    displayName: headerText(req.headers['x-remote-user-display-name'], 100),
  };
  const ingressPath = req.headers['x-ingress-path'];
  res.locals.base = typeof ingressPath === 'string' && /^\/api\/hassio_ingress\/[A-Za-z0-9_-]{1,128}$/.test(ingressPath) ? ingressPath : '';
  next();
};
