/**
 * The waiting page over real HTTP: its language, what it says without JavaScript, "Get a new code"
 * (renewal) and its bounds, and the page a browser without a request gets.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { TUNABLES } from '../src/config/tunables.js';
import { normalizeUserCode } from '../src/crypto/user-code.js';
import { CATALOGUES, LOCALES, type MessageKey, translator } from '../src/i18n/index.js';
import { recentAuditOf } from './helpers/audit.js';
import { Browser } from './helpers/browser.js';
import { pkcePair } from './helpers/link.js';
import { CLIENT_ID, decide, REDIRECT_URI, startLink, startTestServer, type TestServer } from './helpers/oauth-server.js';
import { realTimeClock } from './helpers/store.js';

const ALICE = { id: '5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e', name: 'alice', displayName: 'Alice' };
const MINUTE = 60_000;
const en = translator('en');

/** The store's clock, stepped over expiry; back at the real time for each test. */
const time = realTimeClock();

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer({ home_assistant_url: 'http://homeassistant.local:8123' }, undefined, {}, time);
});
beforeEach(() => time.reset());
afterAll(() => server.close());

const TTL = TUNABLES.oauth.pendingRequestTtlSeconds * 1000;

const PARAMS = {
  client_id: CLIENT_ID,
  redirect_uri: REDIRECT_URI,
  response_type: 'code',
  state: 'st=ate',
  code_challenge: pkcePair().challenge,
  code_challenge_method: 'S256',
} as const;

async function start(headers: Record<string, string> = {}) {
  const browser = new Browser(headers);
  const link = await startLink(browser, server.base, PARAMS);
  return { browser, ...link };
}

const url = (path: string): URL => new URL(path, server.base);
/** What a reader sees: the HTML without its script elements (the JSON data block is not shown). */
const visible = (html: string): string => html.replace(/<script\b[^>]*>[\s\S]*?<\/script>/g, '');
/** A message as it appears in HTML (rich text: bold marks become <strong>, quotes escaped). */
const html = (key: MessageKey, values?: Record<string, string>): string => en.rich(key, values);
const csrfOf = (page: string): string => /name="csrf" value="([^"]+)"/.exec(page)?.[1] ?? '';
const codeOf = (page: string): string | undefined => /data-user-code="([A-Z]+-[A-Z]+)"/.exec(page)?.[1];
const found = (typed: string) => server.app.store.requests.findPendingByUserCode(normalizeUserCode(typed)!);

async function waitPage(browser: Browser): Promise<{ status: number; page: string }> {
  const response = await browser.get(url('/authorize/wait'));
  return { status: response.status, page: await response.text() };
}

/** Lets the first code expire and reads the renewal form's token from the expired page. */
async function expireAndReadToken(browser: Browser): Promise<string> {
  time.advance(TTL + 1);
  const token = csrfOf((await waitPage(browser)).page);
  expect(token).toMatch(/^[A-Za-z0-9_-]{20,}$/);
  return token;
}

describe('language', () => {
  it.each([
    ['de-DE,de;q=0.9,en;q=0.5', 'de'],
    ['nl-BE', 'nl'],
    ['fr-CA,fr;q=0.9', 'fr'],
    ['en-GB', 'en'],
    ['es-ES,es;q=0.9', 'en'],
  ] as const)('Accept-Language %s → the page in %s, with lang and Vary', async (header, locale) => {
    const { browser } = await start({ 'accept-language': header });
    const response = await browser.get(url('/authorize/wait'));
    const page = await response.text();
    expect(page).toContain(`<html lang="${locale}">`);
    expect(page).toContain(`<h1>${translator(locale).t('wait.heading')}</h1>`);
    expect(page).toContain(translator(locale).t('wait.renew') === '' ? '' : translator(locale).t('wait.codeIntro'));
    expect(response.headers.get('vary')).toMatch(/Accept-Language/i);
  });

  it('error pages follow the language too', async () => {
    const response = await new Browser({ 'accept-language': 'fr' }).get(url('/authorize/wait'));
    const page = await response.text();
    expect(page).toContain('<html lang="fr">');
    expect(page).toContain(CATALOGUES.fr['error.noRequest.title']);
    expect(response.headers.get('vary')).toMatch(/Accept-Language/i);
  });
});

