/** PKCE (RFC 7636), S256 only: `plain` would hand the verifier to anyone who sees the request. */
import { createHash } from 'node:crypto';
import { safeEqual } from '../crypto/random.js';

/** S256 challenge: BASE64URL(SHA-256(verifier)), 43 characters. */
export const CHALLENGE = /^[A-Za-z0-9_-]{43}$/;
/** RFC 7636 §4.1: 43–128 unreserved characters. */
export const VERIFIER = /^[A-Za-z0-9._~-]{43,128}$/;

export function s256(verifier: string): string {
  return createHash('sha256').update(verifier, 'ascii').digest('base64url');
}

export function verifierMatches(verifier: string, challenge: string): boolean {
  return VERIFIER.test(verifier) && safeEqual(s256(verifier), challenge);
}
