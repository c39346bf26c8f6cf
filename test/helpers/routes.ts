/**
 * The paths an Express app answers, read from its router (and the public front door's table,
 * http/path-table.ts), so a test that must reach every endpoint cannot miss a new one. Both apps are built here with
 * real parts, as app.ts builds them, without listening.
 */
import type { Express } from 'express';
import { Events } from '../../src/events.js';
import { Sightings } from '../../src/http/sightings.js';
import { NO_NAMES } from '../../src/panel/context.js';
import { NO_ADMINS } from '../../src/panel/roles.js';
import { createIngressApp } from '../../src/server/ingress-app.js';
import { createPublicApp, type PublicListener } from '../../src/server/public-app.js';
import { skillGuard } from '../../src/skill/endpoint.js';
import { memoryLogger } from './logger.js';
import { loadConfigFor } from './setup.js';
import { openStore } from './store.js';

interface Layer {
  route?: { path: string | string[] };
  rawPath?: string;
  handle: { stack?: Layer[]; paths?: string[] };
}

function walk(stack: readonly Layer[], prefix: string, into: Set<string>): void {
  for (const layer of stack) {
    const mount = layer.rawPath && layer.rawPath !== '/' ? prefix + layer.rawPath : prefix;
    if (layer.route) for (const path of [layer.route.path].flat()) into.add(prefix + path);
    else if (layer.handle.stack) walk(layer.handle.stack, mount, into);
    else if (layer.handle.paths) for (const path of layer.handle.paths) into.add(mount + path);
  }
}

/** Every route path of `app` (an Express app, or the public listener: its table and its Express app), sorted. */
export function routePaths(app: Express | PublicListener): string[] {
  const paths = new Set<string>();
  let express: Express;
  if ('paths' in app) {
    for (const path of app.paths) paths.add(path);
    express = app.app;
  } else express = app;
  walk((express as unknown as { router: { stack: Layer[] } }).router.stack, '', paths);
  return [...paths].sort();
}

/** The public and the ingress app, built as app.ts builds them (the skill guard on). */
export function buildApps(): { publicApp: PublicListener; ingressApp: Express; close: () => void } {
  const config = loadConfigFor({ alexa_skill_id: 'amzn1.ask.skill.00000000-0000-0000-0000-000000000000', skill_backend_url: 'http://127.0.0.1:9/skill' });
  const { store } = openStore({ dataDir: config.dataDir, keys: config.encryptionKeys });
  const { logger } = memoryLogger('error');
  const events = new Events(logger);
  const sightings = new Sightings();
  const skill = skillGuard({ config, store, logger, sightings });
  const publicApp = createPublicApp({ config, store, logger, events, sightings, panel: { url: undefined } }, skill);
  const ingressApp = createIngressApp({ config, store, logger, events, roles: NO_ADMINS, members: NO_NAMES, sightings });
  return {
    publicApp,
    ingressApp,
    close: () => {
      skill.close();
      store.close();
    },
  };
}
