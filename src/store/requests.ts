/**
 * Pending authorization requests: what Alexa asked for, waiting for a person to approve it in the
 * Home Assistant panel. The browser that asked holds the request id in its (encrypted) session;
 * the person types the user code into the panel. Decisions and the release of the code are single
 * conditional UPDATEs, so they happen at most once.
 */
import { TUNABLES } from '../config/tunables.js';
import { blindIndex, digest, newToken } from '../crypto/random.js';
import { newUserCode } from '../crypto/user-code.js';
import { makeRoom } from '../util/bounded.js';
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
  /** Who asked, for fairness when the bound is near: the address's limit key (http/client-key.ts). */
  requesterKey?: string | undefined;
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
  /** How often the user code was replaced ("Get a new code"). */
  renewals: number;
}

/** What a renewal gives: the new code, or why there is none. */
export type Renewal =
  | { status: 'renewed'; userCode: string; expiresAt: number; renewals: number }
  /** Decided, completed or gone: nothing to renew. */
  | { status: 'gone' }
  /** As many renewals as allowed, or too close to the end of the renewal window. */
  | { status: 'limit' };

export interface RenewalRules {
  ttlSeconds: number;
  maxRenewals: number;
  windowSeconds: number;
  minSeconds: number;
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
  renewals: number;
}

const MAX_USER_CODE_ATTEMPTS = 5;
const { maxUnseenRequests, maxKeys, authorize: ASKING } = TUNABLES.limits;
const COUNT_EVERY = 16;

export class PendingRequests {
  /** Link requests per requester in the current window: who asks most often goes first at the bound. */
  private sinceCount = COUNT_EVERY;
  private readonly asked = new Map<string, { count: number; previous: number; resetAt: number }>();

  constructor(private readonly ctx: StoreContext) {}

  /** Requests of this requester in the current window and the one before: a sliding measure. */
  private askedBy(key: Buffer | null): number {
    const entry = key === null ? undefined : this.asked.get(key.toString('hex'));
    if (!entry) return 0;
    const now = this.ctx.now();
    if (entry.resetAt > now) return entry.count + entry.previous;
    return entry.resetAt + ASKING.windowMs > now ? entry.count : 0;
  }

  private noteAsked(key: Buffer): void {
    const now = this.ctx.now();
    const hex = key.toString('hex');
    const entry = this.asked.get(hex);
    if (entry && entry.resetAt > now) {
      entry.count++;
      return;
    }
    // A new window; the one just ended still counts, as `previous`.
    const previous = entry && entry.resetAt + ASKING.windowMs > now ? entry.count : 0;
    this.asked.delete(hex);
    if (this.asked.size >= maxKeys) {
      // Full: forget who asked only once (as good as not asked at all, which is how an unknown
      // requester is treated) before anyone who asked often; the oldest only if that is not enough.
      for (const [other, seen] of this.asked) if (seen.resetAt + ASKING.windowMs <= now || seen.count + seen.previous <= 1) this.asked.delete(other);
      makeRoom(this.asked, maxKeys, now - ASKING.windowMs);
    }
    this.asked.set(hex, { count: 1, previous, resetAt: now + ASKING.windowMs });
  }

