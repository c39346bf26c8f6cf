/**
 * The public listener: what Alexa (and Music Assistant) reach. It never reads X-Remote-User-*.
 */
import type { ServerResponse } from 'node:http';
import express, { type Express, type Request, type RequestHandler, type Response } from 'express';
import { proxyAddr, session } from '../commonjs.js';
import { TUNABLES } from '../config/tunables.js';
import { isLoopbackHost } from '../config/validate.js';
import { OAuthError } from '../errors.js';
import type { ApiRequest, ApiStep } from '../http/api-request.js';
import { errorHandler } from '../http/error-handler.js';
import { FailureBudget } from '../http/failure-budget.js';
import { formBody } from '../http/form-body.js';
import { limiter } from '../http/limits.js';
import { localize } from '../http/locale.js';
import { type FrontDoor, pathTable } from '../http/path-table.js';
import { requestLog } from '../http/request-log.js';
import { jsonApiHeaders, securityHeaders } from '../http/security-headers.js';
import type { Sightings } from '../http/sightings.js';
import { VIEWS_DIR } from '../http/views.js';
import type { Logger } from '../log/logger.js';
import { authorize, continueLink, errorPage, renew, sessionCookieName, status, waitPage } from '../oauth/authorize.js';
import { clientRegistry, hasCorrectCredentials } from '../oauth/clients.js';
import type { OAuthContext } from '../oauth/context.js';
import { jsonTooMany, methodNotAllowed, oauthAnswers, sendOAuthError } from '../oauth/http.js';
import { introspect } from '../oauth/introspect.js';
import { metadata } from '../oauth/metadata.js';
import { revoke } from '../oauth/revoke.js';
import { token } from '../oauth/token.js';
import type { SkillGuard } from '../skill/off.js';

export type AppDeps = Omit<OAuthContext, 'clients' | 'failedClientAuth'>;

const RATE_LIMITS = TUNABLES.limits;

/** Relative path from the current page to the site root, so pages work under a proxy's path prefix. */
const assetBase: RequestHandler = (req, res, next) => {
  const depth = req.path.split('/').length - 2;
  res.locals.assetBase = depth > 0 ? '../'.repeat(depth) : './';
  next();
};

/** Peers warned about, at most: a warning is for the admin, not a log an attacker can fill. */
const MAX_WARNED_PEERS = 100;

/**
 * X-Forwarded-For from a peer not in `trusted_proxies` is ignored (right); this says so once per
 * peer address, because behind an unlisted proxy every limit counts the proxy as one client.
 */
function untrustedForwardingWarning(
  trusted: (address: string, hop: number) => boolean,
  trustedProxies: readonly string[],
  logger: Logger,
  sightings: Sightings,
): ApiStep {
  const warned = new Set<string>();
  return (req, _res, next) => {
    const peer = req.socket.remoteAddress ?? '';
    const forwarded = req.headers['x-forwarded-for'] !== undefined;
    // What the Setup page's trusted_proxies check compares with the option.
    sightings.notePeer(peer, forwarded, forwarded && trusted(peer, 0));
    if (forwarded && !warned.has(peer) && warned.size < MAX_WARNED_PEERS && !trusted(peer, 0)) {
      warned.add(peer);
      logger.warning(
        `X-Forwarded-For from ${peer} is ignored: that address is not in the "trusted_proxies" option (${trustedProxies.length > 0 ? trustedProxies.join(', ') : 'empty'}). ` +
          'Every limit counts all requests through it as one client. If it is your reverse proxy, add it to "trusted_proxies".',
      );
    }
    next();
  };
}

/** The public listener: the front door, and the Express app behind it (for a walk over its routes). */
export type PublicListener = FrontDoor & { app: Express };

