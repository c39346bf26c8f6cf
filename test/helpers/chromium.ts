/**
 * Real-browser tests: Debian's Chromium (apt-get install chromium) driven by playwright-core.
 * No browser is ever downloaded. Without Chromium the suites are skipped with the reason printed,
 * except in CI (CI=true), where a missing browser is a failure.
 *
 * The browser is hermetic: every host name except localhost/127.0.0.1/::1 resolves to nothing, so a page can
 * never reach the network (an Alexa redirect fails fast instead of hitting Amazon; see
 * interceptRedirects).
 */
import { accessSync, constants, mkdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';
import { describe, it } from 'vitest';
import { NGINX, nginxAvailable } from './nginx.js';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

export const chromiumAvailable: boolean = (() => {
  try {
    accessSync(CHROMIUM, constants.X_OK);
    return statSync(CHROMIUM).isFile();
  } catch {
    return false;
  }
})();

/** Repository root/test-output/screenshots (test-output/ is gitignored). */
export const SCREENSHOT_DIR = fileURLToPath(new URL('../../test-output/screenshots/', import.meta.url));

/**
 * `describe` for tests that need Chromium (and, with `{ nginx: true }`, nginx). Missing locally:
 * the suite is skipped and says why. Missing in CI: one failing test says what to install.
 */
export function describeBrowser(name: string, fn: () => void, options: { nginx?: boolean } = {}): void {
  const missing: Array<[string, string]> = [];
  if (!chromiumAvailable) missing.push(['Chromium', `${CHROMIUM} is missing or not executable; apt-get install chromium, or set CHROMIUM_PATH`]);
  if (options.nginx && !nginxAvailable) missing.push(['nginx', `${NGINX} is missing; apt-get install nginx-light`]);
  if (missing.length === 0) {
    describe(name, fn);
    return;
  }
  const reason = missing.map(([what, why]) => `${what} (${why})`).join(' and ');
  if (process.env.CI === 'true') {
    describe(name, () => {
      it('has its browser prerequisites', () => {
        const what = missing.map(([w]) => w).join(' and ');
        throw new Error(`${what} ${missing.length > 1 ? 'are' : 'is'} required in CI (CI=true): ${reason}`);
      });
    });
    return;
  }
  console.warn(`[browser tests] skipping "${name}": missing ${reason}`);
  describe.skip(`${name} (skipped: missing ${reason})`, fn);
}

export const LAUNCH_ARGS = [
  '--no-sandbox', // the tests run as root; Chromium refuses its sandbox there
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-default-apps',
  '--no-default-browser-check',
  // Docker's default /dev/shm (64 MB) crashes full-page screenshots; use /tmp instead.
  '--disable-dev-shm-usage',
  // Hermetic: only loopback resolves. Playwright's routes are answered before any resolution.
  '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1, EXCLUDE ::1',
];

export async function launch(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: LAUNCH_ARGS });
}

export const VIEWPORTS = {
  phone: { width: 360, height: 740 },
  desktop: { width: 1280, height: 800 },
} as const;

export const COLOR_SCHEMES = ['light', 'dark'] as const;

export interface ScreenshotOptions {
  /** Runs after the page has loaded, before the screenshot (fill a form, click, wait …). */
  prepare?: (page: Page) => Promise<void>;
  extraHTTPHeaders?: Record<string, string>;
  /** false: the page as a browser without JavaScript shows it. */
  javaScriptEnabled?: boolean;
}

/**
 * One full-page PNG per viewport × colour scheme, each in a fresh context, written to
 * test-output/screenshots/<name>-<viewport>-<scheme>.png. Returns the paths.
 */
export async function screenshots(browser: Browser, url: string, name: string, options: ScreenshotOptions = {}): Promise<string[]> {
  if (!/^[A-Za-z0-9._-]+$/.test(name)) throw new Error(`screenshot name must be a plain file name: ${name}`);
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
  const paths: string[] = [];
  for (const [viewportName, viewport] of Object.entries(VIEWPORTS)) {
    for (const colorScheme of COLOR_SCHEMES) {
      const context = await browser.newContext({
        viewport,
        colorScheme,
        ...(options.extraHTTPHeaders ? { extraHTTPHeaders: options.extraHTTPHeaders } : {}),
        ...(options.javaScriptEnabled === false ? { javaScriptEnabled: false } : {}),
      });
      try {
        const page = await context.newPage();
        await page.goto(url);
        await options.prepare?.(page);
        const path = join(SCREENSHOT_DIR, `${name}-${viewportName}-${colorScheme}.png`);
        await page.screenshot({ path, fullPage: true, animations: 'disabled' });
        paths.push(path);
      } finally {
        await context.close();
      }
    }
  }
  return paths;
}

export interface RedirectCapture {
  /**
   * The URL of the next top-level navigation to one of the hosts (queued: navigations that
   * happened before the call are returned first). Rejects after `timeoutMs`.
   */
  next(timeoutMs?: number): Promise<URL>;
}

/**
 * Catches navigations to `https://<host>/…` (Alexa's redirect_uri hosts) without the network.
 *
 * A navigation that goes straight there (link, form, location.href) is answered by a route with a
 * small 200 page. A navigation that gets there by an HTTP redirect (our 302/303 to
 * redirect_uri?code=…) cannot be routed — Playwright only routes the first URL of a redirect
 * chain — so it is seen as a request event and then fails with net::ERR_NAME_NOT_RESOLVED (the
 * browser is hermetic). Either way next() yields its URL; do not await the page.goto/click that
 * triggers a redirect (it rejects), await next() instead.
 */
export async function interceptRedirects(context: BrowserContext, hosts: string[]): Promise<RedirectCapture> {
  const wanted = new Set(hosts.map((host) => host.toLowerCase()));
  const queue: URL[] = [];
  const waiting: Array<(url: URL) => void> = [];

  context.on('request', (request) => {
    if (!request.isNavigationRequest() || request.frame().parentFrame() !== null) return;
    const url = new URL(request.url());
    if (url.protocol !== 'https:' || !wanted.has(url.hostname)) return;
    const waiter = waiting.shift();
    if (waiter) waiter(url);
    else queue.push(url);
  });

  for (const host of wanted) {
    await context.route(`https://${host}/**`, (route) =>
      route.fulfill({
        status: 200,
        contentType: 'text/html; charset=utf-8',
        body: `<!doctype html><html><head><title>${host}</title></head><body><p>Intercepted: ${host}</p></body></html>`,
      }),
    );
  }

  return {
    next(timeoutMs = 15_000): Promise<URL> {
      const queued = queue.shift();
      if (queued) return Promise.resolve(queued);
      return new Promise<URL>((resolve, reject) => {
        const waiter = (url: URL) => {
          clearTimeout(timer);
          resolve(url);
        };
        const timer = setTimeout(() => {
          const index = waiting.indexOf(waiter);
          if (index >= 0) waiting.splice(index, 1);
          reject(new Error(`no navigation to ${[...wanted].join(', ')} within ${timeoutMs} ms`));
        }, timeoutMs);
        waiting.push(waiter);
      });
    },
  };
}
