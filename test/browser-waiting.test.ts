/**
 * The waiting page in real Chromium: the countdown, "Get a new code", Copy code, the links to Home
 * Assistant that leave the page in place, the check when the page is shown again, the state at the
 * top once decided, and the page without JavaScript. Decisions are made through the store (the
 * panel has its own browser tests). Writes the waiting-* screenshots (and, with
 * UPDATE_DOCS_SCREENSHOTS=1, the documentation's copies).
 */
import { copyFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BrowserContext, Browser as Chromium, Page } from 'playwright-core';
import { afterAll, beforeAll, beforeEach, expect, it } from 'vitest';
import { ALEXA_REDIRECT_HOSTS } from '../src/config/options.js';
import { TUNABLES } from '../src/config/tunables.js';
import { normalizeUserCode } from '../src/crypto/user-code.js';
import { translator } from '../src/i18n/index.js';
import { describeBrowser, interceptRedirects, launch, SCREENSHOT_DIR, screenshots, VIEWPORTS } from './helpers/chromium.js';
import { pkcePair } from './helpers/link.js';
import { authorizeUrl, CLIENT_ID, decide, REDIRECT_URI, startTestServer, type TestServer } from './helpers/oauth-server.js';
import { realTimeClock } from './helpers/store.js';

const ALICE = { id: '7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a', name: 'alice', displayName: 'Alice' };
const MINUTE = 60_000;
const TTL = TUNABLES.oauth.pendingRequestTtlSeconds * 1000;
const en = translator('en');

/** The store's clock, stepped over expiry; back at the real time for each test. */
const time = realTimeClock();

