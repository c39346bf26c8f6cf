/** What a test reads from a refresh token and the database without the server's keys (store/token-format.ts). */
import type Database from 'better-sqlite3';

/** The grant and generation a refresh token names (its MAC unchecked: tests read their own tokens). */
export function claimsOf(token: string): { grantId: string; gen: number } {
  if (!token.startsWith('r1.')) throw new Error('not a refresh token of this server');
  const bytes = Buffer.from(token.slice(3), 'base64url');
  return { grantId: bytes.subarray(0, 16).toString('hex'), gen: bytes.readUInt32BE(16) };
}

/** How many successors of `token` are live: rows of its grant one generation up. */
export function successorCount(db: Database.Database, token: string): number {
  const { grantId, gen } = claimsOf(token);
  return (db.prepare('SELECT count(*) AS n FROM refresh_tokens WHERE grant_id = ? AND gen = ?').get(grantId, gen + 1) as { n: number }).n;
}
