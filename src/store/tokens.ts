/**
 * Access and refresh tokens (docs/decisions/0005-token-generations.md). The database grows with
 * links, not with refreshes: only the digests of the live refresh tokens are rows.
 *
 * A refresh token names its grant and its generation under a MAC (token-format.ts). A grant's
 * live tokens are the newest confirmed one (generation `grants.refresh_gen`) and its unused
 * successors (one generation up), or the first token before its first use. Rotation with successor
 * confirmation (Amazon asks that a lost response never unlinks):
 * - presenting a refresh token issues a successor (the next generation) and leaves the token
 *   itself valid;
 * - the first time a successor is presented it is confirmed: `refresh_gen` becomes its generation
 *   and the rows of older generations and of its unused siblings are deleted, in the same
 *   transaction; they are retired and need no row;
 * - a token that opens (its MAC is right) but is not live, of a generation up to `refresh_gen`,
 *   is a retired one presented again: reuse, and the whole grant is revoked. This holds for as
 *   long as the grant lives; a forged token never opens, so nobody can revoke a grant by guessing.
 * - a token presented again within `TUNABLES.oauth.refreshRepeatSeconds` of its newest successor is
 *   a parallel duplicate: refused for now (`repeat`), nothing changes, so exactly one succeeds.
 * So a client that lost a response simply retries with the token it has, and a thief and the
 * real client cannot both keep going: as soon as either uses a successor, the other's token is
 * retired, and its next use revokes the grant for both.
 *
 * Access tokens are stateless (grant, times, MAC): introspection checks the MAC, the times and the
 * grant (one indexed query); revoking one alone lists its digest until it expires. Whatever times a
 * token carries, it is never accepted for longer than access_token_ttl_minutes after its issue, nor
 * when issued before its grant or in the future (`withinLifetime`): the times are only as good as
 * the secrecy of the MAC key, and an old key outlives nothing but these bounds (index-key.ts).
 *
 * Tokens issued before migration 4 (43 random characters) are looked up by digest in the old
 * `tokens` table: access tokens until they expire, retired refresh tokens as reuse markers.
 */
import { TUNABLES } from '../config/tunables.js';
import { digest } from '../crypto/random.js';
import { deriveSecret, type StoreContext, sql, transaction } from './context.js';
import { GRANT_VIEW_COLUMNS, type Grant, type GrantRow, type GrantViewRow, grantView, isGrantActive, revokeGrantRows } from './grants.js';
import { type PreviousAccessKey, previousAccessKey } from './index-key.js';
import { type AccessClaims, openAccess, openRefresh, sealAccess, sealRefresh } from './token-format.js';

export interface Lifetimes {
  accessTokenTtlSeconds: number;
  refreshTokenIdleSeconds: number;
}

/** What introspection needs of the lifetimes: the longest an access token may live (the option). */
export type AccessLifetime = Pick<Lifetimes, 'accessTokenTtlSeconds'>;

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
  /** `earlierServer`: the token was not of our shape, first seen (Operations.refresh, store/notices.ts). */
  | { status: 'invalid'; reason: 'unknown' | 'expired' | 'revoked'; earlierServer?: true };

export interface AccessTokenInfo {
  grant: Grant;
  issuedAt: number;
  expiresAt: number;
}

/** A live refresh token. */
interface LiveRow {
  digest: Buffer;
  grant_id: string;
  gen: number;
  issued_at: number;
  used_at: number | null;
}

/** A row of the `tokens` table of before migration 4. */
interface LegacyRow {
  kind: 'access' | 'refresh';
  grant_id: string;
  retired_at: number | null;
  revoked_at: number | null;
}

const INVALID = (reason: 'unknown' | 'expired' | 'revoked'): Refresh => ({ status: 'invalid', reason });

/**
 * The lifetime rules of an access token (issue 19): not expired; not longer-lived than the access
 * token lifetime as it is configured now; not issued before its grant; not issued in the future
 * beyond a few seconds of clock tolerance. A token this server issued always passes them until it
 * expires (unless the option was lowered since).
 */
function withinLifetime(token: { issuedAt: number; expiresAt: number }, grantCreatedAt: number, lifetimes: AccessLifetime, now: number): boolean {
  return (
    token.expiresAt > now &&
    token.expiresAt - token.issuedAt <= lifetimes.accessTokenTtlSeconds * 1000 &&
    token.issuedAt >= grantCreatedAt &&
    token.issuedAt <= now + TUNABLES.oauth.accessTokenClockSkewSeconds * 1000
  );
}

export class Tokens {
  private readonly refreshKey: Buffer;
  private readonly accessKey: Buffer;
  /** After a change of the encryption key: the access-token key before it (index-key.ts). */
  private readonly previousAccessKey: PreviousAccessKey | undefined;

  constructor(private readonly ctx: StoreContext) {
    this.refreshKey = deriveSecret(ctx, 'refresh-token-mac');
    this.accessKey = deriveSecret(ctx, 'access-token-mac');
    this.previousAccessKey = previousAccessKey(ctx);
  }

