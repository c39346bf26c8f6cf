/**
 * One operation per endpoint: each does all of an endpoint's reads and writes, its audit row
 * included, in one transaction (or one savepoint of a group commit), and returns a discriminated
 * result that the endpoint maps to HTTP. An endpoint never makes a second store call.
 */
import type { AuditLog } from './audit.js';
import type { AuthorizationCodes, RedeemedCode } from './codes.js';
import { type StoreContext, type Subject, sql, subjectIndex, transaction } from './context.js';
import { type Grants, isGrantActive, revokeGrantRows } from './grants.js';
import type { Notices } from './notices.js';
import type { NewRequest, PendingRequest, PendingRequests, Renewal, RenewalRules } from './requests.js';
import { hasOurShape } from './token-format.js';
import type { IssuedTokens, Lifetimes, Refresh, Tokens } from './tokens.js';

/** Where a request came from, as stored in audit rows (already cut to length by the caller). */
export interface Origin {
  ip: string;
  userAgent?: string;
}

export type CodeExchange =
  | { status: 'linked'; tokens: IssuedTokens; subject: Subject }
  /** Presented again: whatever it produced was revoked (RFC 6749 §4.1.2). */
  | { status: 'replayed' }
  | { status: 'invalid' }
  /** The code was good but bound to something else; it is consumed all the same. */
  | { status: 'refused'; description: string };

export type LinkRevocation = { status: 'revoked' } | { status: 'not_found' };

/** An administrator's revocation names whose link it was, for the notification. */
export type MemberLinkRevocation = { status: 'revoked'; subject: Subject } | { status: 'not_found' };

export type TokenRevocation = { status: 'revoked'; kind: 'access' | 'refresh' } | { status: 'unknown' };

interface Parts {
  ctx: StoreContext;
  /** Runs a write in one savepoint of the group commit; resolves once it is on disk. */
  durable: <T>(fn: () => T) => Promise<T>;
  requests: PendingRequests;
  codes: AuthorizationCodes;
  grants: Grants;
  tokens: Tokens;
  audit: AuditLog;
  notices: Notices;
}

export class Operations {
  constructor(private readonly parts: Parts) {}

  /** GET /authorize: the pending request and its `link_requested` row. */
  startLink(request: NewRequest): { requestId: string; userCode: string; expiresAt: number } {
    const { ctx, requests, audit } = this.parts;
    return transaction(ctx, () => {
      const created = requests.create(request);
      audit.recordAnonymous('link_requested', { ...request.requester, scope: request.scope });
      return created;
    });
  }

  /**
   * POST /authorize/renew: a new code for the same request, with a `link_requested` row marked as
   * a renewal (the same event: Alexa's request, asked for again; it names no person, as the first).
   */
  renewLink(requestId: string, rules: RenewalRules, origin: Origin): Renewal {
    const { ctx, requests, audit } = this.parts;
    return transaction(ctx, () => {
      const renewal = requests.renew(requestId, rules);
      if (renewal.status === 'renewed') audit.recordAnonymous('link_requested', { ...origin, renewal: renewal.renewals });
      return renewal;
    });
  }

  /** POST /decide in the panel: approve or deny once, with its audit row. False when it is gone. */
  decideLink(handle: string, decision: 'approved' | 'denied', subject: Subject): boolean {
    const { ctx, requests, audit } = this.parts;
    return transaction(ctx, () => {
      if (!requests.decide(handle, decision, subject)) return false;
      // What asked and from where: the Activity line names the region and device, its details the
      // address of the browser that asked (the person's phone, not Amazon's servers).
      const asked = requests.origin(handle);
      audit.record(decision === 'approved' ? 'link_approved' : 'link_denied', {
        subjectId: subject.id,
        details: {
          name: subject.displayName ?? subject.name,
          ...(asked ? { redirectUri: asked.redirectUri, userAgent: asked.requester.userAgent, requestedFrom: asked.requester.ip } : {}),
        },
      });
      return true;
    });
  }

