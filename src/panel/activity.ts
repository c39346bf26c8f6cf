/**
 * Activity (GET /activity): the signed-in person's events in their words. A line about a link names
 * it by its Alexa region and the device it was made on; a revocation says who revoked. An address
 * is shown only in a line's details, and only the address of the browser that asked for the link
 * (the person's own phone or computer): Alexa's token calls come from Amazon's servers, whose
 * addresses say nothing to anyone, so they stay in the audit row and off the page.
 */
import type { RequestHandler } from 'express';
import type { Translator } from '../i18n/index.js';
import type { AuditEntry, AuditEvent } from '../store/audit.js';
import type { MadeBy } from '../store/index.js';
import { i18nOf, type PanelContext, renderPanel, userOf } from './context.js';
import { deviceSummary, regionText } from './describe.js';

export const ACTIVITY_PAGE_SIZE = 20;

/**
 * Not lines of their own: the code handed to the browser is the first half of the link made,
 * which the grant_created line tells in one.
 */
const FOLDED: readonly AuditEvent[] = ['code_issued'];

/** A link in words: "Alexa (Europe) — Android phone · Chrome 120", or as much of it as is known. */
interface LinkWords {
  region: string;
  device: string | undefined;
}

function linkWords(i18n: Translator, madeBy: { [K in keyof MadeBy]?: string | undefined } | undefined): LinkWords {
  return {
    // Links made before migration 6 (and events whose link is gone) have no return address.
    region: madeBy?.redirectUri ? regionText(i18n, madeBy.redirectUri) : 'Amazon Alexa',
    device: deviceSummary(i18n, madeBy?.userAgent),
  };
}

const linkName = (words: LinkWords) => (words.device ? `${words.region} — ${words.device}` : words.region);

const text = (value: unknown) => (typeof value === 'string' ? value : undefined);

/** An entry's main text; a day's summary of routine events says how many there were. */
function describe(i18n: Translator, entry: AuditEntry, words: LinkWords): string {
  const link = linkName(words);
  const count = typeof entry.details.count === 'number' ? entry.details.count : 1;
  const skill = i18n.t('skill.name');
  switch (entry.event) {
    case 'link_requested':
      return i18n.t('panel.activity.linkRequested');
    case 'link_approved':
      return i18n.t('panel.activity.linkApproved', { link });
    case 'link_denied':
      return i18n.t('panel.activity.linkDenied', { link });
    case 'code_issued':
    case 'grant_created':
      return i18n.t('panel.activity.linked', { region: words.region, device: words.device ?? i18n.t('panel.device.unknown') });
    case 'code_replayed':
      return i18n.t('panel.activity.revokedOnCodeReplay', { link });
    case 'refresh_reuse':
      return i18n.t('panel.activity.revokedOnReuse', { link });
    case 'grant_revoked': {
      const by = entry.details.by;
      if (by === 'user') return i18n.t('panel.activity.revokedByYou', { link });
      if (by === 'admin') {
        // The member is told who: the name the administrator had in Home Assistant when they revoked it.
        const admin = entry.details.adminName;
        return typeof admin === 'string' && admin !== ''
          ? i18n.t('panel.activity.revokedByNamedAdmin', { admin, link })
          : i18n.t('panel.activity.revokedByAdmin', { link });
      }
      if (by === 'client') return i18n.t('panel.activity.revokedByAlexa', { link });
      return i18n.t('panel.activity.revoked', { link });
    }
    case 'token_revoked':
      return i18n.t('panel.activity.tokenRevoked', { link });
    case 'token_refreshed':
      return count > 1 ? i18n.plural('panel.activity.tokenRefreshedTimes', count, { link }) : i18n.t('panel.activity.tokenRefreshed', { link });
    case 'skill_used':
      return count > 1 ? i18n.plural('panel.activity.skillUsedTimes', count, { link, skill }) : i18n.t('panel.activity.skillUsed', { link, skill });
    case 'client_auth_failed':
      return i18n.t('panel.activity.clientAuthFailed');
  }
}

/** Events asked for from the person's own browser: their details may show its address. */
const FROM_BROWSER: ReadonlySet<AuditEvent> = new Set(['link_approved', 'link_denied', 'grant_created']);

export function activityPage(ctx: PanelContext): RequestHandler {
  return (req, res) => {
    const i18n = i18nOf(res);
    const user = userOf(res);
    const before = typeof req.query.before === 'string' && /^\d{1,15}$/.test(req.query.before) ? Number(req.query.before) : undefined;
    const entries = ctx.store.audit.listForSubject(user.id, { limit: ACTIVITY_PAGE_SIZE + 1, exclude: FOLDED, ...(before ? { before } : {}) });
    // Where each of the person's links was made, by grant id: one query for the page.
    const links = new Map(ctx.store.grants.listForSubject(user.id).map((grant) => [grant.id, grant.madeBy]));
    const page = entries.slice(0, ACTIVITY_PAGE_SIZE).map((entry) => {
      // A decision names the request it was about; every other line its link.
      const madeBy =
        entry.grantId === undefined ? { redirectUri: text(entry.details.redirectUri), userAgent: text(entry.details.userAgent) } : links.get(entry.grantId);
      const requestedFrom = FROM_BROWSER.has(entry.event) ? text(entry.details.requestedFrom) : undefined;
      return {
        at: i18n.dateTime(entry.at),
        atIso: new Date(entry.at).toISOString(),
        text: describe(i18n, entry, linkWords(i18n, madeBy)),
        details: requestedFrom === undefined ? undefined : i18n.t('panel.activity.requestedFrom', { ip: requestedFrom }),
      };
    });
    const older = entries.length > ACTIVITY_PAGE_SIZE ? entries[ACTIVITY_PAGE_SIZE - 1]!.id : undefined;
    renderPanel(ctx, res, 'activity', { title: 'panel.activity.title', tab: 'activity', entries: page, older });
  };
}
