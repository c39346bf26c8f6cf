/**
 * Link Alexa: the person types the code from the Alexa page, sees what is asking and decides.
 * GET / · POST /code · POST /decide
 */
import type { Request, RequestHandler, Response } from 'express';
import { minutes, TUNABLES } from '../config/tunables.js';
import { normalizeUserCode, USER_CODE_HINT, USER_CODE_MAX_INPUT } from '../crypto/user-code.js';
import { pseudonym } from '../log/redact.js';
import { type PanelContext, renderPanel, userOf, when } from './context.js';

const BROWSERS: ReadonlyArray<[RegExp, string]> = [
  [/\bEdg(A|iOS)?\//, 'Edge'],
  [/\bSamsungBrowser\//, 'Samsung Internet'],
  [/\b(Firefox|FxiOS)\//, 'Firefox'],
  [/\b(Chrome|CriOS)\//, 'Chrome'],
  [/\bSafari\//, 'Safari'],
];
/** In this order: an Android User-Agent also says "Linux", an iPhone's also says "Mac OS X". */
const PLATFORMS: ReadonlyArray<[RegExp, string]> = [
  [/\bAndroid\b/, 'Android'],
  [/\biPhone\b/, 'iPhone'],
  [/\biPad\b/, 'iPad'],
  [/\bWindows\b/, 'Windows'],
  [/\bMac OS X\b/, 'macOS'],
  [/\bCrOS\b/, 'ChromeOS'],
  [/\bLinux\b/, 'Linux'],
];

/**
 * What the requesting browser says it is, shortened from its User-Agent. It is the browser's own
 * claim (anyone can send any User-Agent), and the page labels it so; nothing is inferred from it.
 */
export function describeBrowser(userAgent: string): string {
  const browser = BROWSERS.find(([pattern]) => pattern.test(userAgent))?.[1] ?? 'an unknown browser';
  const platform = PLATFORMS.find(([pattern]) => pattern.test(userAgent))?.[1] ?? 'an unknown system';
  return `${browser} on ${platform}`;
}

/** The wrong-code budget is per HA user: the panel is only reachable signed in. */
export function wrongCodeKey(res: Response): string {
  return `user:${userOf(res).id}`;
}

/** The Link Alexa page with its Code field, optionally with what was typed and what is wrong. */
function renderLinkPage(ctx: PanelContext, res: Response, form: { code: string; error: string | undefined }, status = 200): void {
  renderPanel(ctx, res, 'link', { title: 'Link Alexa', tab: 'link', notices: ctx.store.notices.forSubject(userOf(res).id), ...form }, status);
}

export function linkPage(ctx: PanelContext): RequestHandler {
  return (_req, res) => renderLinkPage(ctx, res, { code: '', error: undefined });
}

/** The answer once a person's wrong-code budget is spent. */
export function tooManyWrongCodes(ctx: PanelContext): (req: Request, res: Response) => void {
  return (_req, res) =>
    renderLinkPage(ctx, res, { code: '', error: `Too many wrong codes. Wait ${minutes(TUNABLES.limits.wrongCodes.windowMs)}, then try again.` }, 429);
}

export function enterCode(ctx: PanelContext): RequestHandler {
  return (req, res) => {
    const typed = typeof req.body?.code === 'string' ? (req.body.code as string).slice(0, USER_CODE_MAX_INPUT) : '';
    const code = normalizeUserCode(typed);
    const request = code === undefined ? undefined : ctx.store.requests.findPendingByUserCode(code);
    if (!request) {
      // Only wrong codes count against the user's budget, never the right ones.
      ctx.wrongCodes.record(wrongCodeKey(res));
      const error =
        code === undefined
          ? USER_CODE_HINT
          : `No link request is waiting with this code. Check the code on the Alexa page; a code is valid for ${minutes(TUNABLES.oauth.pendingRequestTtlSeconds * 1000)}.`;
      renderLinkPage(ctx, res, { code: typed, error }, 404);
      return;
    }
    renderPanel(ctx, res, 'confirm', {
      title: 'Approve Alexa link',
      tab: 'link',
      handle: request.handle,
      redirectHost: new URL(request.redirectUri).host,
      scopes: request.scope.split(' '),
      askedAt: when(request.createdAt),
      askedAtIso: new Date(request.createdAt).toISOString(),
      ip: request.requester.ip,
      browser: describeBrowser(request.requester.userAgent),
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
      renderPanel(ctx, res, 'done', { title: 'Link Alexa', tab: 'link', outcome: 'gone', continueUrl: undefined }, 409);
      return;
    }
    ctx.logger.info(decision === 'approved' ? 'An Alexa link request was approved' : 'An Alexa link request was denied', { user: pseudonym(user.id) });
    renderPanel(ctx, res, 'done', {
      title: 'Link Alexa',
      tab: 'link',
      outcome: decision,
      continueUrl: `${ctx.config.publicUrl}/authorize/continue`,
    });
  };
}