  /** GET /authorize/continue: the code for the browser that holds the request id, once. */
  releaseCode(requestId: string, codeTtlSeconds: number, origin: Origin): { code: string; request: PendingRequest } | undefined {
    const { ctx, requests, audit } = this.parts;
    return transaction(ctx, () => {
      const released = requests.release(requestId, codeTtlSeconds);
      if (released) audit.record('code_issued', { subjectId: released.request.subject?.id, details: { ip: origin.ip } });
      return released;
    });
  }

  /**
   * POST /token with a code: consume it, check it against the request (`check` names what is
   * wrong, or returns undefined), create the grant and its first tokens, audit; one savepoint of
   * the group commit, so the consumption is committed whatever the outcome.
   */
  exchangeCode(input: {
    code: string;
    clientId: string;
    check: (bound: RedeemedCode) => string | undefined;
    lifetimes: Lifetimes;
    maxSeconds: number;
    origin: Origin;
  }): Promise<CodeExchange> {
    const { ctx, durable, codes, grants, tokens, audit } = this.parts;
    return durable((): CodeExchange => {
      const redemption = codes.redeem(input.code);
      if (redemption.status === 'replayed') {
        // One of the two presenters is an attacker: revoke what the code produced.
        if (redemption.grantId) revokeGrantRows(ctx, redemption.grantId, 'code_replay', ctx.now());
        // Named to the link's owner, so their Activity says why their link ended.
        const owner = redemption.grantId === undefined ? undefined : grants.get(redemption.grantId)?.subject.id;
        audit.record('code_replayed', { grantId: redemption.grantId, subjectId: owner, details: { ip: input.origin.ip, clientId: input.clientId } });
        return { status: 'replayed' };
      }
      if (redemption.status === 'invalid') return { status: 'invalid' };
      const bound = redemption.code;
      const problem = input.check(bound);
      if (problem) return { status: 'refused', description: problem };
      const grant = grants.create({
        subject: bound.subject,
        clientId: bound.clientId,
        scope: bound.scope,
        maxSeconds: input.maxSeconds,
        // The grant keeps where the link was made, not the address (that is the audit row's).
        madeBy: bound.madeBy && { redirectUri: bound.madeBy.redirectUri, userAgent: bound.madeBy.userAgent },
      });
      codes.attachGrant(bound.codeHash, grant.id);
      const issued = tokens.issue(grant, input.lifetimes);
      audit.record('grant_created', {
        grantId: grant.id,
        subjectId: bound.subject.id,
        // ip: Amazon's server that exchanged the code; requestedFrom: the browser that asked for the link.
        details: { clientId: input.clientId, scope: bound.scope, ip: input.origin.ip, requestedFrom: bound.madeBy?.ip },
      });
      return { status: 'linked', tokens: issued, subject: bound.subject };
    });
  }

  /** POST /token with a refresh token: rotation (store/tokens.ts) and its audit row, in one savepoint. */
  refresh(input: { token: string; clientId: string; lifetimes: Lifetimes; origin: Origin }): Promise<Refresh> {
    const { durable, tokens, audit, notices } = this.parts;
    return durable((): Refresh => {
      const outcome = tokens.refresh(input.token, input.clientId, input.lifetimes);
      if (outcome.status === 'invalid' && outcome.reason === 'unknown' && !hasOurShape(input.token)) {
        // Never issued here (ours have had a prefix since migration 4): the earlier server's, which
        // Alexa still holds. The client is authenticated; this only turns on the relink notice.
        return notices.noteEarlierServer() ? { ...outcome, earlierServer: true } : outcome;
      }
      if (outcome.status === 'reuse') {
        audit.record('refresh_reuse', { grantId: outcome.grant.id, subjectId: outcome.grant.subject.id, details: { ...input.origin } });
      } else if (outcome.status === 'ok') {
        audit.recordDaily('token_refreshed', {
          grantId: outcome.tokens.grant.id,
          subjectId: outcome.tokens.grant.subject.id,
          details: { ip: input.origin.ip },
        });
      }
      return outcome;
    });
  }

