/**
 * The ingress listener: the panel in Home Assistant's sidebar. Reached only through the
 * Supervisor's ingress proxy (see ingress-guard.ts), identity only from its headers, every form
 * protected against CSRF, every link under the X-Ingress-Path prefix.
 */
import express, { type Express, type RequestHandler, type Response } from 'express';
import type { Config } from '../config/load.js';
import { TUNABLES } from '../config/tunables.js';
import type { Events } from '../events.js';
import { Csrf } from '../http/csrf.js';
import { errorHandler, type FailureAnswers } from '../http/error-handler.js';
import { FailureBudget } from '../http/failure-budget.js';
import { localize } from '../http/locale.js';
import { requestLog } from '../http/request-log.js';
import { securityHeaders } from '../http/security-headers.js';
import type { Sightings } from '../http/sightings.js';
import { VIEWS_DIR } from '../http/views.js';
import type { Logger } from '../log/logger.js';
import { dismissNotice, linksPage, revokeLink, revokeMemberLink } from '../panel/accounts.js';
import { activityPage } from '../panel/activity.js';
import { i18nOf, type Members, type PanelContext, userOf } from '../panel/context.js';
import { decide, enterCode, linkPage, tooManyWrongCodes, wrongCodeKey } from '../panel/link.js';
import { isAdmin, type Roles } from '../panel/roles.js';
import { setupPage } from '../panel/setup.js';
import type { Store } from '../store/index.js';
import { identify } from './ingress-guard.js';

/** The panel's answers to failures: short plain text inside Home Assistant's frame. */
const panelAnswers: FailureAnswers<Response> = {
  unavailable: (res, retryAfterSeconds) =>
    res
      .status(503)
      .set('Retry-After', String(retryAfterSeconds))
      .type('text/plain')
      .send(`${i18nOf(res).t('panel.answer.unavailable')}\n`),
  refused: (res, _error, status) =>
    res
      .status(status)
      .type('text/plain')
      .send(`${i18nOf(res).t('panel.answer.badRequest')}\n`),
  failed: (res) =>
    res
      .status(500)
      .type('text/plain')
      .send(`${i18nOf(res).t('panel.answer.failed')}\n`),
};

/** Whether the signed-in person is a Home Assistant administrator, for the tab row and the Setup page; unknown is no. */
function adminFlag(roles: Roles): RequestHandler {
  return async (_req, res, next) => {
    res.locals.admin = await isAdmin(roles, userOf(res).id);
    next();
  };
}

const notFound: RequestHandler = (_req, res) => {
  res
    .status(404)
    .type('text/plain')
    .send(`${i18nOf(res).t('panel.answer.notFound')}\n`);
};

export function createIngressApp(deps: {
  config: Config;
  store: Store;
  logger: Logger;
  events: Events;
  roles: Roles;
  members: Members;
  sightings: Sightings;
}): Express {
  const ctx: PanelContext = { ...deps, csrf: new Csrf(deps.store.deriveSecret('csrf')), wrongCodes: new FailureBudget(TUNABLES.limits.wrongCodes) };
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.set('trust proxy', false);
  app.set('views', VIEWS_DIR);
  app.set('view engine', 'ejs');

  app.use(requestLog(deps.logger, 'ingress'));
  // The panel lives in Home Assistant's iframe, served through the same origin; HA does the TLS.
  app.use(securityHeaders({ frameAncestors: "'self'", https: false, hsts: false, referrer: 'same-origin' }));
  app.use(identify);
  app.use(localize());
  app.use('/assets', express.static(`${VIEWS_DIR}/assets`, { index: false, maxAge: '1h', fallthrough: false }));
  app.use(express.urlencoded({ extended: false, limit: TUNABLES.http.panelBodyLimit, parameterLimit: TUNABLES.http.panelParameterLimit }));
  app.use(adminFlag(deps.roles));

  const check = ctx.csrf.check();
  const wrongCodes = ctx.wrongCodes.guard((_req, res) => wrongCodeKey(res), tooManyWrongCodes(ctx));

  app.get('/', linkPage(ctx));
  app.post('/code', check, wrongCodes, enterCode(ctx));
  app.post('/decide', check, decide(ctx));
  app.get('/links', linksPage(ctx));
  app.post('/links/revoke', check, revokeLink(ctx));
  app.post('/household/revoke', check, revokeMemberLink(ctx));
  app.get('/activity', activityPage(ctx));
  app.post('/notices/dismiss', check, dismissNotice(ctx));
  app.get('/setup', setupPage(ctx, notFound));

  app.use(notFound);
  app.use(errorHandler(deps.logger, deps.config.dataDir, panelAnswers));
  return app;
}