  /**
   * An access token's claims when it opens: under the current key, or under the key replaced by
   * the last change of encryption key if it was issued before that change (its lifetime rules then
   * end it within access_token_ttl_minutes of the change).
   */
  private openAccessToken(token: string): AccessClaims | undefined {
    const claims = openAccess(this.accessKey, token);
    if (claims || !this.previousAccessKey) return claims;
    const old = openAccess(this.previousAccessKey.key, token);
    return old && old.issuedAt <= this.previousAccessKey.replacedAt ? old : undefined;
  }

  /**
   * Issues an access and a refresh token (of generation `gen`) under a grant. Runs inside the
   * caller's transaction when there is one.
   */
  issue(grant: Grant, lifetimes: Lifetimes, gen = 0): IssuedTokens {
    const now = this.ctx.now();
    const accessExpiresAt = Math.min(now + lifetimes.accessTokenTtlSeconds * 1000, grant.expiresAt ?? Infinity);
    const refreshExpiresAt = Math.min(now + lifetimes.refreshTokenIdleSeconds * 1000, grant.expiresAt ?? Infinity);
    const refreshToken = sealRefresh(this.refreshKey, { grantId: grant.id, gen });
    const accessToken = sealAccess(this.accessKey, { grantId: grant.id, issuedAt: now, expiresAt: accessExpiresAt });
    sql(this.ctx, 'INSERT INTO refresh_tokens (digest, grant_id, gen, issued_at) VALUES (?, ?, ?, ?)').run(digest(refreshToken), grant.id, gen, now);
    // Issuing is a use of the grant: one UPDATE of its row per issue, whatever the caller.
    sql(this.ctx, 'UPDATE grants SET last_used_at = ?, refresh_expires_at = ? WHERE id = ?').run(now, refreshExpiresAt, grant.id);
    return { issuedAt: now, accessToken, refreshToken, accessExpiresAt, refreshExpiresAt, grant };
  }

  private grantRow(id: string): (GrantViewRow & Pick<GrantRow, 'refresh_expires_at'>) | undefined {
    return sql<GrantViewRow & Pick<GrantRow, 'refresh_expires_at'>>(this.ctx, `SELECT ${GRANT_VIEW_COLUMNS}, refresh_expires_at FROM grants WHERE id = ?`).get(
      id,
    );
  }

  /** Rotates a refresh token (see the module comment). One IMMEDIATE transaction. */
  refresh(token: string, clientId: string, lifetimes: Lifetimes): Refresh {
    return transaction(this.ctx, (): Refresh => {
      const now = this.ctx.now();
      const live = sql<LiveRow>(this.ctx, 'SELECT * FROM refresh_tokens WHERE digest = ?').get(digest(token));
      if (!live) return this.notLive(token, clientId, now);
      // A live row's grant exists (ON DELETE CASCADE) and is not revoked (revoking deletes the rows).
      const row = this.grantRow(live.grant_id)!;
      const grant = grantView(this.ctx, row);
      // A token of another client is as good as unknown to this one.
      if (grant.clientId !== clientId) return INVALID('unknown');
      if (grant.revokedAt !== undefined) return INVALID('revoked');
      if (row.refresh_expires_at <= now || !isGrantActive(grant, now)) return INVALID('expired');

      if (live.used_at !== null) {
        // Presented before (only then can it have successors, so the first use costs no query).
        // Its successors are the next generation's rows. An aggregate always returns one row.
        const newest = sql<{ at: number | null }>(this.ctx, 'SELECT max(issued_at) AS at FROM refresh_tokens WHERE grant_id = ? AND gen = ?').get(
          grant.id,
          live.gen + 1,
        )!;
        const elapsed = newest.at === null ? Infinity : now - newest.at;
        const windowMs = TUNABLES.oauth.refreshRepeatSeconds * 1000;
        // A clock set back (elapsed < 0) must not hold a token for the length of the jump.
        if (elapsed >= 0 && elapsed < windowMs) return { status: 'repeat', grant, retryAfterMs: windowMs - elapsed };
      } else {
        // Confirmed: older generations and its never-used siblings are retired, so their rows go.
        sql(this.ctx, 'UPDATE refresh_tokens SET used_at = ? WHERE digest = ?').run(now, live.digest);
        sql(this.ctx, 'DELETE FROM refresh_tokens WHERE grant_id = ? AND (gen < ? OR (gen = ? AND digest != ?))').run(
          grant.id,
          live.gen,
          live.gen,
          live.digest,
        );
        sql(this.ctx, 'UPDATE grants SET refresh_gen = max(refresh_gen, ?) WHERE id = ?').run(live.gen, grant.id);
      }
      return { status: 'ok', tokens: this.issue({ ...grant, lastUsedAt: now }, lifetimes, live.gen + 1) };
    });
  }