  /**
   * Keeps the requests nobody has seen in the panel under their bound: at the bound, a tenth of
   * them go, those of the requesters who asked most often in the current window first, then the
   * expired, then the oldest; their sessions go with them. A person asks once and types the code
   * within minutes, a flood asks again and again: the person's request stays.
   */
  private makeRoomForOne(): void {
    // Counted every few inserts, not at each: the bound may be passed by that many for a moment.
    if (++this.sinceCount < COUNT_EVERY) return;
    this.sinceCount = 0;
    const unseen = sql<{ n: number }>(this.ctx, "SELECT count(*) AS n FROM pending_requests WHERE status = 'pending' AND shown_at IS NULL").get()!.n;
    if (unseen < maxUnseenRequests) return;
    const now = this.ctx.now();
    const candidates = sql<{ id_hash: Buffer; requester_key: Buffer | null; created_at: number; expires_at: number }>(
      this.ctx,
      "SELECT id_hash, requester_key, created_at, expires_at FROM pending_requests WHERE status = 'pending' AND shown_at IS NULL",
    )
      .all()
      .map((row) => ({ ...row, asked: this.askedBy(row.requester_key), expired: row.expires_at <= now }));
    candidates.sort((a, b) => b.asked - a.asked || Number(b.expired) - Number(a.expired) || a.created_at - b.created_at);
    const drop = candidates.slice(0, unseen - Math.floor(maxUnseenRequests * 0.9) + 1);
    const deleteRequest = sql(this.ctx, 'DELETE FROM pending_requests WHERE id_hash = ?');
    const deleteSessions = sql(this.ctx, 'DELETE FROM sessions WHERE request_hash = ?');
    for (const row of drop) {
      deleteRequest.run(row.id_hash);
      deleteSessions.run(row.id_hash);
    }
  }

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
      renewals: row.renewals,
    };
  }

  /**
   * Whether a pending request may get a new code at `now`, and the new code's expiry: never more
   * than `maxRenewals` times, never beyond `windowSeconds` after the request was made, never a
   * code with less than `minSeconds` to live.
   */
  static renewalExpiry(request: { createdAt: number; renewals: number }, now: number, rules: RenewalRules): number | undefined {
    if (request.renewals >= rules.maxRenewals) return undefined;
    const expiresAt = Math.min(now + rules.ttlSeconds * 1000, request.createdAt + rules.windowSeconds * 1000);
    return expiresAt - now >= rules.minSeconds * 1000 ? expiresAt : undefined;
  }

  /**
   * Stores a request; returns the id (for the browser's session) and the user code (for the
   * person). Call inside a transaction (the bound's eviction and the insert belong together).
   */
  create(request: NewRequest): { requestId: string; userCode: string; expiresAt: number } {
    const { keys } = this.ctx;
    const now = this.ctx.now();
    const expiresAt = now + request.ttlSeconds * 1000;
    const requestId = newToken();
    const requesterKey = request.requesterKey === undefined ? null : blindIndex(this.ctx.indexKey, `requester:${request.requesterKey}`);
    if (requesterKey) this.noteAsked(requesterKey);
    this.makeRoomForOne();
    const insert = sql(
      this.ctx,
      `
      INSERT INTO pending_requests (id_hash, user_code_index, client_id, redirect_uri, scope, state_enc,
        code_challenge, requester_enc, created_at, expires_at, requester_key)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    return this.withNewUserCode(now, (userCode, index) => {
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
        requesterKey,
      );
      return { requestId, userCode, expiresAt };
    });
  }

  /**
   * Runs `write` with a fresh user code and its index, again with another code when the index is
   * taken (a UNIQUE violation). Expired requests still hold their code until pruned: one that
   * collides is freed first (an expired code is dead; its request may still be renewed with a new
   * one, so the row stays).
   */
  private withNewUserCode<T>(now: number, write: (userCode: string, index: Buffer) => T): T {
    const freeExpired = sql(this.ctx, 'UPDATE pending_requests SET user_code_index = randomblob(32) WHERE user_code_index = ? AND expires_at <= ?');
    for (let attempt = 1; ; attempt++) {
      const userCode = newUserCode();
      const index = this.userCodeIndex(userCode);
      freeExpired.run(index, now);
      try {
        return write(userCode, index);
      } catch (error) {
        const collided = (error as { code?: string }).code === 'SQLITE_CONSTRAINT_UNIQUE';
        if (!collided || attempt >= MAX_USER_CODE_ATTEMPTS) throw error;
      }
    }
  }

  /**
   * "Get a new code" for the browser holding the request id: a new user code and expiry for the
   * same request (same redirect URI, state and PKCE challenge). The old code's index is replaced,
   * so the panel no longer finds it. One conditional UPDATE: two renewals at once cannot both pass
   * the limit.
   */
  renew(requestId: string, rules: RenewalRules): Renewal {
    const now = this.ctx.now();
    const idHash = digest(requestId);
    const row = sql<Row>(this.ctx, "SELECT * FROM pending_requests WHERE id_hash = ? AND status = 'pending'").get(idHash);
    if (!row) return { status: 'gone' };
    const expiresAt = PendingRequests.renewalExpiry({ createdAt: row.created_at, renewals: row.renewals }, now, rules);
    if (expiresAt === undefined) return { status: 'limit' };
    const update = sql(
      this.ctx,
      `UPDATE pending_requests SET user_code_index = ?, expires_at = ?, renewals = renewals + 1
                WHERE id_hash = ? AND status = 'pending' AND renewals = ?`,
    );
    return this.withNewUserCode(now, (userCode, index): Renewal => {
      // A decision or another renewal in between: the row no longer matches, nothing changes.
      if (update.run(index, expiresAt, idHash, row.renewals).changes !== 1) return { status: 'gone' };
      return { status: 'renewed', userCode, expiresAt, renewals: row.renewals + 1 };
    });
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

  /** A person saw the request in the panel (typed its code): from now on the bound never evicts it. */
  markShown(handle: string): void {
    if (!/^[0-9A-F]{64}$/.test(handle)) return;
    sql(this.ctx, 'UPDATE pending_requests SET shown_at = ? WHERE id_hash = ? AND shown_at IS NULL').run(this.ctx.now(), Buffer.from(handle, 'hex'));
  }

  /** What a request handle asked for, and from where (the audit row of a decision); undefined once it is gone. */
  origin(handle: string): { redirectUri: string; requester: { ip: string; userAgent: string } } | undefined {
    if (!/^[0-9A-F]{64}$/.test(handle)) return undefined;
    const row = sql<Pick<Row, 'redirect_uri' | 'requester_enc'>>(this.ctx, 'SELECT redirect_uri, requester_enc FROM pending_requests WHERE id_hash = ?').get(
      Buffer.from(handle, 'hex'),
    );
    return row && { redirectUri: row.redirect_uri, requester: openJson<{ ip: string; userAgent: string }>(this.ctx, row.requester_enc) };
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
      const code = newAuthorizationCode(this.ctx, { ...request, subject: request.subject!, ...request.requester }, now, codeTtlSeconds);
      return { code, request };
    });
  }
}
