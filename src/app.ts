/**
 * Start-up and shutdown, shared by `main.ts` and the tests: open the store, start the listeners,
 * and on close finish in-flight requests, checkpoint the WAL and close the database.
 */
import { createServer as createHttpServer, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import type { Config } from './config/load.js';
import { PROTOCOL } from './config/options.js';
import type { Logger } from './log/logger.js';
import { createPublicApp } from './server/public-app.js';
import { Events } from './events.js';
import { Store } from './store/index.js';

export interface RunningApp {
  store: Store;
  events: Events;
  publicServer: Server;
  publicUrl: string;
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

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    if (!server.listening) return resolve();
    server.close(() => resolve());
    // Idle keep-alive sockets would hold close() open; requests in flight still finish.
    server.closeIdleConnections();
  });
}

export async function startApp(config: Config, logger: Logger): Promise<RunningApp> {
  const store = Store.open({ dataDir: config.dataDir, encryptionKeys: config.encryptionKeys });
  try {
    store.prune();
    store.startPruning(PROTOCOL.pruneIntervalSeconds, (error) => logger.error('Pruning expired rows failed', { error }));

    const events = new Events(logger);
    const app = createPublicApp({ config, store, logger, events });
    const publicServer = config.tls
      ? createHttpsServer({ cert: readFileSync(config.tls.certFile), key: readFileSync(config.tls.keyFile) }, app)
      : createHttpServer(app);
    // Slow-client limits: a request must arrive whole within 10 s.
    publicServer.requestTimeout = 10_000;
    publicServer.headersTimeout = 10_000;
    const address = await listen(publicServer, config.publicPort, config.host);
    const scheme = config.tls ? 'https' : 'http';
    const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
    logger.info(`Public listener on ${scheme}://${host}:${address.port}`, { issuer: config.publicUrl });

    let closing: Promise<void> | undefined;
    return {
      store,
      events,
      publicServer,
      publicUrl: `${scheme}://${host}:${address.port}`,
      close: () => {
        closing ??= (async () => {
          await closeServer(publicServer);
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
