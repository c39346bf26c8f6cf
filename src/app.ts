/**
 * Start-up and shutdown, shared by `main.ts` and the tests: open the store, start the listeners,
 * and on close finish in-flight requests, checkpoint the WAL and close the database.
 */

import { readFileSync } from 'node:fs';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ensureSnapshot, restoreFromSnapshot, writeSnapshot } from './backup.js';
import { http } from './commonjs.js';
import type { Config } from './config/load.js';
import { TUNABLES } from './config/tunables.js';
import { Events } from './events.js';
import { CoreRoles } from './ha/core-users.js';
import { Sightings } from './http/sightings.js';
import type { Logger } from './log/logger.js';
import { startNotifier } from './notifier.js';
import { NO_NAMES } from './panel/context.js';
import { NO_ADMINS, type Roles } from './panel/roles.js';
import { guardConnections } from './server/ingress-guard.js';
import { createPublicApp } from './server/public-app.js';
import { SetupChecks, worst } from './setup/checks.js';
import { summaryBlock } from './setup/words.js';
import { skillGuardOff } from './skill/off.js';
import { previousKeysInUse, Store } from './store/index.js';
import { addonSlug, panelPath, panelUrl, Supervisor } from './supervisor.js';

export interface RunningApp {
  store: Store;
  events: Events;
  publicServer: Server;
  ingressServer: Server;
  publicUrl: string;
  ingressUrl: string;
  /** Settles when the background re-encryption (if any) has finished. */
  reencryption: Promise<void>;
  close(): Promise<void>;
}

function listen(server: Server, port: number, host: string): Promise<AddressInfo> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve(server.address() as AddressInfo);
    });
  });
}

/** host:port of a listening address, IPv6 in brackets, for URLs. */
function hostPort(address: AddressInfo): string {
  return `${address.family === 'IPv6' ? `[${address.address}]` : address.address}:${address.port}`;
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    if (!server.listening) return resolve();
    // Keep-alive clients are told to go: a busy connection would otherwise hold close() open.
    server.on('request', (_req, res: ServerResponse) => res.setHeader('Connection', 'close'));
    server.close(() => resolve());
    // Idle keep-alive sockets would hold close() open; requests in flight still finish.
    server.closeIdleConnections();
  });
}

/**
 * With previous keys configured, moves every value to the current key in the background, one
 * batch per event-loop turn, and says when the old keys are no longer needed. Then the backup
 * snapshot is written again, so that it needs no old key either.
 */
async function reencryptInBackground(store: Store, config: Config, logger: Logger, stopped: () => boolean): Promise<void> {
  if (config.encryptionKeys.length < 2) return;
  logger.info('Re-encrypting stored data under the current encryption key');
  const steps = store.reencryptSteps(TUNABLES.store.backgroundReencryptBatch);
  for (;;) {
    if (stopped()) return;
    const step = steps.next();
    if (step.done) {
      const usage = store.keyUsage();
      if (!previousKeysInUse(usage) && usage.unreadable === 0) {
        logger.notice(
          `Re-encryption done (${step.value.reencrypted} values moved). Every value is under the current key: "previous_encryption_keys" can now be emptied.`,
        );
        try {
          writeSnapshot(store, config.dataDir);
        } catch (error) {
          logger.error('Writing the backup snapshot after re-encryption failed; it is written again at the next backup or stop', { error });
        }
      } else {
        logger.warning('Re-encryption finished, but some values still need a previous key', { perKey: usage.perKey, unreadable: usage.unreadable });
      }
      return;
    }
    await new Promise((resolve) => setImmediate(resolve));
  }
}

/**
 * `now`: the store's clock (token times, expiry); tests set it to step over time-based rules.
 * `roles`: who is a Home Assistant administrator; tests inject their own.
 */
