/**
 * Linked accounts (GET /links, POST /links/revoke) of the signed-in user; for a Home Assistant
 * administrator also the household's (POST /household/revoke). Activity is in activity.ts.
 */
import type { RequestHandler, Response } from 'express';
import type { MessageKey, Translator } from '../i18n/index.js';
import { type Grant, linkState, type PanelGrant, type Subject } from '../store/index.js';
import { i18nOf, isAdminHere, moment, type PanelContext, renderPanel, userOf } from './context.js';
import { deviceSummary, regionText, scopeTexts } from './describe.js';

const REVOKE_REASONS: Record<string, MessageKey> = {
  user: 'panel.links.state.user',
  admin: 'panel.links.state.admin',
  client: 'panel.links.state.client',
  code_replay: 'panel.links.state.codeReplay',
  refresh_reuse: 'panel.links.state.refreshReuse',
  expired: 'panel.links.state.expired',
};

/** A link's state in words (the rule is store/grants.ts linkState); an ended link says when, and the reason names who ended it. */
function stateOf(i18n: Translator, grant: Grant, now: number): { label: string; active: boolean; ended: { at: ReturnType<typeof moment> } | undefined } {
  const state = linkState(grant, now);
  switch (state.kind) {
    case 'active':
      return { label: i18n.t('panel.links.state.active'), active: true, ended: undefined };
    case 'revoked':
      return { label: i18n.t(REVOKE_REASONS[state.reason ?? ''] ?? 'panel.links.state.revoked'), active: false, ended: { at: moment(i18n, state.at, now) } };
    case 'expired':
      return { label: i18n.t('panel.links.state.expired'), active: false, ended: { at: moment(i18n, state.at, now) } };
  }
}

/** A link as the pages show it: region, device, when made and last used, its state. */
function describeLink(i18n: Translator, grant: PanelGrant, now: number) {
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

/** A use not yet written (skill-usage.ts) counts: the person just asked Alexa. */
function withUnwritten(ctx: PanelContext, grant: PanelGrant): PanelGrant {
  return { ...grant, skillUsedAt: ctx.store.skillUsage.unwritten(grant.id) ?? grant.skillUsedAt };
}

/** Whose link: Home Assistant's name now, else the name the link was made with. */
function memberName(names: ReadonlyMap<string, string>, subject: Subject): string | undefined {
  return names.get(subject.id) || subject.displayName || subject.name || undefined;
}

/** Everyone else's active links, by person (each person's newest first), for an administrator. */
async function household(ctx: PanelContext, i18n: Translator, admin: Subject) {
  const names = await ctx.members.names();
  const now = ctx.store.now();
  return ctx.store.grants
    .listActive()
    .filter((grant) => grant.subject.id !== admin.id)
    .map((grant) => ({ ...describeLink(i18n, withUnwritten(ctx, grant), now), member: memberName(names, grant.subject) ?? i18n.t('panel.household.unnamed') }))
    .sort((a, b) => a.member.localeCompare(b.member, i18n.locale));
}

const OUTCOMES: Record<string, 'revoked' | 'nothing' | 'member'> = { '1': 'revoked', '0': 'nothing', member: 'member' };

export function linksPage(ctx: PanelContext): RequestHandler {
  return async (req, res) => {
    const user = userOf(res);
    const i18n = i18nOf(res);
    // Asked on every view: a member sees exactly their own links, and nobody's else.
    const others = isAdminHere(res) ? await household(ctx, i18n, user) : undefined;
    const now = ctx.store.now();
    const links = ctx.store.grants.listForSubject(user.id).map((grant) => describeLink(i18n, withUnwritten(ctx, grant), now));
    const outcome = typeof req.query.revoked === 'string' && Object.hasOwn(OUTCOMES, req.query.revoked) ? OUTCOMES[req.query.revoked] : undefined;
    renderPanel(ctx, res, 'links', {
      title: 'panel.links.title',
      tab: 'links',
      // "Not used by Alexa yet" only says something when the skill guard could have seen a use.
      skillGuard: ctx.config.skill !== undefined,
      active: links.filter((link) => link.active),
      ended: links.filter((link) => !link.active),
      household: others,
      outcome,
    });
  };
}

function backToLinks(res: Response, outcome: '1' | '0' | 'member'): void {
  res.redirect(303, `${res.locals.base ?? ''}/links?revoked=${outcome}`);
}

const GRANT_ID = /^[0-9a-f]{32}$/;

/**
 * POST /links/revoke: without `confirm=1` it only asks ("Revoke the link of … made on … from …?"),
 * so a slip of the finger revokes nothing and the question works without JavaScript.
 */
export function revokeLink(ctx: PanelContext): RequestHandler {
  return (req, res) => {
    const user = userOf(res);
    const grantId = typeof req.body?.grant === 'string' ? (req.body.grant as string) : '';
    if (req.body?.confirm !== '1') {
      const grant = GRANT_ID.test(grantId) ? ctx.store.grants.listForSubject(user.id).find((own) => own.id === grantId) : undefined;
      const now = ctx.store.now();
      const i18n = i18nOf(res);
      const link = grant && describeLink(i18n, grant, now);
      // Not one of the person's active links: say so as after a revoke that found nothing.
      if (!link?.active) {
        backToLinks(res, '0');
        return;
      }
      renderPanel(ctx, res, 'revoke', { title: 'panel.revoke.title', tab: 'links', link });
      return;
    }
    // Only the user's own active links; say so when nothing was revoked.
    const { status } = ctx.store.ops.revokeOwnLink(user.id, grantId);
    backToLinks(res, status === 'revoked' ? '1' : '0');
  };
}

/**
 * POST /household/revoke: an administrator revokes another person's link, asking first as for
 * one's own; the person is told by a Home Assistant notification. Anyone else gets a 404.
 */
export function revokeMemberLink(ctx: PanelContext): RequestHandler {
  return async (req, res, next) => {
    const admin = userOf(res);
    // Asked afresh for this POST (adminFlag): that the links page once showed the household proves nothing now.
    if (!isAdminHere(res)) {
      next();
      return;
    }
    const grantId = typeof req.body?.grant === 'string' ? (req.body.grant as string) : '';
    if (req.body?.confirm !== '1') {
      const grant = GRANT_ID.test(grantId) ? ctx.store.grants.listActive().find((other) => other.id === grantId && other.subject.id !== admin.id) : undefined;
      if (!grant) {
        backToLinks(res, '0');
        return;
      }
      const i18n = i18nOf(res);
      const member = memberName(await ctx.members.names(), grant.subject) ?? i18n.t('panel.household.unnamed');
      renderPanel(ctx, res, 'revoke', {
        title: 'panel.revoke.title',
        tab: 'links',
        link: describeLink(i18n, grant, ctx.store.now()),
        member,
        action: '/household/revoke',
      });
      return;
    }
    const revocation = ctx.store.ops.revokeMemberLink(admin, grantId);
    if (revocation.status === 'revoked') {
      const subjectName = memberName(await ctx.members.names(), revocation.subject);
      ctx.events.emit('adminRevoked', { grantId, subjectName, adminName: admin.displayName || admin.name || undefined });
    }
    backToLinks(res, revocation.status === 'revoked' ? 'member' : '0');
  };
}

export function dismissNotice(ctx: PanelContext): RequestHandler {
  return (req, res) => {
    if (req.body?.notice === 'relink') ctx.store.notices.dismiss('relink', userOf(res).id);
    res.redirect(303, `${res.locals.base ?? ''}/`);
  };
}
