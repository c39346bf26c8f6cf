/**
 * Link Alexa: the person types the code from the Alexa page, sees what is asking and decides.
 * GET / · POST /code · POST /decide
 */
import type { Request, RequestHandler, Response } from 'express';
import { TUNABLES } from '../config/tunables.js';
import { formatUserCode, normalizeUserCode, USER_CODE_EXAMPLE, USER_CODE_LENGTH, USER_CODE_MAX_INPUT } from '../crypto/user-code.js';
import { translator } from '../i18n/index.js';
import { pseudonym } from '../log/redact.js';
import { i18nOf, moment, type PanelContext, renderPanel, userOf } from './context.js';
import { browserText, describeDevice, deviceText, regionText, scopeTexts } from './describe.js';

/**
 * "Chrome 120 on Android phone": a User-Agent in one English line (what the tests read); the
 * pages use describe.ts in the reader's language.
 */
export function describeBrowser(userAgent: string): string {
  const en = translator('en');
  const device = describeDevice(userAgent);
  return `${browserText(en, device) ?? 'an unknown browser'} on ${deviceText(en, device) ?? 'an unknown device'}`;
}

/** The wrong-code budget is per HA user: the panel is only reachable signed in. */
export function wrongCodeKey(res: Response): string {
  return `user:${userOf(res).id}`;
}

/** The Link Alexa page with its Code field, optionally with what was typed and what is wrong. */
function renderLinkPage(ctx: PanelContext, res: Response, form: { code: string; error: string | undefined }, status = 200): void {
  const notices = ctx.store.notices.forSubject(userOf(res).id, { relink: ctx.config.relinkNotice });
  renderPanel(ctx, res, 'link', { title: 'panel.link.title', tab: 'link', notices, ...form }, status);
}

export function linkPage(ctx: PanelContext): RequestHandler {
  return (_req, res) => renderLinkPage(ctx, res, { code: '', error: undefined });
}

/** The answer once a person's wrong-code budget is spent. */
export function tooManyWrongCodes(ctx: PanelContext): (req: Request, res: Response) => void {
  return (_req, res) =>
    renderLinkPage(ctx, res, { code: '', error: i18nOf(res).plural('panel.error.tooManyCodes', TUNABLES.limits.wrongCodes.windowMs / 60_000) }, 429);
}

export function enterCode(ctx: PanelContext): RequestHandler {
  return (req, res) => {
    const typed = typeof req.body?.code === 'string' ? (req.body.code as string).slice(0, USER_CODE_MAX_INPUT) : '';
    const code = normalizeUserCode(typed);
    const request = code === undefined ? undefined : ctx.store.requests.findPendingByUserCode(code);
    if (!request || code === undefined) {
      // Only wrong codes count against the user's budget, never the right ones.
      ctx.wrongCodes.record(wrongCodeKey(res));
      const i18n = i18nOf(res);
      const error =
        code === undefined
          ? i18n.t('panel.error.codeShape', { length: USER_CODE_LENGTH, example: USER_CODE_EXAMPLE })
          : i18n.plural('panel.error.noRequest', ctx.config.policy.renewal.ttlSeconds / 60);
      renderLinkPage(ctx, res, { code: typed, error }, 404);
      return;
    }
    // Seen by a person: the bound on unseen requests never evicts it now.
    ctx.store.requests.markShown(request.handle);
    const i18n = i18nOf(res);
    const device = describeDevice(request.requester.userAgent);
    renderPanel(ctx, res, 'confirm', {
      title: 'panel.confirm.title',
      tab: 'link',
      handle: request.handle,
      userCode: formatUserCode(code),
      region: regionText(i18n, request.redirectUri),
      scopes: scopeTexts(i18n, request.scope),
      asked: moment(i18n, request.createdAt, ctx.store.now()),
      device: deviceText(i18n, device) ?? i18n.t('panel.device.unknown'),
      // The address and the browser are for the careful reader: one muted line.
      details: { ip: request.requester.ip, browser: device.browser === 'inApp' ? undefined : browserText(i18n, device), inApp: device.browser === 'inApp' },
    });
  };
}

export function decide(ctx: PanelContext): RequestHandler {
  return (req, res) => {
    const user = userOf(res);
    const body = (req.body ?? {}) as Record<string, unknown>;
    const decision = body.decision === 'approve' ? 'approved' : body.decision === 'deny' ? 'denied' : undefined;
    const handle = typeof body.handle === 'string' ? body.handle : '';
    if (!decision || !ctx.store.ops.decideLink(handle, decision, user)) {
      renderPanel(ctx, res, 'done', { title: 'panel.link.title', tab: 'link', outcome: 'gone', continueUrl: undefined }, 409);
      return;
    }
    ctx.logger.info(decision === 'approved' ? 'An Alexa link request was approved' : 'An Alexa link request was denied', { user: pseudonym(user.id) });
    renderPanel(ctx, res, 'done', {
      title: 'panel.link.title',
      tab: 'link',
      outcome: decision,
      continueUrl: `${ctx.config.publicUrl}/authorize/continue`,
    });
  };
}
