/**
 * The ingress listener: the panel in Home Assistant's sidebar. Reached only through the
 * Supervisor's ingress proxy (see ingress-guard.ts), identity only from its headers, every form
 * protected against CSRF, every link under the X-Ingress-Path prefix.
 */
import express, { type Express } from 'express';
import type { Config } from '../config/load.js';
import type { Logger } from '../log/logger.js';
import { storageFault, storageFaultMessage } from '../oauth/http.js';
import { activityPage, dismissNotice, linksPage, revokeLink } from '../panel/accounts.js';
import { renderPanel, type PanelContext } from '../panel/context.js';
import { decide, enterCode, linkPage, wrongCodeKey } from '../panel/link.js';
import type { Store } from '../store/index.js';
import { Csrf } from './csrf.js';
import { FailureBudget } from './failure-budget.js';
import { identify } from './ingress-guard.js';
import { VIEWS_DIR } from './public-app.js';
import { requestLog } from './request-log.js';
import { securityHeaders } from './security-headers.js';

/** Wrong user codes per HA user: 10 per 15 minutes, i.e. 40 an hour against 20^8 codes. */
export const WRONG_CODE_LIMIT = { limit: 10, windowMs: 15 * 60_000 };

export function createIngressApp(deps: { config: Config; store: Store; logger: Logger }): Express {
  const ctx: PanelContext = { ...deps, csrf: new Csrf(deps.store.deriveSecret('csrf')), wrongCodes: new FailureBudget(WRONG_CODE_LIMIT) };
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
  app.use('/assets', express.static(`${VIEWS_DIR}/assets`, { index: false, maxAge: '1h', fallthrough: false }));
  app.use(express.urlencoded({ extended: false, limit: '4kb', parameterLimit: 10 }));

  const check = ctx.csrf.check();
  const wrongCodes = ctx.wrongCodes.guard(
    (_req, res) => wrongCodeKey(res),
    (_req, res) => renderPanel(ctx, res, 'link', { title: 'Link Alexa', tab: 'link', notices: [], code: '', error: 'Too many wrong codes. Wait 15 minutes, then try again.' }, 429),
  );

  app.get('/', linkPage(ctx));
  app.post('/code', check, wrongCodes, enterCode(ctx));
  app.post('/decide', check, decide(ctx));
  app.get('/links', linksPage(ctx));
  app.post('/links/revoke', check, revokeLink(ctx));
  app.get('/activity', activityPage(ctx));
  app.post('/notices/dismiss', check, dismissNotice(ctx));

  app.use((_req, res) => {
    res.status(404).type('text/plain').send('Not found\n');
  });
  app.use(((error, req, res, _next) => {
    const fault = storageFault(error);
    if (fault) {
      deps.logger.error(storageFaultMessage(fault, deps.config.dataDir), { path: req.path, sqlite: fault });
      if (!res.headersSent) res.status(503).set('Retry-After', '5').type('text/plain').send('Alexa Link cannot save right now (see the add-on log). Try again in a moment.\n');
      return;
    }
    const status = typeof (error as { status?: unknown }).status === 'number' && (error as { status: number }).status < 500 ? (error as { status: number }).status : 500;
    if (status === 500) deps.logger.error('Unexpected error in the panel', { error });
    if (!res.headersSent) res.status(status).type('text/plain').send(status === 500 ? 'Something went wrong.\n' : 'Bad request\n');
  }) as express.ErrorRequestHandler);
  return app;
}
