/**
 * Authorization codes: 256-bit, stored as SHA-256 digests, single use. Redeeming is one
 * conditional UPDATE (`consumed_at IS NULL`), so of two concurrent redemptions exactly one wins;
 * the loser is told the code was replayed and which grant it produced, so that grant is revoked.
 */
import { digest, newToken } from '../crypto/random.js';
import { openJson, type StoreContext, type Subject, sealJson, sql, subjectIndex, transaction } from './context.js';

export interface CodeBinding {
  clientId: string;
  redirectUri: string;
  scope: string;
  codeChallenge: string | undefined;
  subject: Subject;
}

/** Where a link was made: shown in Linked accounts (its Alexa region, its device and browser). */
export interface MadeBy {
  redirectUri: string;
  userAgent: string;
}

export interface RedeemedCode extends CodeBinding {
  codeHash: Buffer;
  /**
   * Undefined for a code issued before migration 6. `ip`: the address of the browser that asked
   * (codes issued since issue 20), for the audit row of the link made; the grant does not keep it.
   */
  madeBy: (MadeBy & { ip?: string }) | undefined;
}

export type Redemption =
  | { status: 'ok'; code: RedeemedCode }
  /** Presented again after it was redeemed: revoke `grantId` (if one was issued). */
  | { status: 'replayed'; grantId: string | undefined }
  | { status: 'invalid' };

interface Row {
  code_hash: Buffer;
  client_id: string;
  redirect_uri: string;
  scope: string;
  code_challenge: string | null;
  subject_enc: string;
  made_by_enc: string | null;
  expires_at: number;
  consumed_at: number | null;
  grant_id: string | null;
}

export function newAuthorizationCode(ctx: StoreContext, binding: CodeBinding & { userAgent: string; ip: string }, now: number, ttlSeconds: number): string {
  const code = newToken();
  const madeBy: RedeemedCode['madeBy'] = { redirectUri: binding.redirectUri, userAgent: binding.userAgent, ip: binding.ip };
  sql(
    ctx,
    `INSERT INTO authorization_codes (code_hash, client_id, redirect_uri, scope, code_challenge, subject_index, subject_enc, made_by_enc, created_at, expires_at)
              VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  ).run(
    digest(code),
    binding.clientId,
    binding.redirectUri,
    binding.scope,
    binding.codeChallenge ?? null,
    subjectIndex(ctx, binding.subject.id),
    sealJson(ctx, binding.subject),
    sealJson(ctx, madeBy),
    now,
    now + ttlSeconds * 1000,
  );
  return code;
}

export class AuthorizationCodes {
  constructor(private readonly ctx: StoreContext) {}

  attachGrant(codeHash: Buffer, grantId: string): void {
    sql(this.ctx, 'UPDATE authorization_codes SET grant_id = ? WHERE code_hash = ?').run(grantId, codeHash);
  }

  /** Marks the code consumed and returns what it is bound to; exactly once per code. */
  redeem(code: string): Redemption {
    const now = this.ctx.now();
    const codeHash = digest(code);
    return transaction(this.ctx, (): Redemption => {
      const consumed = sql(this.ctx, 'UPDATE authorization_codes SET consumed_at = ? WHERE code_hash = ? AND consumed_at IS NULL AND expires_at > ?').run(
        now,
        codeHash,
        now,
      );
      const row = sql<Row>(this.ctx, 'SELECT * FROM authorization_codes WHERE code_hash = ?').get(codeHash);
      if (!row) return { status: 'invalid' };
      if (consumed.changes !== 1) {
        return row.consumed_at === null ? { status: 'invalid' } : { status: 'replayed', grantId: row.grant_id ?? undefined };
      }
      return {
        status: 'ok',
        code: {
          codeHash,
          clientId: row.client_id,
          redirectUri: row.redirect_uri,
          scope: row.scope,
          codeChallenge: row.code_challenge ?? undefined,
          subject: openJson<Subject>(this.ctx, row.subject_enc),
          madeBy: row.made_by_enc === null ? undefined : openJson<MadeBy & { ip?: string }>(this.ctx, row.made_by_enc),
        },
      };
    });
  }
}
