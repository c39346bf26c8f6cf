/** Secrets and their digests: the only place random values and hashes for tokens are made. */
import { createHash, createHmac, randomBytes, randomInt, timingSafeEqual } from 'node:crypto';

/** 256-bit random token, URL-safe base64 (43 characters). */
export function newToken(bytes = 32): string {
  return randomBytes(bytes).toString('base64url');
}

/** SHA-256 of a token: what the database stores instead of the token itself. */
export function digest(token: string): Buffer {
  return createHash('sha256').update(token, 'utf8').digest();
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
  return timingSafeEqual(digest(a), digest(b));
}

/** RFC 8628 §6.1: consonants only, no vowels (no words), no look-alikes (no I, O, U, Y, 0, 1). */
export const USER_CODE_ALPHABET = 'BCDFGHJKLMNPQRSTVWXZ';
export const USER_CODE_LENGTH = 8;

/** Eight letters from the alphabet above: 20^8 ≈ 2^34.6 possibilities. */
export function newUserCode(): string {
  let code = '';
  for (let i = 0; i < USER_CODE_LENGTH; i++) code += USER_CODE_ALPHABET[randomInt(USER_CODE_ALPHABET.length)];
  return code;
}

/** `BCDFGHJK` → `BCDF-GHJK`, the way people see and type it. */
export function formatUserCode(code: string): string {
  return `${code.slice(0, 4)}-${code.slice(4)}`;
}

/**
 * What a person typed → the canonical code, or undefined. Accepts lower case, spaces and dashes,
 * so "bcdf ghjk" works; anything outside the alphabet is refused.
 */
export function normalizeUserCode(input: string): string | undefined {
  const code = input.toUpperCase().replace(/[\s-]/g, '');
  if (code.length !== USER_CODE_LENGTH) return undefined;
  for (const char of code) if (!USER_CODE_ALPHABET.includes(char)) return undefined;
  return code;
}
