/** Secrets and their digests: the only place random values and hashes for tokens are made. */
import { createHmac, hash, randomBytes, randomFillSync, timingSafeEqual } from 'node:crypto';

/**
 * Random bytes are drawn from the CSPRNG 4 KiB at a time: one call per token and per IV cost more
 * in call overhead than in randomness. Each byte is handed out once and wiped from the pool.
 */
const POOL_BYTES = 4096;
const pool = Buffer.allocUnsafeSlow(POOL_BYTES);
let taken = POOL_BYTES;

/** `size` bytes from the operating system's CSPRNG (through the pool when small). */
export function random(size: number): Buffer {
  if (size > POOL_BYTES / 8) return randomBytes(size);
  if (taken + size > POOL_BYTES) {
    randomFillSync(pool);
    taken = 0;
  }
  const bytes = Buffer.allocUnsafe(size);
  pool.copy(bytes, 0, taken, taken + size);
  pool.fill(0, taken, taken + size);
  taken += size;
  return bytes;
}

/** 256-bit random token, URL-safe base64 (43 characters). */
export function newToken(bytes = 32): string {
  return random(bytes).toString('base64url');
}

/** SHA-256 of a token: what the database stores instead of the token itself (one-shot: no Hash object per call). */
export function digest(token: string): Buffer {
  return hash('sha256', token, 'buffer');
}

/** Keyed digest, for looking up encrypted values (an HA user id) without storing them in clear. */
export function blindIndex(key: Buffer, value: string): Buffer {
  return createHmac('sha256', key).update(value, 'utf8').digest();
}

/**
 * Constant-time string comparison. Both sides are hashed first so that neither the content nor
 * the length of the secret leaks through timing.
 */
export function safeEqual(a: string, b: string): boolean {
  return matchesDigest(a, digest(b));
}

/** safeEqual against a secret whose digest was made once (a client's secret, compared on every request). */
export function matchesDigest(value: string, expected: Buffer): boolean {
  return timingSafeEqual(digest(value), expected);
}
