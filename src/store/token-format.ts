/**
 * The two token formats (see docs/decisions/0005-token-generations.md). Both are self-describing
 * under a MAC, so that the database keeps only what must change over a grant's life:
 *
 * - refresh: `r1.` + base64url(grant id 16 bytes | generation uint32 BE | 32 random bytes | MAC 16)
 * - access:  `a1.` + base64url(grant id 16 bytes | issued at uint48 BE ms | expires at uint48 BE ms
 *            | 32 random bytes | MAC 16)
 *
 * MAC = the first 16 bytes of HMAC-SHA256 over the bytes before it, under a key derived from the
 * database's secret index key (one per format). Only the server can make a token that opens, so a
 * guessed grant id or generation is refused before anything is looked up. The random bytes make
 * every token unique and unguessable: 256 bits from the CSPRNG in each (crypto/random.ts), as before.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { random } from '../crypto/random.js';

const MAC_BYTES = 16;
const GRANT_BYTES = 16;
const REFRESH_RANDOM_BYTES = 32;
const ACCESS_RANDOM_BYTES = 32;

export const REFRESH_PREFIX = 'r1.';
export const ACCESS_PREFIX = 'a1.';
/** Length of a refresh token's bytes (before base64url). */
const REFRESH_BYTES = GRANT_BYTES + 4 + REFRESH_RANDOM_BYTES + MAC_BYTES;
const ACCESS_BYTES = GRANT_BYTES + 6 + 6 + ACCESS_RANDOM_BYTES + MAC_BYTES;
const GRANT_ID = /^[0-9a-f]{32}$/;

export interface RefreshClaims {
  grantId: string;
  gen: number;
}

export interface AccessClaims {
  grantId: string;
  issuedAt: number;
  expiresAt: number;
}

function mac(key: Buffer, body: Buffer): Buffer {
  return createHmac('sha256', key).update(body).digest().subarray(0, MAC_BYTES);
}

function seal(prefix: string, key: Buffer, body: Buffer): string {
  return prefix + Buffer.concat([body, mac(key, body)]).toString('base64url');
}

/** The body of a token of this format whose MAC is right, or undefined. Only the canonical encoding opens. */
function open(prefix: string, key: Buffer, token: string, length: number): Buffer | undefined {
  if (!token.startsWith(prefix)) return undefined;
  const text = token.slice(prefix.length);
  if (text.length !== Math.ceil((length * 4) / 3)) return undefined;
  const bytes = Buffer.from(text, 'base64url');
  // Node ignores characters outside the alphabet and unused low bits: a token that differs from
  // the canonical one in either is not ours (its digest would differ from the stored one).
  if (bytes.length !== length || bytes.toString('base64url') !== text) return undefined;
  const body = bytes.subarray(0, length - MAC_BYTES);
  return timingSafeEqual(mac(key, body), bytes.subarray(length - MAC_BYTES)) ? body : undefined;
}

/**
 * Whether a token has the shape of one of ours (either prefix). Not a check that it opens: a
 * token without either prefix was never issued by this server since migration 4.
 */
export function hasOurShape(token: string): boolean {
  return token.startsWith(REFRESH_PREFIX) || token.startsWith(ACCESS_PREFIX);
}

function grantBytes(grantId: string): Buffer {
  if (!GRANT_ID.test(grantId)) throw new Error('a grant id is 32 lower-case hex digits');
  return Buffer.from(grantId, 'hex');
}

export function sealRefresh(key: Buffer, claims: RefreshClaims): string {
  const gen = Buffer.alloc(4);
  gen.writeUInt32BE(claims.gen);
  return seal(REFRESH_PREFIX, key, Buffer.concat([grantBytes(claims.grantId), gen, random(REFRESH_RANDOM_BYTES)]));
}

export function openRefresh(key: Buffer, token: string): RefreshClaims | undefined {
  const body = open(REFRESH_PREFIX, key, token, REFRESH_BYTES);
  return body && { grantId: body.subarray(0, GRANT_BYTES).toString('hex'), gen: body.readUInt32BE(GRANT_BYTES) };
}

export function sealAccess(key: Buffer, claims: AccessClaims): string {
  const times = Buffer.alloc(12);
  times.writeUIntBE(claims.issuedAt, 0, 6);
  times.writeUIntBE(claims.expiresAt, 6, 6);
  return seal(ACCESS_PREFIX, key, Buffer.concat([grantBytes(claims.grantId), times, random(ACCESS_RANDOM_BYTES)]));
}

export function openAccess(key: Buffer, token: string): AccessClaims | undefined {
  const body = open(ACCESS_PREFIX, key, token, ACCESS_BYTES);
  return (
    body && {
      grantId: body.subarray(0, GRANT_BYTES).toString('hex'),
      issuedAt: body.readUIntBE(GRANT_BYTES, 6),
      expiresAt: body.readUIntBE(GRANT_BYTES + 6, 6),
    }
  );
}