/** `skill`: the skill guard's handlers (POST /skill), made and closed by the caller (app.ts). */
export function createPublicApp(deps: AppDeps, skill: SkillGuard): PublicListener {
  const { config, store, logger } = deps;
  const ctx: OAuthContext = { ...deps, clients: clientRegistry(config), failedClientAuth: new FailureBudget(RATE_LIMITS.failedClientAuth) };
  const publicUrl = new URL(config.publicUrl);
  const https = publicUrl.protocol === 'https:';
  const redirectOrigins = [...new Set(config.alexa.redirectUris.map((uri) => new URL(uri).origin))];
  // HSTS only where a browser would keep it: on https, not for a loopback host.
  const hsts = https && !isLoopbackHost(publicUrl.hostname);
  // Only the listed proxies' X-Forwarded-For is believed; the front door and Express share this.
  const trust = proxyAddr.compile(config.trustedProxies);

  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.set('trust proxy', trust);
  app.set('views', VIEWS_DIR);
  app.set('view engine', 'ejs');

  const log = requestLog(logger, 'public');
  const forwarding = untrustedForwardingWarning(trust, config.trustedProxies, logger, deps.sightings);
  app.use(log, forwarding);
  // Form bodies only, small, one error format, JSON answers with the headers JSON needs.
  const form = formBody({ maxBytes: TUNABLES.http.formBodyBytes, maxParameters: TUNABLES.http.formParameterLimit });
  // Past its request limit an address is refused, except a request with correct client credentials
  // (HTTP Basic or in the form, so the form is read for them): a shared address must not let a
  // stranger cut Alexa or Music Assistant off. Guessing stays bounded by the limit and the failure budget.
  const correctCredentials = (req: ApiRequest, res: ServerResponse): Promise<boolean> =>
    new Promise((answered) => form(req, res, (error?: unknown) => answered(error === undefined && hasCorrectCredentials(ctx.clients, req))));
  // /token and /revoke share one budget per address.
  const tokenLimit = limiter(RATE_LIMITS.token, jsonTooMany, correctCredentials);
  const introspectLimit = limiter(RATE_LIMITS.introspect, jsonTooMany, correctCredentials);
  const jsonHeaders = jsonApiHeaders({ hsts });
  const failed = errorHandler(logger, config.dataDir, oauthAnswers);
  app.use(
    securityHeaders({
      frameAncestors: "'none'",
      formTargets: redirectOrigins,
      https,
      hsts,
      referrer: 'no-referrer',
    }),
  );

  app.get('/healthz', (_req, res) => {
    const ok = store.healthy();
    res
      .status(ok ? 200 : 503)
      .set('Cache-Control', 'no-store')
      .json({ status: ok ? 'ok' : 'unavailable' });
  });
  app.get('/.well-known/oauth-authorization-server', metadata(ctx));
  app.use('/assets', express.static(`${VIEWS_DIR}/assets`, { index: false, maxAge: '1h', fallthrough: false }));

  // The browser part of the flow: a session cookie binds the request to the browser that started it.
  const browser = express.Router();
  browser.use(assetBase);
  browser.use(localize());
  // Sessions only where the browser flow needs them, not on every API request.
  browser.use(
    '/authorize',
    session({
      // __Host-: on https the browser refuses this cookie from a sibling subdomain or plain http.
      name: sessionCookieName(https),
      secret: store.deriveSecret('session-cookie').toString('base64'),
      store: store.sessions,
      resave: false,
      saveUninitialized: false,
      // With an https public URL behind a TLS-terminating proxy, X-Forwarded-Proto decides only
      // whether the Secure cookie is sent; it grants nothing.
      proxy: https && !config.tls ? true : undefined,
      // As long as a request can still get a new code (authorize.ts sets the same on the new session).
      cookie: { httpOnly: true, secure: https, sameSite: 'lax', path: '/', maxAge: config.policy.renewal.windowSeconds * 1000 },
    }),
  );
  const tooManyPages = (_req: Request, res: Response): void => errorPage(res, 429, { title: 'error.tooMany.title', message: 'error.tooMany.message' });
  browser.get('/authorize', limiter(RATE_LIMITS.authorize, tooManyPages), authorize(ctx));
  // Limited like the status poll: a page view is cheap, but not free.
  browser.get('/authorize/wait', limiter(RATE_LIMITS.status, tooManyPages), waitPage(ctx));
  browser.get('/authorize/status', limiter(RATE_LIMITS.status, jsonTooMany), status(ctx));
  browser.get('/authorize/continue', limiter(RATE_LIMITS.status, tooManyPages), continueLink(ctx));
  // "Get a new code": a small form (one token); a body that cannot be read is a 400 page, not JSON.
  const renewForm = express.urlencoded({ extended: false, limit: TUNABLES.http.panelBodyLimit, parameterLimit: TUNABLES.http.panelParameterLimit });
  browser.post(
    '/authorize/renew',
    limiter(RATE_LIMITS.renew, tooManyPages),
    (req, res, next) =>
      renewForm(req, res, (error?: unknown) =>
        error ? errorPage(res, 400, { title: 'error.renewForbidden.title', message: 'error.renewForbidden.message' }) : next(),
      ),
    renew(ctx),
  );
  // A renewal is a POST; anything else (a reload of its address) goes back to the waiting page.
  browser.all('/authorize/renew', (_req, res) => res.set('Cache-Control', 'no-store').redirect(303, 'wait'));
  app.use(browser);

  // The skill's endpoint: its own body reader (raw bytes, for the signature) and its own answers.
  app.post('/skill', ...skill.handler);
  app.all('/skill', methodNotAllowed('POST'));

  app.use((_req, res) => sendOAuthError(res, new OAuthError('invalid_request', 'not found', 404)));
  app.use(failed);

  // The protocol endpoints, ahead of Express (http/path-table.ts says why).
  const door = pathTable(
    {
      '/token': { method: 'POST', steps: [tokenLimit, form, token(ctx)] },
      '/revoke': { method: 'POST', steps: [tokenLimit, form, revoke(ctx)] },
      '/introspect': { method: 'POST', steps: [introspectLimit, form, introspect(ctx)] },
    },
    {
      // Every answer of the table is JSON, a 405 included.
      before: [log, forwarding, jsonHeaders],
      wrongMethod: methodNotAllowed,
      trust,
      failed: (error, req, res) => failed(error, req, res, () => undefined),
      fallback: app,
    },
  );
  return Object.assign(door, { app });
}
