/**
 * The public listener: what Alexa (and Music Assistant) reach. It never reads X-Remote-User-*.
 */
import express, { type Express } from 'express';
import helmet from 'helmet';
import type { Config } from '../config/load.js';
import type { Logger } from '../log/logger.js';
import type { Store } from '../store/index.js';

export interface AppDeps {
  config: Config;
  store: Store;
  logger: Logger;
}

export function createPublicApp({ store }: AppDeps): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', false);
  app.use(helmet({ contentSecurityPolicy: { directives: { 'frame-ancestors': ["'none'"] } } }));

  /** Liveness for the Docker HEALTHCHECK: no secrets, only whether the database answers. */
  app.get('/healthz', (_req, res) => {
    const ok = store.healthy();
    res.status(ok ? 200 : 503).set('Cache-Control', 'no-store').json({ status: ok ? 'ok' : 'unavailable' });
  });
  return app;
}
