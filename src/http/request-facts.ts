/**
 * What is stored about a request, cut to a fixed length: a header or parameter is the sender's
 * choice, and nothing it chooses may grow the database beyond these bounds.
 */
import { TUNABLES } from '../config/tunables.js';
import type { ApiRequest } from './api-request.js';

export const STORED_LENGTH = TUNABLES.storedLength;

export function clip(value: string | undefined, max: number): string | undefined {
  return value === undefined ? undefined : value.slice(0, max);
}

/** The requesting browser's address and claimed User-Agent, bounded. */
export function requestFacts(req: ApiRequest): { ip: string; userAgent: string } {
  return {
    ip: (req.ip ?? '').slice(0, STORED_LENGTH.ip),
    userAgent: (req.headers['user-agent'] ?? '').slice(0, STORED_LENGTH.userAgent),
  };
}