  /** POST /revoke (RFC 7009): the token (a refresh token: its whole link) and the audit row. */
  revokeToken(token: string, clientId: string, origin: Origin): TokenRevocation {
    const { ctx, tokens, audit } = this.parts;
    return transaction(ctx, (): TokenRevocation => {
      const revoked = tokens.revoke(token, clientId);
      if (!revoked) return { status: 'unknown' };
      audit.record(revoked.kind === 'refresh' ? 'grant_revoked' : 'token_revoked', {
        grantId: revoked.grantId,
        subjectId: revoked.subjectId,
        details: { by: 'client', kind: revoked.kind, ip: origin.ip },
      });
      return { status: 'revoked', kind: revoked.kind };
    });
  }

  /**
   * Revoke in the panel: only the person's own, active link. Ownership is checked in SQL by the
   * blind index, so nothing of anybody's is decrypted.
   */
  revokeOwnLink(subjectId: string, grantId: string): LinkRevocation {
    const { ctx, audit } = this.parts;
    return transaction(ctx, (): LinkRevocation => {
      const own = sql(ctx, 'SELECT 1 AS own FROM grants WHERE id = ? AND subject_index = ? AND revoked_at IS NULL').get(grantId, subjectIndex(ctx, subjectId));
      if (!own || !revokeGrantRows(ctx, grantId, 'user', ctx.now())) return { status: 'not_found' };
      audit.record('grant_revoked', { grantId, subjectId, details: { by: 'user' } });
      return { status: 'revoked' };
    });
  }

  /**
   * Revoke in the panel's household view: another person's active link, by a Home Assistant
   * administrator (the caller has asked Home Assistant). The audit row is the member's, so their
   * Activity says the administrator ended it, and names the administrator.
   */
  revokeMemberLink(admin: Subject, grantId: string): MemberLinkRevocation {
    const { ctx, grants, audit } = this.parts;
    return transaction(ctx, (): MemberLinkRevocation => {
      const grant = grants.get(grantId);
      // The administrator's own links go the way everyone's do (revokeOwnLink, reason "user").
      if (!grant || grant.subject.id === admin.id || !isGrantActive(grant, ctx.now())) return { status: 'not_found' };
      if (!revokeGrantRows(ctx, grantId, 'admin', ctx.now())) return { status: 'not_found' };
      audit.record('grant_revoked', {
        grantId,
        subjectId: grant.subject.id,
        details: { by: 'admin', adminId: admin.id, adminName: admin.displayName ?? admin.name },
      });
      return { status: 'revoked', subject: grant.subject };
    });
  }

  /** The CLI's `revoke --user`: every active link of a person, each with its audit row. */
  revokeAllLinks(subjectId: string): string[] {
    const { ctx, audit } = this.parts;
    return transaction(ctx, () => {
      const ids = sql<{ id: string }>(ctx, 'SELECT id FROM grants WHERE subject_index = ? AND revoked_at IS NULL')
        .all(subjectIndex(ctx, subjectId))
        .map((row) => row.id);
      const now = ctx.now();
      const revoked = ids.filter((id) => revokeGrantRows(ctx, id, 'admin', now));
      for (const grantId of revoked) audit.record('grant_revoked', { grantId, subjectId, details: { by: 'admin' } });
      return revoked;
    });
  }

  /**
   * The CLI's `revoke --all`: every active link of everyone (after restoring an older backup, which
   * brings back links revoked since it was taken), each with its audit row.
   */
  revokeEveryLink(): number {
    const { ctx, grants, audit } = this.parts;
    return transaction(ctx, () => {
      const ids = sql<{ id: string }>(ctx, 'SELECT id FROM grants WHERE revoked_at IS NULL')
        .all()
        .map((row) => row.id);
      const now = ctx.now();
      let revoked = 0;
      for (const id of ids) {
        const grant = grants.get(id)!;
        if (!revokeGrantRows(ctx, id, 'admin', now)) continue;
        audit.record('grant_revoked', { grantId: id, subjectId: grant.subject.id, details: { by: 'admin' } });
        revoked++;
      }
      return revoked;
    });
  }
}