describe('the waiting page without JavaScript', () => {
  it('does not claim to continue by itself, says to tap Check again, and names the skill with its icon', async () => {
    const { page } = await start();
    expect(visible(page)).not.toContain('continues by itself');
    expect(visible(page)).toContain(html('wait.step.backNoJs'));
    expect(page).toContain('<a class="button" id="continue" href="continue">Check again</a>');
    expect(page).toContain(html('wait.skill', { skill: 'Music Assistant' }));
    expect(page).toMatch(/<img src="[./]*assets\/icon\.png" width="56" height="56" alt="Alexa Link icon">/);
  });

  it('shows the expiry as a time with the server’s time zone, in a warning', async () => {
    const { page } = await start();
    const zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
    expect(page).toMatch(
      new RegExp(`<p id="expiry" class="expiry warning" data-expires-in="\\d+">The code expires at \\d\\d:\\d\\d(?: [AP]M)? \\(${zone}\\)\\.</p>`),
    );
  });

  it('spells the code for screen readers, letter by letter', async () => {
    const { page, userCode } = await start();
    const [first, second] = userCode.split('-') as [string, string];
    expect(page).toContain(`<span class="visually-hidden">Link code: ${first.split('').join(' ')}, then ${second.split('').join(' ')}</span>`);
    expect(page).toContain(`aria-hidden="true">${userCode}</span>`);
  });

  it('opens Home Assistant in a new tab, never in place of the waiting page', async () => {
    const { page } = await start();
    expect(page).toContain('href="http://homeassistant.local:8123" target="_blank" rel="noopener noreferrer">Open Home Assistant in a new tab</a>');
    expect(page).not.toContain('autofocus');
  });
});

describe('a browser without a link request', () => {
  it.each(['/authorize/wait', '/authorize/continue'])('%s says to go back to the Alexa app, where linking finishes by itself', async (path) => {
    const response = await new Browser().get(url(path));
    expect(response.status).toBe(400);
    const page = await response.text();
    expect(page).toContain(`<h1>${en.t('error.noRequest.title')}</h1>`);
    expect(page).toContain(`<p>${html('error.noRequest.message')}</p>`);
    expect(page).toMatch(/^<p>Go back to the Alexa app\./m);
    // Starting again is the fallback, after the main message, with the exact taps.
    expect(page.indexOf(html('error.noRequest.message'))).toBeLessThan(page.indexOf(html('error.noRequest.restart')));
    expect(page).toContain(html('alexa.restartElsewhere', { skill: 'Music Assistant' }));
  });

  // The reader may be in another browser, not on the Alexa app's page: no "close this page".
  it.each(LOCALES)('in %s, it says how to start again without "close this page"', async (locale) => {
    const page = await (await new Browser({ 'accept-language': locale }).get(url('/authorize/wait'))).text();
    const i18n = translator(locale);
    expect(page).toContain(`<html lang="${locale}">`);
    expect(page).not.toMatch(/close this page|diese Seite|deze pagina|cette page/i);
    expect(page).not.toContain(i18n.rich('alexa.restart', { skill: i18n.t('skill.name') }));
    expect(page).toContain(i18n.rich('alexa.restartElsewhere', { skill: i18n.t('skill.name') }));
  });
});

describe('the state comes first, right under the heading', () => {
  const statusFirst = /<\/h1>\s*<p id="status" class="status" role="status" aria-live="polite" data-state="(\w+)">/;

  it('while waiting: the status, then the code', async () => {
    const { page } = await start();
    expect(statusFirst.exec(page)?.[1]).toBe('pending');
    expect(page.indexOf('id="status"')).toBeLessThan(page.indexOf('data-user-code'));
  });

  it.each(['approved', 'denied'] as const)('%s: the status and its Continue button, no code, no Check again', async (decision) => {
    const { browser, userCode } = await start();
    decide(server.app.store, userCode, ALICE, decision);
    const { page } = await waitPage(browser);
    expect(statusFirst.exec(page)?.[1]).toBe(decision);
    expect(page).toMatch(/data-state="\w+">.*<\/p>\s*<p><a class="button" id="continue" href="continue">Continue<\/a><\/p>/);
    expect(page).not.toContain('data-user-code');
    expect(page).not.toContain(userCode);
    expect(page).not.toContain(en.t('wait.checkAgain'));
    expect(page).not.toContain('id="open-');
  });

  it('expired: the status, then the way to a new code', async () => {
    const { browser } = await start();
    time.advance(TTL + 1);
    const { page } = await waitPage(browser);
    expect(statusFirst.exec(page)?.[1]).toBe('expired');
  });
});

