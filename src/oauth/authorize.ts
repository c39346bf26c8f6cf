/**
 * The authorization endpoint (RFC 6749 §4.1.1) and the browser side of the flow:
 *
 *   GET /authorize           validate; store the pending request; bind it to this browser's session; 303 → wait
 *   GET /authorize/wait      the waiting page with the user code (works without JavaScript)
 *   GET /authorize/status    JSON for the waiting page's polling
 *   POST /authorize/renew    "Get a new code": a new user code for the same request (this browser only)
 *   GET /authorize/continue  once approved: release the code to *this* browser only, 303 → redirect_uri
 *
 * Errors before the client and redirect URI are known to be good are shown as a page, never
 * redirected (no open redirector). Later errors go back to the redirect URI (RFC 6749 §4.1.2.1)
 * with `state` and `iss` (RFC 9207).
 */
import type { TLSSocket } from 'node:tls';
import type { Request, RequestHandler, Response } from 'express';
import { TUNABLES } from '../config/tunables.js';
import { newToken, safeEqual } from '../crypto/random.js';
import { formatUserCode } from '../crypto/user-code.js';
import { OAuthError } from '../errors.js';
import { addressKey } from '../http/client-key.js';
import { requestFacts } from '../http/request-facts.js';
import { type MessageKey, serverTimeZone, type Translator } from '../i18n/index.js';
import { PendingRequests } from '../store/index.js';
import type { OAuthContext } from './context.js';
import { type Params, readParams, VSCHAR } from './params.js';
import { CHALLENGE } from './pkce.js';
import { parseScope } from './scope.js';

declare module 'express-session' {
  interface SessionData {
    /**
     * The authorization request this browser started (its id releases the code) and its current
     * user code (the store keeps only an HMAC of it); `csrf` is the per-session token the "Get a
     * new code" form must return. Expiry and renewals are read from the request itself.
     */
    link?: { requestId: string; userCode: string; csrf?: string };
  }
}

/** A state we accept and echo: printable ASCII (VSCHAR), at most maxStateLength characters. */
function usableState(state: string): boolean {
  return state.length <= TUNABLES.oauth.maxStateLength && VSCHAR.test(state);
}

/** What an error page says: catalogue keys, so it is in the reader's language. */
export interface ErrorText {
  title: MessageKey;
  message: MessageKey;
  /** A second, smaller paragraph (why this happened). */
  detail?: MessageKey;
  /** Add the exact steps to start again in the Alexa app, after this lead-in. */
  restart?: MessageKey;
  /** Those steps: `alexa.restart` (for a reader on the page the Alexa app opened) unless set. */
  restartSteps?: MessageKey;
}

/** A page for the person in Alexa's browser: an error that must not be redirected anywhere. */
export function errorPage(res: Response, status: number, text: ErrorText): void {
  res
    .status(status)
    .set('Cache-Control', 'no-store')
    .render('error', { text: { restartSteps: 'alexa.restart', ...text } });
}

/**
 * Going back to the Alexa app is the way on: its own page finishes a link approved elsewhere. The
 * reader may be in another browser, so the steps to start again do not say "close this page".
 */
const NO_REQUEST: ErrorText = {
  title: 'error.noRequest.title',
  message: 'error.noRequest.message',
  detail: 'error.noRequest.why',
  restart: 'error.noRequest.restart',
  restartSteps: 'alexa.restartElsewhere',
};

export function redirectWith(res: Response, redirectUri: string, values: Record<string, string | undefined>): void {
  const target = new URL(redirectUri);
  for (const [name, value] of Object.entries(values)) if (value !== undefined) target.searchParams.append(name, value);
  res.set('Cache-Control', 'no-store').redirect(303, target.href);
}

