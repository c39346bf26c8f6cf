/** Linked accounts (GET /links, POST /links/revoke) and activity (GET /activity) of the signed-in user. */
import type { RequestHandler } from 'express';
import type { AuditEvent } from '../store/audit.js';
import type { Grant } from '../store/index.js';
import { type PanelContext, renderPanel, userOf, when } from './context.js';

function stateOf(grant: Grant, now: number): { label: string; active: boolean } {
  if (grant.revokedAt !== undefined) {
    const reasons: Record<string, string> = {
      user: 'revoked by you',
      admin: 'revoked by the administrator',
      client: 'unlinked in the Alexa app',
      code_replay: 'revoked (code reuse)',
      refresh_reuse: 'revoked (token reuse)',
      expired: 'expired',
    };
    return { label: reasons[grant.revokedReason ?? ''] ?? 'revoked', active: false };
  }
  if (grant.expiresAt !== undefined && grant.expiresAt <= now) return { label: 'expired', active: false };
  return { label: 'active', active: true };
}

export function linksPage(ctx: PanelContext): RequestHandler {
  return (req, res) => {
    const now = ctx.store.now();
    const links = ctx.store.grants.listForSubject(userOf(res).id).map((grant) => ({
      id: grant.id,
      created: when(grant.createdAt),
      lastUsed: when(grant.lastUsedAt),
      scopes: grant.scope.split(' '),
      ...stateOf(grant, now),
    }));
    const outcome = req.query.revoked === '1' ? 'revoked' : req.query.revoked === '0' ? 'nothing' : undefined;
    renderPanel(ctx, res, 'links', { title: 'Linked accounts', tab: 'links', links, outcome });
  };
}

export function revokeLink(ctx: PanelContext): RequestHandler {
  return (req, res) => {
    const user = userOf(res);
    const grantId = typeof req.body?.grant === 'string' ? (req.body.grant as string) : '';
    // Only the user's own active links; say so when nothing was revoked.
    const { status } = ctx.store.ops.revokeOwnLink(user.id, grantId);
    res.redirect(303, `${res.locals.base ?? ''}/links?revoked=${status === 'revoked' ? '1' : '0'}`);
  };
}

const DESCRIPTIONS: Record<AuditEvent, string> = {
  link_requested: 'Alexa asked to link',
  link_approved: 'You approved an Alexa link request',
  link_denied: 'You denied an Alexa link request',
  code_issued: 'The approved link was handed to the Alexa app',
  grant_created: 'Alexa was linked',
  code_replayed: 'A link code was used twice; its link was revoked',
  token_refreshed: 'Alexa renewed its access',
  refresh_reuse: 'An old Alexa token was used again; the link was revoked',
  token_revoked: 'An Alexa access token was revoked',
  grant_revoked: 'A link was revoked',
  client_auth_failed: 'A client failed to authenticate',
};

/** An entry's text; a day's summary of routine events says how many there were. */
function describe(entry: { event: AuditEvent; details: Record<string, unknown> }): string {
  const text = DESCRIPTIONS[entry.event] ?? entry.event;
  const count = entry.details.count;
  return entry.event === 'token_refreshed' && typeof count === 'number' && count > 1 ? `${text} ${count} times` : text;
}

export const ACTIVITY_PAGE_SIZE = 20;

export function activityPage(ctx: PanelContext): RequestHandler {
  return (req, res) => {
    const before = typeof req.query.before === 'string' && /^\d{1,15}$/.test(req.query.before) ? Number(req.query.before) : undefined;
    const entries = ctx.store.audit.listForSubject(userOf(res).id, { limit: ACTIVITY_PAGE_SIZE + 1, ...(before ? { before } : {}) });
    const page = entries.slice(0, ACTIVITY_PAGE_SIZE).map((entry) => ({
      at: when(entry.at),
      atIso: new Date(entry.at).toISOString(),
      text: describe(entry),
      ip: typeof entry.details.ip === 'string' ? entry.details.ip : undefined,
    }));
    const older = entries.length > ACTIVITY_PAGE_SIZE ? entries[ACTIVITY_PAGE_SIZE - 1]!.id : undefined;
    renderPanel(ctx, res, 'activity', { title: 'Activity', tab: 'activity', entries: page, older });
  };
}

export function dismissNotice(ctx: PanelContext): RequestHandler {
  return (req, res) => {
    if (req.body?.notice === 'relink') ctx.store.notices.dismiss('relink', userOf(res).id);
    res.redirect(303, `${res.locals.base ?? ''}/`);
  };
}