describe('an expired code', () => {
  it('is not shown; the page warns and offers a new code, also after a reload, and Continue leads back to it', async () => {
    const { browser, userCode } = await start();
    time.advance(TTL + 1);
    for (const path of ['/authorize/wait', '/authorize/wait']) {
      const response = await browser.get(url(path));
      expect(response.status).toBe(200);
      const page = await response.text();
      expect(page).toContain(`data-state="expired">${en.t('wait.expired')}</p>`);
      expect(page).not.toContain(userCode);
      expect(page).not.toContain('data-user-code');
      expect(page).toContain(`<button type="submit" class="button" id="renew">${en.t('wait.renew')}</button>`);
    }
    const again = await browser.get(url('/authorize/continue'));
    expect(again.status).toBe(303);
    expect(again.headers.get('location')).toBe('wait');
    expect(await (await browser.get(url('/authorize/status'))).json()).toMatchObject({ status: 'expired', renewable: true });
  });
});

describe('Get a new code', () => {
  it('gives a new code for the same request: the new code is approved and released, the old one is gone', async () => {
    const { browser, userCode } = await start();
    const csrf = await expireAndReadToken(browser);
    // Pruning runs meanwhile: a request that can still be renewed is kept.
    server.app.store.prune();
    const requestsCounted = (): number =>
      recentAuditOf(server, 10)
        .filter((entry) => entry.event === 'link_requested')
        .reduce((sum, entry) => sum + Number(entry.details.count), 0);
    const countedBefore = requestsCounted();
    const renewed = await browser.post(url('/authorize/renew'), { csrf }, { origin: server.base });
    expect(renewed.status).toBe(303);
    expect(renewed.headers.get('location')).toBe('wait');
    const after = await waitPage(browser);
    const newCode = codeOf(after.page)!;
    expect(newCode).toMatch(/^[A-Z]{4}-[A-Z]{4}$/);
    expect(newCode).not.toBe(userCode);
    expect(after.page).toContain(en.t('wait.renewed'));
    expect(after.page).toContain('data-state="pending"');
    expect(found(userCode)).toBeUndefined();
    expect(found(newCode)).toMatchObject({ redirectUri: REDIRECT_URI, state: 'st=ate', renewals: 1 });
    // The renewal is counted in the hour's one anonymous row of link requests, not a row of its own.
    expect(requestsCounted()).toBe(countedBefore + 1);

    decide(server.app.store, newCode, ALICE);
    const done = await browser.get(url('/authorize/continue'));
    expect(done.status).toBe(303);
    const callback = Browser.location(done, server.base);
    expect(callback.searchParams.get('code')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(callback.searchParams.get('state')).toBe('st=ate');
  });

  it(`is refused after ${TUNABLES.oauth.maxCodeRenewals} renewals with a clear page`, async () => {
    const { browser } = await start();
    const csrf = await expireAndReadToken(browser);
    // Renewing again before the new code expires is allowed (not offered on the page): the count stops it.
    for (let i = 0; i < TUNABLES.oauth.maxCodeRenewals; i++) {
      expect((await browser.post(url('/authorize/renew'), { csrf })).status).toBe(303);
    }
    const refused = await browser.post(url('/authorize/renew'), { csrf });
    expect(refused.status).toBe(409);
    const text = await refused.text();
    expect(text).toContain(`<h1>${en.t('error.renewLimit.title')}</h1>`);
    expect(text).toContain(html('alexa.restart', { skill: 'Music Assistant' }));
    // The expired page then offers no button, only the way back through the Alexa app.
    time.advance(TTL + 1);
    const expired = await waitPage(browser);
    expect(expired.page).not.toContain('id="renew"');
    expect(expired.page).toContain(en.t('wait.noRenewal'));
  });

  it(`is refused when the new code would end beyond ${TUNABLES.oauth.renewalWindowSeconds / 60} minutes after the request`, async () => {
    const { browser } = await start();
    const csrf = await expireAndReadToken(browser);
    // Later than the window less the shortest useful code: no new code.
    time.advance((TUNABLES.oauth.renewalWindowSeconds - TUNABLES.oauth.minRenewedCodeSeconds) * 1000 - TTL);
    const refused = await browser.post(url('/authorize/renew'), { csrf });
    expect(refused.status).toBe(409);
    expect(await refused.text()).toContain(en.t('error.renewLimit.message'));
  });

  it('caps the new code at the end of the window', async () => {
    const { browser } = await start();
    const csrf = await expireAndReadToken(browser);
    time.advance(25 * MINUTE - TTL - 1);
    expect((await browser.post(url('/authorize/renew'), { csrf })).status).toBe(303);
    const status = (await (await browser.get(url('/authorize/status'))).json()) as { expiresInMs: number };
    expect(status.expiresInMs).toBe(TUNABLES.oauth.renewalWindowSeconds * 1000 - 25 * MINUTE);
  });

  it('is refused from another browser, without the token, with a wrong token, and from another site', async () => {
    const { browser, userCode } = await start();
    const csrf = await expireAndReadToken(browser);
    // Another browser with no session: the no-request page.
    const stranger = await new Browser().post(url('/authorize/renew'), { csrf });
    expect(stranger.status).toBe(400);
    expect(await stranger.text()).toContain(en.t('error.noRequest.title'));
    // Another browser with a request of its own: its session's token is not this one.
    time.reset();
    const other = await start();
    const crossed = await other.browser.post(url('/authorize/renew'), { csrf });
    expect(crossed.status).toBe(403);
    expect(found(other.userCode)).toBeDefined();
    for (const [form, headers] of [
      [{}, {}],
      [{ csrf: 'x'.repeat(csrf.length) }, {}],
      [{ csrf }, { origin: 'https://evil.example' }],
      [{ csrf }, { 'sec-fetch-site': 'cross-site' }],
    ] as const) {
      const refused = await browser.post(url('/authorize/renew'), form, headers);
      expect(refused.status, JSON.stringify([form, headers])).toBe(403);
      expect(await refused.text()).toContain(en.t('error.renewForbidden.title'));
    }
    // `Origin: null` (Chrome's same-origin POST under Referrer-Policy no-referrer) with the token is fine.
    expect(found(userCode)).toBeDefined();
    expect((await browser.post(url('/authorize/renew'), { csrf }, { origin: 'null', 'sec-fetch-site': 'same-origin' })).status).toBe(303);
    expect(found(userCode)).toBeUndefined();
  });

  it('a body that cannot be read is a 400 page; a GET goes back to the waiting page', async () => {
    const { browser } = await start();
    const cookie = [...browser.cookies].map(([name, value]) => `${name}=${value}`).join('; ');
    const bad = await fetch(url('/authorize/renew'), {
      method: 'POST',
      redirect: 'manual',
      headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' },
      body: `csrf=${'a'.repeat(10_000)}`,
    });
    expect(bad.status).toBe(400);
    expect(bad.headers.get('content-type')).toMatch(/text\/html/);
    const get = await browser.get(url('/authorize/renew'));
    expect(get.status).toBe(303);
    expect(get.headers.get('location')).toBe('wait');
  });

  it('after a decision there is nothing to renew: back to the waiting page, which shows the decision', async () => {
    const { browser, userCode } = await start();
    const csrf = await expireAndReadToken(browser);
    // Back before expiry (the token stays the session's): decided while the form was open.
    time.reset();
    decide(server.app.store, userCode, ALICE, 'denied');
    const response = await browser.post(url('/authorize/renew'), { csrf });
    expect(response.status).toBe(303);
    expect((await waitPage(browser)).page).toContain(html('wait.denied'));
  });
});
