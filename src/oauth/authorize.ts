/**
 * The authorization endpoint (RFC 6749 §4.1.1) and the browser side of the flow:
 *
 *   GET /authorize           validate; store the pending request; bind it to this browser's session; 303 → wait
 *   GET /authorize/wait      the waiting page with the user code (works without JavaScript)
 *   GET /authorize/status    JSON for the waiting page's polling
 *   GET /authorize/continue  once approved: release the code to *this* browser only, 303 → redirect_uri
 *
 * Errors before the client and redirect URI are known to be good are shown as a page, never
 * redirected (no open redirector). Later errors go back to the redirect URI (RFC 6749 §4.1.2.1)
 * with `state` and `iss` (RFC 9207).
 */
import type { Request, RequestHandler, Response } from 'express';
import { TUNABLES } from '../config/tunables.js';
import { formatUserCode } from '../crypto/user-code.js';
import { OAuthError } from '../errors.js';
import { requestFacts } from '../http/request-facts.js';
import type { OAuthContext } from './context.js';
import { type Params, readParams, VSCHAR } from './params.js';
import { CHALLENGE } from './pkce.js';
import { parseScope } from './scope.js';

declare module 'express-session' {
  interface SessionData {
    /** The authorization request this browser started (its id releases the code). */
    link?: { requestId: string; userCode: string; expiresAt: number };
  }
}

/** A state we accept and echo: printable ASCII (VSCHAR), at most maxStateLength characters. */
function usableState(state: string): boolean {
  return state.length <= TUNABLES.oauth.maxStateLength && VSCHAR.test(state);
}

/** A page for the person in Alexa's browser: an error that must not be redirected anywhere. */
export function errorPage(res: Response, status: number, title: string, message: string): void {
  res.status(status).render('error', { title, message });
}

export function redirectWith(res: Response, redirectUri: string, values: Record<string, string | undefined>): void {
  const target = new URL(redirectUri);
  for (const [name, value] of Object.entries(values)) if (value !== undefined) target.searchParams.append(name, value);
  res.set('Cache-Control', 'no-store').redirect(303, target.href);
}

function single(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

export function authorize(ctx: OAuthContext): RequestHandler {
  const { config, store, clients } = ctx;
  return (req, res, next) => {
    // First the two values that decide whether redirecting is safe at all.
    const query = req.query as Record<string, unknown>;
    const clientId = single(query.client_id);
    const redirectUri = single(query.redirect_uri);
    const client = clientId === undefined ? undefined : clients.find(clientId);
    if (!client?.grants.includes('authorization_code')) {
      errorPage(
        res,
        400,
        'Unknown application',
        'This link request does not come from the Alexa skill this server is set up for. Start linking again from the Alexa app.',
      );
      return;
    }
    if (redirectUri === undefined || !client.redirectUris.includes(redirectUri)) {
      errorPage(
        res,
        400,
        'Unexpected return address',
        'The return address (redirect URI) of this request is not one of the allowed ones. If you run this server, check the vendor id and redirect URIs in the add-on options against the Alexa developer console.',
      );
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
      if (params.code_challenge === undefined && config.requirePkce) {
        res.status(400).render('pkce-required', { title: 'PKCE is required' });
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
        ttlSeconds: TUNABLES.oauth.pendingRequestTtlSeconds,
      });
      // A new session id for the new request: a session id planted in this browser beforehand
      // (from a sibling subdomain, over plain http) must not see or receive what this request gets.
      req.session.regenerate((regenerateError) => {
        if (regenerateError) return next(regenerateError);
        req.session.link = { requestId: created.requestId, userCode: created.userCode, expiresAt: created.expiresAt };
        req.session.cookie.maxAge = TUNABLES.oauth.pendingRequestTtlSeconds * 1000;
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

function linkState(ctx: OAuthContext, req: Request): LinkState {
  const link = req.session.link;
  if (!link) return 'unknown';
  const request = ctx.store.requests.get(link.requestId);
  if (!request || request.status === 'completed') return 'unknown';
  if (request.status === 'denied') return 'denied';
  if (request.expiresAt <= ctx.store.now()) return 'expired';
  return request.status;
}

export function waitPage(ctx: OAuthContext): RequestHandler {
  return (req, res) => {
    const link = req.session.link;
    const state = linkState(ctx, req);
    if (!link || state === 'unknown') {
      errorPage(res, 400, 'No link request in this browser', 'This browser has no link request waiting. Start linking again from the Alexa app.');
      return;
    }
    res.set('Cache-Control', 'no-store').render('wait', {
      title: 'Link Alexa',
      userCode: formatUserCode(link.userCode),
      expiresAt: new Date(link.expiresAt).toISOString(),
      state,
      panelUrl: ctx.panel.url,
    });
  };
}

export function status(ctx: OAuthContext): RequestHandler {
  return (req, res) => {
    res.set('Cache-Control', 'no-store').json({ status: linkState(ctx, req) });
  };
}

export function continueLink(ctx: OAuthContext): RequestHandler {
  const { store, config } = ctx;
  return (req, res, next) => {
    const link = req.session.link;
    const request = link && store.requests.get(link.requestId);
    if (!link || !request) {
      errorPage(
        res,
        400,
        'No link request in this browser',
        'Only the browser that started linking in the Alexa app can finish it. Start linking again from the Alexa app.',
      );
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
      const released = store.ops.releaseCode(link.requestId, TUNABLES.oauth.authorizationCodeTtlSeconds, { ip: requestFacts(req).ip });
      if (released) {
        finish({ code: released.code });
        return;
      }
    }
    if (request.status === 'pending' && request.expiresAt > store.now()) {
      res.set('Cache-Control', 'no-store').redirect(303, 'wait');
      return;
    }
    errorPage(res, 400, 'This link request has ended', 'It expired or was already used. Start linking again from the Alexa app.');
  };
}

/** `__Host-` (RFC 6265bis): only over https, only from this exact host, path `/`, no Domain. */
export function sessionCookieName(https: boolean): string {
  return https ? '__Host-alexa_link_session' : 'alexa_link_session';
}