function single(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

/**
 * Whether this browser would get no session cookie. On an https public URL the cookie is Secure,
 * and express-session sets a Secure cookie only on a TLS connection or, behind a TLS-terminating
 * proxy (its `proxy` option, server/public-app.ts), when the first X-Forwarded-Proto value is
 * `https`. Without the cookie the request could never be finished: linking would fail silently.
 */
function secureCookieRefused(req: Request, https: boolean): boolean {
  if (!https || (req.socket as Partial<TLSSocket>).encrypted === true) return false;
  return req.get('x-forwarded-proto')?.split(',')[0]?.trim().toLowerCase() !== 'https';
}

const INSECURE: ErrorText = { title: 'error.insecure.title', message: 'error.insecure.message', detail: 'error.insecure.why' };

export function authorize(ctx: OAuthContext): RequestHandler {
  const { config, store, clients, logger } = ctx;
  const https = new URL(config.publicUrl).protocol === 'https:';
  let warnedInsecure = false;
  return (req, res, next) => {
    // First the two values that decide whether redirecting is safe at all.
    const query = req.query as Record<string, unknown>;
    const clientId = single(query.client_id);
    const redirectUri = single(query.redirect_uri);
    const client = clientId === undefined ? undefined : clients.find(clientId);
    if (!client?.grants.includes('authorization_code')) {
      errorPage(res, 400, { title: 'error.unknownClient.title', message: 'error.unknownClient.message' });
      return;
    }
    if (redirectUri === undefined || !client.redirectUris.includes(redirectUri)) {
      errorPage(res, 400, { title: 'error.redirect.title', message: 'error.redirect.message' });
      return;
    }
    // Checked once the request is known to be Alexa's, before anything is stored: a request that
    // cannot get its cookie says so to the person, and once to the admin, instead of failing later.
    if (secureCookieRefused(req, https)) {
      if (!warnedInsecure) {
        warnedInsecure = true;
        const proto = req.get('x-forwarded-proto');
        logger.warning(
          `Linking cannot work: public_url is https, but a link request reached this add-on over plain http without "X-Forwarded-Proto: https" ` +
            `(it had ${proto === undefined ? 'no X-Forwarded-Proto' : `X-Forwarded-Proto ${JSON.stringify(proto.slice(0, 40))}`}), ` +
            'so the browser could not be given its Secure session cookie and was shown a "Linking cannot work here" page. ' +
            'If a reverse proxy terminates TLS in front of this add-on, make it send "X-Forwarded-Proto: https" ' +
            '(nginx: proxy_set_header X-Forwarded-Proto $scheme;); without a proxy, turn on the "ssl" option. Logged once until the add-on restarts.',
        );
      }
      errorPage(res, 400, INSECURE);
      return;
    }

    // An unusable state is not echoed back (it could be huge or carry anything).
    const rawState = single(query.state);
    const stateValue = rawState !== undefined && usableState(rawState) ? rawState : undefined;
    const back = (error: OAuthError): void =>
      redirectWith(res, redirectUri, { error: error.code, error_description: error.description, state: stateValue, iss: config.publicUrl });

    let params: Params;
    try {
      params = readParams(query);
      if (params.response_type !== 'code') throw new OAuthError('unsupported_response_type', 'response_type must be code');
      if (params.state !== undefined && !usableState(params.state)) {
        throw new OAuthError('invalid_request', `state must be printable ASCII of at most ${TUNABLES.oauth.maxStateLength} characters`);
      }
      if (params.code_challenge_method !== undefined && params.code_challenge_method !== 'S256') {
        throw new OAuthError('invalid_request', 'code_challenge_method must be S256');
      }
      if (params.code_challenge !== undefined) {
        if (params.code_challenge_method === undefined) throw new OAuthError('invalid_request', 'code_challenge_method must be S256 (plain is not supported)');
        if (!CHALLENGE.test(params.code_challenge)) throw new OAuthError('invalid_request', 'code_challenge must be 43 characters of base64url');
      }
      const scope = parseScope(params.scope);
      if (params.code_challenge === undefined && config.policy.requirePkce) {
        res.status(400).render('pkce-required');
        return;
      }
      const requester = requestFacts(req);
      const created = store.ops.startLink({
        clientId: client.id,
        redirectUri,
        scope,
        state: params.state,
        codeChallenge: params.code_challenge,
        requester,
        requesterKey: addressKey(req.ip ?? ''),
        ttlSeconds: config.policy.renewal.ttlSeconds,
      });
      // A new session id for the new request: a session id planted in this browser beforehand
      // (from a sibling subdomain, over plain http) must not see or receive what this request gets.
      req.session.regenerate((regenerateError) => {
        if (regenerateError) return next(regenerateError);
        req.session.link = { requestId: created.requestId, userCode: created.userCode, csrf: newToken() };
        // The session outlives the first code: after it expires, a reload must still offer a new one.
        req.session.cookie.maxAge = config.policy.renewal.windowSeconds * 1000;
        req.session.save((error) => {
          if (error) return next(error);
          // Relative, so it works behind a proxy that serves us under a path prefix.
          res.set('Cache-Control', 'no-store').redirect(303, 'authorize/wait');
        });
      });
    } catch (error) {
      if (error instanceof OAuthError) back(error);
      else next(error);
    }
  };
}

type LinkState = 'pending' | 'approved' | 'denied' | 'expired' | 'unknown';

interface LinkView {
  state: LinkState;
  expiresAt: number;
  /** Milliseconds until the code expires by the store's clock (the browser's clock may be off). */
  expiresInMs: number;
  /** Whether "Get a new code" would succeed now. */
  renewable: boolean;
  /** How often the request got a new code. */
  renewals: number;
}

function linkView(ctx: OAuthContext, req: Request): LinkView {
  const link = req.session.link;
  const request = link && ctx.store.requests.get(link.requestId);
  const now = ctx.store.now();
  if (!request || request.status === 'completed') return { state: 'unknown', expiresAt: 0, expiresInMs: 0, renewable: false, renewals: 0 };
  const renewable = request.status === 'pending' && PendingRequests.renewalExpiry(request, now, ctx.config.policy.renewal) !== undefined;
  const view = { expiresAt: request.expiresAt, expiresInMs: Math.max(0, request.expiresAt - now), renewable, renewals: request.renewals };
  if (request.status === 'denied') return { state: 'denied', ...view };
  if (request.expiresAt <= now) return { state: 'expired', ...view };
  return { state: request.status, ...view };
}

/** `BCDF-GHJK` → `B C D F` and `G H J K`: letters a screen reader reads one by one, the dash as a pause. */
function spelled(formatted: string): { first: string; second: string } {
  const [first = '', second = ''] = formatted.split('-');
  return { first: first.split('').join(' '), second: second.split('').join(' ') };
}

/** The texts wait.js needs, as JSON in a data block (the CSP allows no inline script). */
function scriptMessages(i18n: Translator): Record<string, string> {
  const keys = {
    waiting: 'wait.waiting',
    approvedFinishing: 'wait.approvedFinishing',
    deniedReturning: 'wait.deniedReturning',
    leftOne: 'wait.left.one',
    leftOther: 'wait.left.other',
    leftUnderMinute: 'wait.leftUnderMinute',
    copied: 'wait.copied',
    copyFailed: 'wait.copyFailed',
    backJs: 'wait.step.backJs',
  } satisfies Record<string, MessageKey>;
  // The page's own format locale: an en-GB reader gets 24-hour times on an English page.
  return { ...Object.fromEntries(Object.entries(keys).map(([name, key]) => [name, i18n.t(key)])), formatLocale: i18n.formatLocale };
}

/** JSON safe inside <script type="application/json">: no `</script>` can end it early. */
function jsonForScript(value: unknown): string {
  return JSON.stringify(value).replace(/</g, '\\u003c');
}

export function waitPage(ctx: OAuthContext): RequestHandler {
  return (req, res) => {
    const link = req.session.link;
    const view = linkView(ctx, req);
    if (!link || view.state === 'unknown') {
      errorPage(res, 400, NO_REQUEST);
      return;
    }
    const i18n = res.locals.i18n as Translator;
    const userCode = formatUserCode(link.userCode);
    res.set('Cache-Control', 'no-store').render('wait', {
      userCode,
      spelled: spelled(userCode),
      state: view.state,
      expiresAt: new Date(view.expiresAt).toISOString(),
      expiresInMs: view.expiresInMs,
      // Without JavaScript the page cannot count down: a time with its zone stays true while the page sits.
      expiryText: `${i18n.time(view.expiresAt)} (${serverTimeZone()})`,
      renewable: view.renewable,
      renewed: view.renewals > 0,
      csrf: link.csrf ?? '',
      panelUrl: ctx.panel.url,
      appUrl: ctx.panel.path === undefined ? undefined : `homeassistant://navigate${ctx.panel.path}`,
      messagesJson: jsonForScript(scriptMessages(i18n)),
    });
  };
}

export function status(ctx: OAuthContext): RequestHandler {
  return (req, res) => {
    const view = linkView(ctx, req);
    // The countdown and the renewal matter only while nothing is decided.
    const open = view.state === 'pending' || view.state === 'expired';
    res.set('Cache-Control', 'no-store').json(open ? { status: view.state, expiresInMs: view.expiresInMs, renewable: view.renewable } : { status: view.state });
  };
}

const RENEW_REFUSED: ErrorText = { title: 'error.renewForbidden.title', message: 'error.renewForbidden.message' };

/**
 * A cross-site form cannot renew: the session cookie is SameSite=Lax (not sent on a cross-site
 * POST), the form must carry this session's token, and an Origin or Sec-Fetch-Site header that
 * names another site is refused. `Origin: null` is allowed: Chrome sends it on a same-origin POST
 * under our Referrer-Policy no-referrer, so the token decides.
 */
function sameSite(req: Request, publicUrl: string): boolean {
  const origin = req.get('origin');
  if (origin !== undefined && origin !== 'null' && origin !== new URL(publicUrl).origin) return false;
  const fetchSite = req.get('sec-fetch-site');
  return fetchSite === undefined || fetchSite === 'same-origin' || fetchSite === 'none';
}

/** POST /authorize/renew: a new user code and expiry for this browser's request, within the bounds. */
export function renew(ctx: OAuthContext): RequestHandler {
  return (req, res, next) => {
    const link = req.session.link;
    if (!link) {
      errorPage(res, 400, NO_REQUEST);
      return;
    }
    const body = (req.body ?? {}) as Record<string, unknown>;
    const token = typeof body.csrf === 'string' ? body.csrf : '';
    if (!link.csrf || !safeEqual(token, link.csrf) || !sameSite(req, ctx.config.publicUrl)) {
      errorPage(res, 403, RENEW_REFUSED);
      return;
    }
    const renewal = ctx.store.ops.renewLink(link.requestId, ctx.config.policy.renewal, requestFacts(req));
    if (renewal.status === 'limit') {
      errorPage(res, 409, { title: 'error.renewLimit.title', message: 'error.renewLimit.message', restart: 'wait.noRenewal' });
      return;
    }
    // Decided or gone meanwhile: the waiting page shows which.
    if (renewal.status === 'gone') {
      res.set('Cache-Control', 'no-store').redirect(303, 'wait');
      return;
    }
    req.session.link = { ...link, userCode: renewal.userCode };
    req.session.save((error) => {
      if (error) return next(error);
      res.set('Cache-Control', 'no-store').redirect(303, 'wait');
    });
  };
}

export function continueLink(ctx: OAuthContext): RequestHandler {
  const { store, config } = ctx;
  return (req, res, next) => {
    const link = req.session.link;
    const request = link && store.requests.get(link.requestId);
    if (!link || !request) {
      errorPage(res, 400, NO_REQUEST);
      return;
    }
    const finish = (values: Record<string, string | undefined>): void => {
      req.session.destroy((error) => {
        if (error) return next(error);
        const https = new URL(config.publicUrl).protocol === 'https:';
        res.clearCookie(sessionCookieName(https), { path: '/', secure: https, httpOnly: true, sameSite: 'lax' });
        redirectWith(res, request.redirectUri, { ...values, state: request.state, iss: config.publicUrl });
      });
    };
    if (request.status === 'denied') {
      finish({ error: 'access_denied', error_description: 'the link was denied in Home Assistant' });
      return;
    }
    if (request.status === 'approved') {
      const released = store.ops.releaseCode(link.requestId, config.policy.codeTtlSeconds, { ip: requestFacts(req).ip });
      if (released) {
        finish({ code: released.code });
        return;
      }
    }
    // Still waiting, or expired: the waiting page says which and offers a new code while it may.
    if (request.status === 'pending') {
      res.set('Cache-Control', 'no-store').redirect(303, 'wait');
      return;
    }
    errorPage(res, 400, { title: 'error.ended.title', message: 'error.ended.message', restart: 'error.noRequest.restart' });
  };
}

/** `__Host-` (RFC 6265bis): only over https, only from this exact host, path `/`, no Domain. */
export function sessionCookieName(https: boolean): string {
  return https ? '__Host-alexa_link_session' : 'alexa_link_session';
}