describeBrowser('the waiting page in a real browser', () => {
  let server: TestServer;
  let chromium: Chromium;
  const contexts: BrowserContext[] = [];
  const hostname = process.env.HOSTNAME;

  beforeAll(async () => {
    // The add-on's host name, as the Supervisor sets it: the page then knows the panel's path.
    process.env.HOSTNAME = 'local-alexa-link';
    server = await startTestServer({ home_assistant_url: 'http://homeassistant.local:8123' }, undefined, {}, time);
    chromium = await launch();
  });
  beforeEach(() => time.reset());
  afterAll(async () => {
    if (hostname === undefined) delete process.env.HOSTNAME;
    else process.env.HOSTNAME = hostname;
    for (const context of contexts) await context.close();
    await chromium?.close();
    await server?.close();
  });

  async function context(options: Parameters<Chromium['newContext']>[0] = {}): Promise<BrowserContext> {
    const created = await chromium.newContext({ viewport: VIEWPORTS.phone, ...options });
    contexts.push(created);
    return created;
  }

  /** Alexa's in-app browser opens /authorize and lands on the waiting page. */
  async function startFromAlexa(options: Parameters<Chromium['newContext']>[0] = {}, intercept = true) {
    const alexa = await context(options);
    // Not where a test opens a new tab: the recorder cannot look at a tab's first request.
    const redirects = intercept ? await interceptRedirects(alexa, [...ALEXA_REDIRECT_HOSTS]) : undefined;
    const page = await alexa.newPage();
    const { challenge } = pkcePair();
    await page.goto(
      authorizeUrl(server.base, {
        client_id: CLIENT_ID,
        redirect_uri: REDIRECT_URI,
        response_type: 'code',
        state: 'st=ate',
        code_challenge: challenge,
        code_challenge_method: 'S256',
      }).href,
    );
    const userCode = (await page.locator('[data-user-code]').getAttribute('data-user-code'))!;
    const cookie = (await alexa.cookies()).map((c) => `${c.name}=${c.value}`).join('; ');
    return { page, userCode, redirects, context: alexa, cookie };
  }

  /** In-page script: the page becomes hidden or visible again (as when switching to Home Assistant and back). */
  const visibility = (value: 'hidden' | 'visible'): string =>
    `Object.defineProperty(document, 'visibilityState', { configurable: true, get: () => '${value}' }); document.dispatchEvent(new Event('visibilitychange'));`;
  const waitUrl = (): string => `${server.base}/authorize/wait`;
  const expiryText = (page: Page) => page.locator('#expiry').textContent();
  const state = (page: Page) => page.locator('#status').getAttribute('data-state');

  it('counts down as a warning, follows the server’s time, and says under two minutes', async () => {
    const { page, cookie } = await startFromAlexa();
    await expect.poll(() => expiryText(page)).toMatch(/^(9|10) min left \(until \d\d:\d\d/);
    expect(await page.locator('#expiry').getAttribute('class')).toContain('warning');
    files.push(...(await screenshots(chromium, waitUrl(), 'waiting-pending', { extraHTTPHeaders: { cookie } })));
    // Five minutes pass on the server: the next status check corrects the countdown.
    time.advance(5 * MINUTE);
    await expect.poll(() => expiryText(page), { timeout: 10_000 }).toMatch(/^4 min left/);
    time.advance(4 * MINUTE);
    await expect.poll(() => expiryText(page), { timeout: 10_000 }).toMatch(/^(0|1) min left|^Less than a minute left/);
    expect(await page.locator('#expiry').getAttribute('class')).toContain('urgent');
    files.push(...(await screenshots(chromium, waitUrl(), 'waiting-expiring', { extraHTTPHeaders: { cookie } })));
  });

  it('counts down in the reader’s time format: 24-hour for en-GB although the page is plain English', async () => {
    // The context's locale is what the browser sends as Accept-Language.
    const british = await startFromAlexa({ locale: 'en-GB' });
    await expect.poll(() => expiryText(british.page)).toMatch(/^(9|10) min left \(until \d\d:\d\d\)$/);
    expect(await british.page.locator('html').getAttribute('lang')).toBe('en');
    const american = await startFromAlexa({ locale: 'en-US' });
    await expect.poll(() => expiryText(american.page)).toMatch(/^(9|10) min left \(until \d\d:\d\d [AP]M\)$/);
  });

  it('expired: the dead code goes, Get a new code brings a new one and the page waits again', async () => {
    const { page, userCode, cookie } = await startFromAlexa();
    time.advance(TTL + 1);
    await expect.poll(() => state(page), { timeout: 10_000 }).toBe('expired');
    expect(await page.locator('[data-user-code]').count()).toBe(0);
    expect(await page.locator('#status').textContent()).toBe(en.t('wait.expired'));
    files.push(...(await screenshots(chromium, waitUrl(), 'waiting-expired', { extraHTTPHeaders: { cookie } })));

    await page.getByRole('button', { name: en.t('wait.renew') }).click();
    await expect.poll(() => state(page)).toBe('pending');
    const newCode = (await page.locator('[data-user-code]').getAttribute('data-user-code'))!;
    expect(newCode).toMatch(/^[A-Z]{4}-[A-Z]{4}$/);
    expect(newCode).not.toBe(userCode);
    expect(await page.getByText(en.t('wait.renewed')).count()).toBe(1);
    expect(server.app.store.requests.findPendingByUserCode(normalizeUserCode(newCode)!)).toBeDefined();
    expect(server.app.store.requests.findPendingByUserCode(normalizeUserCode(userCode)!)).toBeUndefined();
    await expect.poll(() => expiryText(page)).toMatch(/min left/);
    files.push(...(await screenshots(chromium, waitUrl(), 'waiting-renewed', { extraHTTPHeaders: { cookie } })));
  });

  it('Copy code puts the code on the clipboard', async () => {
    const { page, userCode } = await startFromAlexa({ permissions: ['clipboard-read', 'clipboard-write'] });
    await page.getByRole('button', { name: en.t('wait.copy') }).click();
    await expect.poll(() => page.locator('#copy-result').textContent()).toBe(en.t('wait.copied'));
    // A string: the test's TypeScript has no DOM types; this runs in the page.
    expect(await page.evaluate('navigator.clipboard.readText()')).toBe(userCode);
  });

  it('opens Home Assistant outside the waiting page: the companion app by URL scheme, the web in a new tab', async () => {
    const { page, context: alexa } = await startFromAlexa({}, false);
    expect(await page.getByRole('link', { name: en.t('wait.openApp') }).getAttribute('href')).toBe('homeassistant://navigate/local_alexa_link');
    const web = page.getByRole('link', { name: en.t('wait.openWeb') });
    expect(await web.getAttribute('href')).toBe('http://homeassistant.local:8123/local_alexa_link');
    expect(await web.getAttribute('target')).toBe('_blank');
    expect(await web.getAttribute('rel')).toBe('noopener noreferrer');
    const popup = alexa.waitForEvent('page');
    await web.click();
    await popup;
    // The waiting page is still there, still waiting.
    expect(page.url()).toBe(waitUrl());
    expect(await state(page)).toBe('pending');
    expect(await page.getByText(en.t('wait.keepOpen').replace(/\*\*/g, '').split('.')[0]!).count()).toBe(1);
  });

  it('checks at once when the page is shown again, without waiting for the next poll', async () => {
    const { page, userCode, redirects } = await startFromAlexa();
    // Timers frozen (install, then pause): the 2-second poll cannot fire, only the visibility check
    // can ask the server. install() alone lets the page's time flow on.
    await page.clock.install();
    await page.reload();
    await page.clock.pauseAt(Date.now() + 500);
    await page.evaluate(visibility('hidden'));
    decide(server.app.store, userCode, ALICE);
    const next = redirects!.next();
    await page.evaluate(visibility('visible'));
    const callback = await next;
    expect(callback.searchParams.get('code')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(callback.searchParams.get('state')).toBe('st=ate');
  });

  it('with JavaScript it says it continues by itself; without, it says to tap Check again and shows the time with its zone', async () => {
    const { page } = await startFromAlexa();
    expect(await page.locator('#step-back').textContent()).toBe(en.t('wait.step.backJs'));
    const { page: plain, cookie } = await startFromAlexa({ javaScriptEnabled: false });
    expect(await plain.locator('#step-back').textContent()).toBe(en.t('wait.step.backNoJs').replace(/\*\*/g, ''));
    // biome-ignore lint/performance/useDomNodeTextContent: what is shown, without the script's JSON data block, which no one sees
    expect(await plain.locator('body').innerText()).not.toContain('continues by itself');
    expect(await plain.locator('#copy').isVisible()).toBe(false);
    const zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
    expect(await expiryText(plain)).toMatch(new RegExp(`^The code expires at .+ \\(${zone}\\)\\.$`));
    files.push(...(await screenshots(chromium, waitUrl(), 'waiting-nojs', { extraHTTPHeaders: { cookie }, javaScriptEnabled: false })));
  });

  it('with JavaScript there is no Check again button; without, there is', async () => {
    const checkAgain = (page: Page) => page.getByRole('link', { name: en.t('wait.checkAgain') });
    const { page } = await startFromAlexa();
    expect(await checkAgain(page).isVisible()).toBe(false);
    const { page: plain } = await startFromAlexa({ javaScriptEnabled: false });
    expect(await checkAgain(plain).isVisible()).toBe(true);
  });

  /**
   * Holds the page in the state it shows once decided: its way on (/authorize/continue) is answered
   * with 204 No Content, which leaves the page in place (and the request undecided for the server).
   * Resolves with the number of times the page tried to continue.
   */
  async function holdContinue(alexa: BrowserContext): Promise<() => number> {
    let tries = 0;
    await alexa.route('**/authorize/continue', (route) => {
      tries++;
      return route.fulfill({ status: 204 });
    });
    return () => tries;
  }

  it('approved while waiting: the state is at the top of the phone’s screen, the code and buttons are gone', async () => {
    const { page, userCode, context: alexa } = await startFromAlexa();
    const continued = await holdContinue(alexa);
    decide(server.app.store, userCode, ALICE);
    await expect.poll(() => state(page), { timeout: 10_000 }).toBe('approved');
    const status = page.locator('#status');
    expect(await status.textContent()).toBe(en.t('wait.approvedFinishing'));
    const box = (await status.boundingBox())!;
    // Right under the heading, in the top half of the first screen (740 px), not 850 px down.
    expect(box.y + box.height).toBeLessThan(VIEWPORTS.phone.height / 2);
    for (const selector of ['#user-code', '#expiry', '#copy', '#open-app', '#open-web', '.keep-open', '.steps', '#continue']) {
      expect(await page.locator(selector).isVisible(), selector).toBe(false);
    }
    // And it went on by itself.
    await expect.poll(continued).toBe(1);
  });

  it('denied while waiting: the page says so at the top and goes back to Alexa', async () => {
    const { page, userCode, context: alexa } = await startFromAlexa();
    const continued = await holdContinue(alexa);
    decide(server.app.store, userCode, ALICE, 'denied');
    await expect.poll(() => state(page), { timeout: 10_000 }).toBe('denied');
    expect(await page.locator('#status').textContent()).toBe(en.t('wait.deniedReturning'));
    const box = (await page.locator('#status').boundingBox())!;
    expect(box.y + box.height).toBeLessThan(VIEWPORTS.phone.height / 2);
    expect(await page.locator('#user-code').isVisible()).toBe(false);
    await expect.poll(continued).toBe(1);
  });

  it('approved and denied, as the page shows them', async () => {
    const approved = await startFromAlexa();
    // Closed first: its own check would otherwise continue, and end the request, before the screenshots.
    await approved.page.close();
    decide(server.app.store, approved.userCode, ALICE);
    files.push(...(await screenshots(chromium, waitUrl(), 'waiting-approved', { extraHTTPHeaders: { cookie: approved.cookie } })));
    const denied = await startFromAlexa();
    await denied.page.close();
    decide(server.app.store, denied.userCode, ALICE, 'denied');
    files.push(...(await screenshots(chromium, waitUrl(), 'waiting-denied', { extraHTTPHeaders: { cookie: denied.cookie } })));
  });

  it('in German for a German phone', async () => {
    const { page, cookie } = await startFromAlexa({ locale: 'de-DE', extraHTTPHeaders: { 'accept-language': 'de-DE,de;q=0.9' } });
    expect(await page.locator('html').getAttribute('lang')).toBe('de');
    expect(await page.getByRole('heading', { level: 1 }).textContent()).toBe(translator('de').t('wait.heading'));
    await expect.poll(() => expiryText(page)).toMatch(/^Noch (9|10) Minuten \(bis \d\d:\d\d\)$/);
    files.push(...(await screenshots(chromium, waitUrl(), 'waiting-de', { extraHTTPHeaders: { cookie, 'accept-language': 'de-DE,de;q=0.9' } })));
  });

  const files: string[] = [];
  it('wrote every screenshot: phone and desktop, light and dark', () => {
    const names = ['pending', 'expiring', 'expired', 'renewed', 'nojs', 'approved', 'denied', 'de'];
    for (const name of names) expect(files.filter((file) => file.includes(`/waiting-${name}-`))).toHaveLength(4);
    // The canonical set for the documentation, when asked for (UPDATE_DOCS_SCREENSHOTS=1), as in browser-panel.test.ts.
    if (process.env.UPDATE_DOCS_SCREENSHOTS === '1') {
      const docs = fileURLToPath(new URL('../docs/screenshots/', import.meta.url));
      for (const name of [
        'waiting-pending-phone-light',
        'waiting-pending-phone-dark',
        'waiting-expiring-phone-light',
        'waiting-expired-phone-light',
        'waiting-expired-phone-dark',
        'waiting-renewed-phone-light',
        'waiting-nojs-phone-light',
        'waiting-approved-phone-light',
        'waiting-denied-phone-light',
        'waiting-de-phone-light',
      ]) {
        copyFileSync(join(SCREENSHOT_DIR, `${name}.png`), join(docs, `${name}.png`));
      }
    }
  });
});
