/**
 * What is stored about a request, cut to a fixed length: a header or parameter is the sender's
 * choice, and nothing it chooses may grow the database beyond these bounds.
 */
import type { Request } from 'express';

export const STORED_LENGTH = {
  /** Longer than any real browser's User-Agent that a person needs to recognise. */
  userAgent: 256,
  /** An IPv6 address with a zone is at most 45 characters; anything longer is not an address. */
  ip: 64,
  clientId: 128,
} as const;

export function clip(value: string | undefined, max: number): string | undefined {
  return value === undefined ? undefined : value.slice(0, max);
}

/** The requesting browser's address and claimed User-Agent, bounded. */
export function requestFacts(req: Request): { ip: string; userAgent: string } {
  return {
    ip: (req.ip ?? '').slice(0, STORED_LENGTH.ip),
    userAgent: (req.get('user-agent') ?? '').slice(0, STORED_LENGTH.userAgent),
  };
}
