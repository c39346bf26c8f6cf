/**
 * Pending authorization requests: what Alexa asked for, waiting for a person to approve it in the
 * Home Assistant panel. The browser that asked holds the request id in its (encrypted) session;
 * the person types the user code into the panel. Decisions and the release of the code are single
 * conditional UPDATEs, so they happen at most once.
 */
import { blindIndex, digest, newToken } from '../crypto/random.js';
import { newUserCode } from '../crypto/user-code.js';
import { newAuthorizationCode } from './codes.js';
import { openJson, type StoreContext, type Subject, sealJson, sql, subjectIndex, transaction } from './context.js';

export type RequestStatus = 'pending' | 'approved' | 'denied' | 'completed';

export interface NewRequest {
  clientId: string;
  redirectUri: string;
  scope: string;
  state: string | undefined;
  codeChallenge: string | undefined;
  requester: { ip: string; userAgent: string };
  ttlSeconds: number;
}

export interface PendingRequest {
  clientId: string;
  redirectUri: string;
  scope: string;
  state: string | undefined;
  codeChallenge: string | undefined;
  requester: { ip: string; userAgent: string };
  status: RequestStatus;
  subject: Subject | undefined;
  createdAt: number;
  expiresAt: number;
}

interface Row {
  client_id: string;
  redirect_uri: string;
  scope: string;
  state_enc: string | null;
  code_challenge: string | null;
  requester_enc: string;
  status: RequestStatus;
  subject_enc: string | null;
  created_at: number;
  expires_at: number;
  decided_at: number | null;
}

const MAX_USER_CODE_ATTEMPTS = 5;

export class PendingRequests {
  constructor(private readonly ctx: StoreContext) {}

  private userCodeIndex(userCode: string): Buffer {
    return blindIndex(this.ctx.indexKey, `user_code:${userCode}`);
  }

  private view(row: Row): PendingRequest {
    return {
      clientId: row.client_id,
      redirectUri: row.redirect_uri,
      scope: row.scope,
      state: row.state_enc === null ? undefined : this.ctx.keys.decrypt(row.state_enc),
      codeChallenge: row.code_challenge ?? undefined,
      requester: openJson(this.ctx, row.requester_enc),
      status: row.status,
      subject: row.subject_enc === null ? undefined : openJson<Subject>(this.ctx, row.subject_enc),
      createdAt: row.created_at,
      expiresAt: row.expires_at,
    };
  }

  /** Stores a request; returns the id (for the browser's session) and the user code (for the person). */
  create(request: NewRequest): { requestId: string; userCode: string; expiresAt: number } {
    const { keys } = this.ctx;
    const now = this.ctx.now();
    const expiresAt = now + request.ttlSeconds * 1000;
    const requestId = newToken();
    const insert = sql(
      this.ctx,
      `
      INSERT INTO pending_requests (id_hash, user_code_index, client_id, redirect_uri, scope, state_enc,
        code_challenge, requester_enc, created_at, expires_at)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    // Expired requests still hold their code until pruned: free any that collide, then retry.
    const freeExpired = sql(this.ctx, 'DELETE FROM pending_requests WHERE user_code_index = ? AND expires_at <= ?');
    for (let attempt = 1; ; attempt++) {
      const userCode = newUserCode();
      const index = this.userCodeIndex(userCode);
      freeExpired.run(index, now);
      try {
        insert.run(
          digest(requestId),
          index,
          request.clientId,
          request.redirectUri,
          request.scope,
          request.state === undefined ? null : keys.encrypt(request.state),
          request.codeChallenge ?? null,
          sealJson(this.ctx, request.requester),
          now,
          expiresAt,
        );
        return { requestId, userCode, expiresAt };
      } catch (error) {
        const collided = (error as { code?: string }).code === 'SQLITE_CONSTRAINT_UNIQUE';
        if (!collided || attempt >= MAX_USER_CODE_ATTEMPTS) throw error;
      }
    }
  }

  get(requestId: string): PendingRequest | undefined {
    const row = sql<Row>(this.ctx, 'SELECT * FROM pending_requests WHERE id_hash = ?').get(digest(requestId));
    return row && this.view(row);
  }

  /** The request a person typed the code of, while it is still waiting for a decision. */
  findPendingByUserCode(userCode: string): (PendingRequest & { handle: string }) | undefined {
    const row = sql<Row & { handle: string }>(
      this.ctx,
      "SELECT *, hex(id_hash) AS handle FROM pending_requests WHERE user_code_index = ? AND status = 'pending' AND expires_at > ?",
    ).get(this.userCodeIndex(userCode), this.ctx.now());
    return row && { ...this.view(row), handle: row.handle };
  }

  /**
   * Approve or deny, once. `handle` is the hex digest of the request id (what the panel knows; it
   * cannot be turned back into the request id that releases the code).
   */
  decide(handle: string, decision: 'approved' | 'denied', subject: Subject): boolean {
    if (!/^[0-9A-F]{64}$/.test(handle)) return false;
    const now = this.ctx.now();
    const result = sql(
      this.ctx,
      `UPDATE pending_requests SET status = ?, subject_index = ?, subject_enc = ?, decided_at = ?
                WHERE id_hash = ? AND status = 'pending' AND expires_at > ?`,
    ).run(decision, subjectIndex(this.ctx, subject.id), sealJson(this.ctx, subject), now, Buffer.from(handle, 'hex'), now);
    return result.changes === 1;
  }

  /**
   * For the browser holding the request id, once the request was approved: marks it completed and
   * issues the authorization code, in one transaction. Returns undefined if it is not (or no
   * longer) approved, so the code is released at most once.
   */
  release(requestId: string, codeTtlSeconds: number): { code: string; request: PendingRequest } | undefined {
    const now = this.ctx.now();
    return transaction(this.ctx, () => {
      const idHash = digest(requestId);
      const done = sql(this.ctx, "UPDATE pending_requests SET status = 'completed' WHERE id_hash = ? AND status = 'approved' AND expires_at > ?").run(
        idHash,
        now,
      );
      if (done.changes !== 1) return undefined;
      const request = this.view(sql<Row>(this.ctx, 'SELECT * FROM pending_requests WHERE id_hash = ?').get(idHash)!);
      // An approved request always has its approver; the UPDATE above would not have matched otherwise.
      const code = newAuthorizationCode(this.ctx, { ...request, subject: request.subject! }, now, codeTtlSeconds);
      return { code, request };
    });
  }
}
