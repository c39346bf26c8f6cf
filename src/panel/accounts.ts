/** Linked accounts (GET /links, POST /links/revoke) of the signed-in user; activity is in activity.ts. */
import type { RequestHandler, Response } from 'express';
import type { MessageKey, Translator } from '../i18n/index.js';
import type { Grant, MadeBy } from '../store/index.js';
import { i18nOf, moment, type PanelContext, renderPanel, userOf } from './context.js';
import { deviceSummary, regionText, scopeTexts } from './describe.js';

const REVOKE_REASONS: Record<string, MessageKey> = {
  user: 'panel.links.state.user',
  admin: 'panel.links.state.admin',
  client: 'panel.links.state.client',
  code_replay: 'panel.links.state.codeReplay',
  refresh_reuse: 'panel.links.state.refreshReuse',
  expired: 'panel.links.state.expired',
};

/** A link's state; an ended link says when it ended and why (the reason names who ended it). */
function stateOf(i18n: Translator, grant: Grant, now: number): { label: string; active: boolean; ended: { at: ReturnType<typeof moment> } | undefined } {
  if (grant.revokedAt !== undefined) {
    const key = REVOKE_REASONS[grant.revokedReason ?? ''] ?? 'panel.links.state.revoked';
    return { label: i18n.t(key), active: false, ended: { at: moment(i18n, grant.revokedAt, now) } };
  }
  if (grant.expiresAt !== undefined && grant.expiresAt <= now) {
    return { label: i18n.t('panel.links.state.expired'), active: false, ended: { at: moment(i18n, grant.expiresAt, now) } };
  }
  return { label: i18n.t('panel.links.state.active'), active: true, ended: undefined };
}

/** A link as the pages show it: region, device, when made and last used, its state. */
function describeLink(i18n: Translator, grant: Grant & { madeBy: MadeBy | undefined; skillUsedAt: number | undefined }, now: number) {
  const { madeBy, skillUsedAt } = grant;
  return {
    id: grant.id,
    name: madeBy ? regionText(i18n, madeBy.redirectUri) : 'Amazon Alexa',
    device: deviceSummary(i18n, madeBy?.userAgent),
    created: moment(i18n, grant.createdAt, now),
    lastUsed: moment(i18n, grant.lastUsedAt, now),
    skillUsed: skillUsedAt === undefined ? undefined : moment(i18n, skillUsedAt, now),
    scopes: scopeTexts(i18n, grant.scope),
    ...stateOf(i18n, grant, now),
  };
}

export function linksPage(ctx: PanelContext): RequestHandler {
  return (req, res) => {
    const now = ctx.store.now();
    const i18n = i18nOf(res);
    const links = ctx.store.grants
      .listForSubject(userOf(res).id)
      // A use not yet written (skill-usage.ts) counts: the person just asked Alexa.
      .map((grant) => describeLink(i18n, { ...grant, skillUsedAt: ctx.store.skillUsage.unwritten(grant.id) ?? grant.skillUsedAt }, now));
    const outcome = req.query.revoked === '1' ? 'revoked' : req.query.revoked === '0' ? 'nothing' : undefined;
    renderPanel(ctx, res, 'links', {
      title: 'panel.links.title',
      tab: 'links',
      // "Not used by Alexa yet" only says something when the skill guard could have seen a use.
      skillGuard: ctx.config.skill !== undefined,
      active: links.filter((link) => link.active),
      ended: links.filter((link) => !link.active),
      outcome,
    });
  };
}

function backToLinks(res: Response, revoked: boolean): void {
  res.redirect(303, `${res.locals.base ?? ''}/links?revoked=${revoked ? '1' : '0'}`);
}

/**
 * POST /links/revoke: without `confirm=1` it only asks ("Revoke the link of … made on … from …?"),
 * so a slip of the finger revokes nothing and the question works without JavaScript.
 */
export function revokeLink(ctx: PanelContext): RequestHandler {
  return (req, res) => {
    const user = userOf(res);
    const grantId = typeof req.body?.grant === 'string' ? (req.body.grant as string) : '';
    if (req.body?.confirm !== '1') {
      const grant = /^[0-9a-f]{32}$/.test(grantId) ? ctx.store.grants.listForSubject(user.id).find((own) => own.id === grantId) : undefined;
      const now = ctx.store.now();
      const i18n = i18nOf(res);
      const link = grant && describeLink(i18n, grant, now);
      // Not one of the person's active links: say so as after a revoke that found nothing.
      if (!link?.active) {
        backToLinks(res, false);
        return;
      }
      renderPanel(ctx, res, 'revoke', { title: 'panel.revoke.title', tab: 'links', link });
      return;
    }
    // Only the user's own active links; say so when nothing was revoked.
    const { status } = ctx.store.ops.revokeOwnLink(user.id, grantId);
    backToLinks(res, status === 'revoked');
  };
}

export function dismissNotice(ctx: PanelContext): RequestHandler {
  return (req, res) => {
    if (req.body?.notice === 'relink') ctx.store.notices.dismiss('relink', userOf(res).id);
    res.redirect(303, `${res.locals.base ?? ''}/`);
  };
}
