/**
 * The real server (startApp) on a loopback port, with options written to a real options.json in a
 * temp data folder and the log captured in memory.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type RunningApp, startApp } from '../../src/app.js';
import { type Config, loadConfig } from '../../src/config/load.js';
import { generateFernetKey } from '../../src/crypto/fernet.js';
import type { Roles } from '../../src/panel/roles.js';
import { Browser } from './browser.js';
import { CLIENT_ID, CLIENT_SECRET, REDIRECT_URI, RS_SECRET, VENDOR_ID } from './fixtures.js';
import { memoryLogger } from './logger.js';
import { freePort } from './net.js';
import type { Clock } from './store.js';
import { tempDir } from './tmp.js';

// The credentials live in fixtures.ts (shared with the store tests and the bench); tests import them from here.
export { CLIENT_ID, CLIENT_SECRET, freePort, REDIRECT_URI, RS_SECRET, VENDOR_ID };

export interface TestServer {
  app: RunningApp;
  config: Config;
  base: string;
  lines: string[];
  dataDir: string;
  options: Record<string, unknown>;
  close: () => Promise<void>;
}

export async function writeOptions(dataDir: string, port: number, overrides: Record<string, unknown> = {}): Promise<Record<string, unknown>> {
  const options = {
    encryption_key: generateFernetKey(),
    public_url: `http://127.0.0.1:${port}`,
    alexa_client_id: CLIENT_ID,
    alexa_client_secret: CLIENT_SECRET,
    alexa_vendor_id: VENDOR_ID,
    resource_server_secret: RS_SECRET,
    log_level: 'trace',
    ...overrides,
  };
  writeFileSync(join(dataDir, 'options.json'), JSON.stringify(options));
  return options;
}

/**
 * `clock`: the store's clock, for tests that step over a time-based rule instead of waiting it out.
 * `roles`: who is a Home Assistant administrator (default: nobody, as without the Supervisor).
 */
export async function startTestServer(
  overrides: Record<string, unknown> = {},
  dataDir = tempDir(),
  env: Record<string, string> = {},
  clock?: Clock,
  roles?: Roles,
): Promise<TestServer> {
  const port = await freePort();
  const options = await writeOptions(dataDir, port, overrides);
  const config = loadConfig({
    DATA_DIR: dataDir,
    HOST: '127.0.0.1',
    PUBLIC_PORT: String(port),
    INGRESS_PORT: '0',
    INGRESS_TRUSTED_PROXIES: '127.0.0.1',
    ...env,
  });
  // The configured level, as main.ts sets it (tests that read trace lines leave log_level at trace).
  const { logger, lines } = memoryLogger(config.logLevel);
  const app = await startApp(config, logger, { ...(clock ? { now: clock.now } : {}), ...(roles ? { roles } : {}) });
  return { app, config, base: `http://127.0.0.1:${port}`, lines, dataDir, options, close: () => app.close() };
}

export interface AuthorizeParams {
  client_id?: string;
  redirect_uri?: string;
  response_type?: string;
  state?: string;
  scope?: string;
  code_challenge?: string;
  code_challenge_method?: string;
}

export function authorizeUrl(base: string, params: AuthorizeParams): URL {
  const url = new URL('/authorize', base);
  for (const [name, value] of Object.entries(params)) if (value !== undefined) url.searchParams.set(name, value);
  return url;
}

/** Starts a link in `browser`: GET /authorize, follow to the waiting page, read the user code from it. */
export async function startLink(browser: Browser, base: string, params: AuthorizeParams): Promise<{ userCode: string; waitUrl: URL; page: string }> {
  const first = await browser.get(authorizeUrl(base, params));
  if (first.status !== 303) throw new Error(`authorize answered ${first.status}: ${await first.text()}`);
  const waitUrl = Browser.location(first, base);
  const wait = await browser.get(waitUrl);
  const page = await wait.text();
  const userCode = /data-user-code="([A-Z]+-[A-Z]+)"/.exec(page)?.[1];
  if (!userCode) throw new Error(`no user code on the waiting page: ${page}`);
  return { userCode, waitUrl, page };
}

import { normalizeUserCode } from '../../src/crypto/user-code.js';
import type { Store, Subject } from '../../src/store/index.js';

/**
 * Test stand-in for the Home Assistant panel (issue 4 builds the real one): approves or denies the
 * request of a typed user code, through the store, as the given HA user.
 */
export function decide(store: Store, typedCode: string, subject: Subject, decision: 'approved' | 'denied' = 'approved'): void {
  const code = normalizeUserCode(typedCode);
  const request = code && store.requests.findPendingByUserCode(code);
  if (!request || !store.requests.decide(request.handle, decision, subject)) throw new Error('no pending request for that code');
}