export async function startApp(config: Config, logger: Logger, options: { now?: () => number; roles?: Roles } = {}): Promise<RunningApp> {
  restoreFromSnapshot(config.dataDir, config.encryptionKeys, logger);
  const store = Store.open({ dataDir: config.dataDir, encryptionKeys: config.encryptionKeys, now: options.now });
  try {
    if (store.rotation) {
      const { dropped, unattributed } = store.rotation;
      logger.notice(
        'The encryption key changed: a new index key replaces the old one (token signatures, user lookups, cookie secrets). ' +
          `Every link keeps working; access tokens issued before stay valid for at most ${config.policy.lifetimes.accessTokenTtlSeconds / 60} minutes.`,
        { dropped, unattributed },
      );
    }
    ensureSnapshot(store, config.dataDir, logger);
    // A revocation is never undone by a restore of the snapshot: it is written again after each one.
    store.onRevocation(() => {
      try {
        writeSnapshot(store, config.dataDir);
        logger.info('Backup snapshot written after a revocation');
      } catch (error) {
        logger.error('Writing the backup snapshot after a revocation failed; the previous one is kept', { error });
      }
    });
    store.startPruning(TUNABLES.store.pruneIntervalSeconds, (error) => logger.error('Pruning expired rows failed', { error }));

    const events = new Events(logger);
    const supervisor = new Supervisor(config.supervisorUrl, config.supervisorToken, logger);
    if (config.notify && supervisor.available) startNotifier(events, supervisor);
    logger.info(`Home Assistant notifications: ${!config.notify ? 'off (option "notify")' : supervisor.available ? 'on' : 'off (no Supervisor)'}`);
    // Administrators (who see and may revoke the household's links) are Home Assistant's, asked of Core.
    const users = config.supervisorToken ? CoreRoles.viaSupervisor(config.supervisorUrl, config.supervisorToken, logger) : undefined;
    const roles = options.roles ?? users ?? NO_ADMINS;
    const members = users ?? NO_NAMES;
    const slug = addonSlug(process.env.HOSTNAME);
    const panel = { url: panelUrl(config.homeAssistantUrl, slug), path: panelPath(slug) };
    if (!config.homeAssistantUrl && supervisor.available) {
      // Not awaited: start-up does not wait for the Supervisor; the waiting page links once it is known.
      void supervisor.externalUrl().then((external) => {
        panel.url = panelUrl(external, slug);
        if (panel.url) logger.info('Waiting pages link to the Home Assistant panel', { url: panel.url });
      });
    }
    const sightings = new Sightings();
    // The guard's code (certificate checks, TLS, the backend's connections) is loaded only when it is on.
    const skill = config.skill ? (await import('./skill/endpoint.js')).skillGuard({ config, store, logger, sightings }) : skillGuardOff(logger);
    // Origin and path only: the query may carry the backend's own secret.
    const backend = config.skill && new URL(config.skill.backendUrl);
    logger.info(
      backend
        ? `Skill guard on: POST /skill forwards linked requests to ${backend.origin}${backend.pathname}`
        : 'Skill guard off (options "alexa_skill_id" and "skill_backend_url")',
    );
    const app = createPublicApp({ config, store, logger, events, panel, sightings }, skill);
    const publicServer = config.tls
      ? (await import('node:https')).createServer({ cert: readFileSync(config.tls.certFile), key: readFileSync(config.tls.keyFile) }, app)
      : http.createServer(app);
    // Slow-client limits: a request must arrive whole in time.
    publicServer.requestTimeout = TUNABLES.http.publicRequestTimeoutMs;
    publicServer.headersTimeout = TUNABLES.http.publicRequestTimeoutMs;
    const address = await listen(publicServer, config.publicPort, config.host);
    const scheme = config.tls ? 'https' : 'http';
    const publicUrl = `${scheme}://${hostPort(address)}`;
    logger.info(`Public listener on ${publicUrl}`, { issuer: config.publicUrl });
    logger.info(
      config.trustedProxies.length > 0
        ? `X-Forwarded-For is believed only from trusted_proxies: ${config.trustedProxies.join(', ')}`
        : 'trusted_proxies is empty: X-Forwarded-For is ignored, and limits count the connecting address',
    );

    // The panel's code is loaded on its first request: most of the time nobody has it open, and on a
    // small machine the memory is better left unused (the connection guard below applies from the start).
    let ingressApp: Promise<(req: IncomingMessage, res: ServerResponse) => void> | undefined;
    const ingressServer = http.createServer((req, res) => {
      ingressApp ??= import('./server/ingress-app.js').then(({ createIngressApp }) =>
        createIngressApp({ config, store, logger, events, roles, members, sightings }),
      );
      ingressApp.then(
        (handle) => handle(req, res),
        (error: unknown) => {
          logger.error('Loading the panel failed', { error });
          res.writeHead(500, { 'content-type': 'text/plain' }).end('Something went wrong.\n');
        },
      );
    });
    ingressServer.requestTimeout = TUNABLES.http.ingressRequestTimeoutMs;
    guardConnections(ingressServer, config.ingressTrustedProxies, (peer) =>
      logger.warning('Refused a connection to the ingress listener from an untrusted peer', { peer }),
    );
    const ingressAddress = await listen(ingressServer, config.ingressPort, config.host);
    const ingressUrl = `http://${hostPort(ingressAddress)}`;
    logger.info(`Ingress listener on ${ingressUrl}`, { trusted: config.ingressTrustedProxies });
    // The Setup page's checks once, in the background: start-up does not wait for the network.
    void new SetupChecks(config, sightings).run().then(
      (report) => {
        const level = worst(report.results.map((result) => result.verdict)) === 'fail' ? 'warning' : 'info';
        for (const line of summaryBlock(report)) logger.log(level, line);
      },
      (error: unknown) => logger.error('The setup checks failed to run', { error }),
    );
    // The first prune runs once both listeners answer, so a large database does not delay readiness.
    setImmediate(() => {
      try {
        if (store.db.open) store.prune();
      } catch (error) {
        logger.error('Pruning expired rows failed', { error });
      }
    });

    let closing: Promise<void> | undefined;
    const reencryption = reencryptInBackground(store, config, logger, () => closing !== undefined).catch((error: unknown) =>
      logger.error('Background re-encryption failed; it resumes at the next start', { error }),
    );
    return {
      store,
      events,
      publicServer,
      ingressServer,
      publicUrl,
      ingressUrl,
      reencryption,
      close: () => {
        closing ??= (async () => {
          await Promise.all([closeServer(publicServer), closeServer(ingressServer), reencryption]);
          skill.close();
          // A backup taken while the add-on is stopped holds this snapshot (backup_pre does not run then).
          try {
            writeSnapshot(store, config.dataDir);
          } catch (error) {
            logger.error('Writing the backup snapshot failed; the previous one is kept', { error });
          }
          store.close();
          logger.info('Stopped; database closed cleanly');
        })();
        return closing;
      },
    };
  } catch (error) {
    store.close();
    throw error;
  }
}