  /** A refresh token without a live row: retired (reuse), of an ended grant, or not ours. */
  private notLive(token: string, clientId: string, now: number): Refresh {
    const claims = openRefresh(this.refreshKey, token);
    let grantId: string;
    let retired: boolean;
    let revoked = false;
    if (claims) {
      grantId = claims.grantId;
      const gen = sql<{ refresh_gen: number }>(this.ctx, 'SELECT refresh_gen FROM grants WHERE id = ?').get(grantId);
      if (!gen) return INVALID('unknown');
      // Issued by this server (the MAC) and no longer live: retired iff a generation at or after
      // its own was confirmed. A later generation without a row was never handed out.
      retired = claims.gen <= gen.refresh_gen;
    } else {
      // Issued before migration 4: its old row, if any, is a retired marker.
      const legacy = sql<LegacyRow>(this.ctx, 'SELECT kind, grant_id, retired_at, revoked_at FROM tokens WHERE digest = ?').get(digest(token));
      if (legacy?.kind !== 'refresh') return INVALID('unknown');
      grantId = legacy.grant_id;
      retired = legacy.retired_at !== null;
      revoked = legacy.revoked_at !== null;
    }
    const grant = grantView(this.ctx, this.grantRow(grantId)!);
    if (grant.clientId !== clientId) return INVALID('unknown');
    if (revoked || grant.revokedAt !== undefined) return INVALID('revoked');
    if (!retired) return INVALID(claims ? 'unknown' : 'expired');
    revokeGrantRows(this.ctx, grant.id, 'refresh_reuse', now);
    return { status: 'reuse', grant: { ...grant, revokedAt: now, revokedReason: 'refresh_reuse' } };
  }

  /**
   * Introspection (/introspect and the skill guard): the token's grant and times, or undefined when
   * it is not active. `lifetimes`: the configured access-token lifetime (`config.policy.lifetimes`), which
   * bounds every token whatever its own times say. One indexed query.
   */
  introspect(token: string, lifetimes: AccessLifetime): AccessTokenInfo | undefined {
    const now = this.ctx.now();
    const claims = this.openAccessToken(token);
    if (claims) {
      if (claims.expiresAt <= now) return undefined;
      const row = sql<GrantViewRow & { denied: number }>(
        this.ctx,
        `SELECT ${GRANT_VIEW_COLUMNS}, EXISTS (SELECT 1 FROM revoked_access_tokens WHERE digest = ?) AS denied FROM grants WHERE id = ?`,
      ).get(digest(token), claims.grantId);
      if (!row || row.denied || !withinLifetime(claims, row.created_at, lifetimes, now)) return undefined;
      const grant = grantView(this.ctx, row);
      return isGrantActive(grant, now) ? { grant, issuedAt: claims.issuedAt, expiresAt: claims.expiresAt } : undefined;
    }
    // Issued before migration 4.
    const row = sql<GrantRow & { token_created_at: number; token_expires_at: number }>(
      this.ctx,
      `SELECT g.*, t.created_at AS token_created_at, t.expires_at AS token_expires_at
      FROM tokens t JOIN grants g ON g.id = t.grant_id
      WHERE t.digest = ? AND t.kind = 'access' AND t.revoked_at IS NULL AND t.expires_at > ?`,
    ).get(digest(token), now);
    if (!row) return undefined;
    const times = { issuedAt: row.token_created_at, expiresAt: row.token_expires_at };
    if (!withinLifetime(times, row.created_at, lifetimes, now)) return undefined;
    const grant = grantView(this.ctx, row);
    if (!isGrantActive(grant, now)) return undefined;
    return { grant, ...times };
  }

  /**
   * RFC 7009: a refresh token revokes its grant; an access token only itself. Tokens of other
   * clients are left alone (and the caller still answers 200, as the RFC says).
   */
  revoke(token: string, clientId: string): { kind: 'access' | 'refresh'; grantId: string; subjectId: string } | undefined {
    return transaction(this.ctx, () => {
      const tokenDigest = digest(token);
      const access = this.openAccessToken(token);
      const refresh = access ? undefined : openRefresh(this.refreshKey, token);
      let kind: 'access' | 'refresh';
      let grantId: string;
      let legacy = false;
      if (access) {
        kind = 'access';
        grantId = access.grantId;
      } else if (refresh) {
        kind = 'refresh';
        grantId = refresh.grantId;
      } else {
        const row = sql<LegacyRow>(this.ctx, 'SELECT kind, grant_id, retired_at, revoked_at FROM tokens WHERE digest = ?').get(tokenDigest);
        if (!row) return undefined;
        ({ kind, grant_id: grantId } = row);
        legacy = true;
      }
      const row = this.grantRow(grantId);
      if (!row) return undefined;
      const grant = grantView(this.ctx, row);
      if (grant.clientId !== clientId) return undefined;
      const now = this.ctx.now();
      if (kind === 'refresh') {
        revokeGrantRows(this.ctx, grantId, 'client', now);
      } else if (legacy) {
        sql(this.ctx, 'UPDATE tokens SET revoked_at = ? WHERE digest = ? AND revoked_at IS NULL').run(now, tokenDigest);
      } else {
        // Listed until it would have expired anyway (then the prune removes it).
        sql(this.ctx, 'INSERT OR IGNORE INTO revoked_access_tokens (digest, expires_at) VALUES (?, ?)').run(tokenDigest, access!.expiresAt);
      }
      return { kind, grantId, subjectId: grant.subject.id };
    });
  }
}
