/**
 * Access and refresh tokens. Only SHA-256 digests are stored.
 *
 * Refresh rotation with successor confirmation (Amazon asks that a lost response never unlinks):
 * - presenting a refresh token issues a successor (a child) and leaves the token itself valid;
 * - the first time a successor is presented it is confirmed: its parent and its unused siblings are
 *   retired, in the same transaction;
 * - a retired token presented again is reuse: the whole grant is revoked.
 * - a token presented again within `TUNABLES.oauth.refreshRepeatSeconds` of its newest successor is a
 *   parallel duplicate: refused for now (`repeat`), nothing changes, so exactly one of them succeeds.
 * So a client that lost a response simply retries with the token it has, and a thief and the
 * real client cannot both keep going: as soon as either uses a successor, the other's token is
 * retired, and its next use revokes the grant for both.
 */
import { TUNABLES } from '../config/tunables.js';
import { digest, newToken } from '../crypto/random.js';
import { type StoreContext, sql, transaction } from './context.js';
import { type Grant, type GrantRow, grantView, isGrantActive, revokeGrantRows } from './grants.js';

export interface Lifetimes {
  accessTokenTtlSeconds: number;
  refreshTokenIdleSeconds: number;
}

export interface IssuedTokens {
  issuedAt: number;
  accessToken: string;
  refreshToken: string;
  accessExpiresAt: number;
  refreshExpiresAt: number;
  grant: Grant;
}

export type Refresh =
  | { status: 'ok'; tokens: IssuedTokens }
  /** A retired token came back: the grant has been revoked. */
  | { status: 'reuse'; grant: Grant }
  /** Rotated less than `TUNABLES.oauth.refreshRepeatSeconds` ago: try again after `retryAfterMs`; nothing changed. */
  | { status: 'repeat'; grant: Grant; retryAfterMs: number }
  | { status: 'invalid'; reason: 'unknown' | 'expired' | 'revoked' };

export interface AccessTokenInfo {
  grant: Grant;
  issuedAt: number;
  expiresAt: number;
}

interface TokenRow {
  digest: Buffer;
  kind: 'access' | 'refresh';
  grant_id: string;
  parent: Buffer | null;
  created_at: number;
  expires_at: number;
  used_at: number | null;
  retired_at: number | null;
  revoked_at: number | null;
}

export class Tokens {
  constructor(private readonly ctx: StoreContext) {}

  /**
   * Issues an access and a refresh token under a grant. `parent` is the refresh token being
   * rotated. Runs inside the caller's transaction when there is one.
   */
  issue(grant: Grant, lifetimes: Lifetimes, parent?: Buffer): IssuedTokens {
    const now = this.ctx.now();
    const accessToken = newToken();
    const refreshToken = newToken();
    const accessExpiresAt = Math.min(now + lifetimes.accessTokenTtlSeconds * 1000, grant.expiresAt ?? Infinity);
    const refreshExpiresAt = Math.min(now + lifetimes.refreshTokenIdleSeconds * 1000, grant.expiresAt ?? Infinity);
    const insert = sql(this.ctx, 'INSERT INTO tokens (digest, kind, grant_id, parent, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?)');
    const refreshDigest = digest(refreshToken);
    insert.run(refreshDigest, 'refresh', grant.id, parent ?? null, now, refreshExpiresAt);
    insert.run(digest(accessToken), 'access', grant.id, refreshDigest, now, accessExpiresAt);
    return { issuedAt: now, accessToken, refreshToken, accessExpiresAt, refreshExpiresAt, grant };
  }

  private grantOf(row: TokenRow): Grant {
    return grantView(this.ctx, sql<GrantRow>(this.ctx, 'SELECT * FROM grants WHERE id = ?').get(row.grant_id)!);
  }

  private find(token: string, kind: TokenRow['kind']): TokenRow | undefined {
    return sql<TokenRow>(this.ctx, 'SELECT * FROM tokens WHERE digest = ? AND kind = ?').get(digest(token), kind);
  }

  /** Rotates a refresh token (see the module comment). One IMMEDIATE transaction. */
  refresh(token: string, clientId: string, lifetimes: Lifetimes): Refresh {
    return transaction(this.ctx, (): Refresh => {
      const now = this.ctx.now();
      const row = this.find(token, 'refresh');
      if (!row) return { status: 'invalid', reason: 'unknown' };
      const grant = this.grantOf(row);
      // A token of another client is as good as unknown to this one.
      if (grant.clientId !== clientId) return { status: 'invalid', reason: 'unknown' };
      if (row.revoked_at !== null || grant.revokedAt !== undefined) return { status: 'invalid', reason: 'revoked' };
      if (row.retired_at !== null) {
        revokeGrantRows(this.ctx, grant.id, 'refresh_reuse', now);
        return { status: 'reuse', grant: { ...grant, revokedAt: now, revokedReason: 'refresh_reuse' } };
      }
      if (row.expires_at <= now || !isGrantActive(grant, now)) return { status: 'invalid', reason: 'expired' };

      if (row.used_at !== null) {
        // Presented before (only then can it have successors, so the first use costs no query).
        // An aggregate always returns one row.
        const newest = sql<{ at: number | null }>(this.ctx, "SELECT max(created_at) AS at FROM tokens WHERE parent = ? AND kind = 'refresh'").get(row.digest)!;
        const elapsed = newest.at === null ? Infinity : now - newest.at;
        const windowMs = TUNABLES.oauth.refreshRepeatSeconds * 1000;
        // A clock set back (elapsed < 0) must not hold a token for the length of the jump.
        if (elapsed >= 0 && elapsed < windowMs) return { status: 'repeat', grant, retryAfterMs: windowMs - elapsed };
      } else {
        sql(this.ctx, 'UPDATE tokens SET used_at = ? WHERE digest = ?').run(now, row.digest);
        if (row.parent !== null) {
          // The successor is confirmed: its parent and its never-used siblings are done.
          sql(
            this.ctx,
            `UPDATE tokens SET retired_at = ? WHERE retired_at IS NULL AND kind = 'refresh'
                      AND (digest = ? OR (parent = ? AND digest != ? AND used_at IS NULL))`,
          ).run(now, row.parent, row.parent, row.digest);
        }
      }
      sql(this.ctx, 'UPDATE grants SET last_used_at = ? WHERE id = ?').run(now, grant.id);
      return { status: 'ok', tokens: this.issue({ ...grant, lastUsedAt: now }, lifetimes, row.digest) };
    });
  }

  /** Introspection: the token's grant and times, or undefined when it is not active. One indexed query. */
  introspect(token: string): AccessTokenInfo | undefined {
    const now = this.ctx.now();
    const row = sql<GrantRow & { token_created_at: number; token_expires_at: number }>(
      this.ctx,
      `SELECT g.*, t.created_at AS token_created_at, t.expires_at AS token_expires_at
      FROM tokens t JOIN grants g ON g.id = t.grant_id
      WHERE t.digest = ? AND t.kind = 'access' AND t.revoked_at IS NULL AND t.expires_at > ?`,
    ).get(digest(token), now);
    if (!row) return undefined;
    const grant = grantView(this.ctx, row);
    if (!isGrantActive(grant, now)) return undefined;
    return { grant, issuedAt: row.token_created_at, expiresAt: row.token_expires_at };
  }

  /**
   * RFC 7009: a refresh token revokes its grant; an access token only itself. Tokens of other
   * clients are left alone (and the caller still answers 200, as the RFC says).
   */
  revoke(token: string, clientId: string): { kind: 'access' | 'refresh'; grantId: string; subjectId: string } | undefined {
    return transaction(this.ctx, () => {
      const tokenDigest = digest(token);
      const row = sql<TokenRow>(this.ctx, 'SELECT * FROM tokens WHERE digest = ?').get(tokenDigest);
      if (!row) return undefined;
      const grant = this.grantOf(row);
      if (grant.clientId !== clientId) return undefined;
      const now = this.ctx.now();
      if (row.kind === 'refresh') {
        revokeGrantRows(this.ctx, row.grant_id, 'client', now);
      } else {
        sql(this.ctx, 'UPDATE tokens SET revoked_at = ? WHERE digest = ? AND revoked_at IS NULL').run(now, tokenDigest);
      }
      return { kind: row.kind, grantId: row.grant_id, subjectId: grant.subject.id };
    });
  }
}
