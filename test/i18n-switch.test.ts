/**
 * Choosing the language by hand (issue 21): whether Alexa's in-app browser sends Accept-Language is
 * unverified, so the waiting page and the panel offer each language in its own name. `?lang=xx`
 * sets the cookie `alexa_link_lang` (Path=/, SameSite=Lax, a year, nothing else in it), and a valid
 * cookie or query value wins over Accept-Language; anything else is ignored.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LANGUAGE_NAMES } from '../src/http/locale.js';
import { LOCALES } from '../src/i18n/index.js';
import { Browser } from './helpers/browser.js';
import { ingress } from './helpers/ingress.js';
import { pkcePair } from './helpers/link.js';
import { CLIENT_ID, REDIRECT_URI, startLink, startTestServer, type TestServer } from './helpers/oauth-server.js';

const NAMES = LANGUAGE_NAMES;
const USER = { id: '7a'.repeat(16), name: 'zoe', displayName: 'Zoë' };
const PARAMS = {
  client_id: CLIENT_ID,
  redirect_uri: REDIRECT_URI,
  response_type: 'code',
  code_challenge: pkcePair().challenge,
  code_challenge_method: 'S256',
} as const;

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer({});
});
afterAll(() => server.close());

const langOf = (page: string): string | undefined => /<html lang="([^"]+)"/.exec(page)?.[1];
/** The switch: a nav with an accessible name, one link per language, each in its own language. */
function switchLinks(page: string): Array<{ lang: string; href: string; text: string; current: boolean }> {
  const nav = /<nav class="lang-switch" aria-label="[^"]+">([\s\S]*?)<\/nav>/.exec(page)?.[1] ?? '';
  return [...nav.matchAll(/<a href="([^"]+)" lang="([a-z]{2})" hreflang="[a-z]{2}"( aria-current="true")?>([^<]+)<\/a>/g)].map((m) => ({
    href: m[1]!.replace(/&amp;/g, '&'),
    lang: m[2]!,
    current: m[3] !== undefined,
    text: m[4]!,
  }));
}

describe('the waiting page', () => {
  it('offers every language in its own name, the current one marked', async () => {
    const { page } = await startLink(new Browser({ 'accept-language': 'nl' }), server.base, PARAMS);
    const links = switchLinks(page);
    expect(links.map((link) => [link.lang, link.text])).toEqual(LOCALES.map((locale) => [locale, NAMES[locale]]));
    expect(links.filter((link) => link.current).map((link) => link.lang)).toEqual(['nl']);
    expect(links.find((link) => link.lang === 'fr')!.href).toBe('/authorize/wait?lang=fr');
  });

  it('?lang= switches the language, sets the cookie, and the cookie outlives Accept-Language', async () => {
    const browser = new Browser({ 'accept-language': 'de-DE,de;q=0.9' });
    const { waitUrl, page } = await startLink(browser, server.base, PARAMS);
    expect(langOf(page)).toBe('de');

    const chosen = new URL(waitUrl);
    chosen.search = '?lang=fr';
    const response = await browser.get(chosen);
    expect(response.status).toBe(200);
    expect(langOf(await response.text())).toBe('fr');
    const cookie = response.headers.getSetCookie().find((line) => line.startsWith('alexa_link_lang='));
    expect(cookie).toBeDefined();
    const attributes = cookie!.split(';').map((part) => part.trim().toLowerCase());
    expect(attributes[0]).toBe('alexa_link_lang=fr');
    expect(attributes).toEqual(expect.arrayContaining(['path=/', 'max-age=31536000', 'samesite=lax']));
    expect(attributes.filter((part) => !/^(alexa_link_lang=|path=|max-age=|samesite=|secure$)/.test(part))).toEqual([]);
    expect(response.headers.get('vary')).toMatch(/Cookie/i);

    // The next page, without ?lang=, keeps French: the cookie wins over Accept-Language: de.
    const again = await browser.get(waitUrl);
    expect(langOf(await again.text())).toBe('fr');
  });

  it.each(['?lang=xx', '?lang=DE%0d%0aSet-Cookie:%20a=b', '?lang=de&lang=fr', '?lang=de-AT'])('ignores %s and sets no cookie', async (query) => {
    const browser = new Browser({ 'accept-language': 'nl' });
    const { waitUrl } = await startLink(browser, server.base, PARAMS);
    const bad = new URL(waitUrl);
    bad.search = query;
    const response = await browser.get(bad);
    expect(langOf(await response.text())).toBe('nl');
    expect(response.headers.getSetCookie().filter((line) => line.startsWith('alexa_link_lang='))).toEqual([]);
  });
});

describe('the panel', () => {
  it('offers the switch and follows ?lang= and the cookie over Accept-Language', async () => {
    const url = server.app.ingressUrl;
    const first = await ingress(url, '/', { user: USER, headers: { 'accept-language': 'en' } });
    expect(langOf(first.body)).toBe('en');
    expect(switchLinks(first.body).map((link) => link.text)).toEqual(Object.values(NAMES));

    const chosen = await ingress(url, '/?lang=nl', { user: USER, headers: { 'accept-language': 'en' } });
    expect(langOf(chosen.body)).toBe('nl');
    expect(String(chosen.headers['set-cookie'])).toMatch(/^alexa_link_lang=nl; /);

    const later = await ingress(url, '/activity', { user: USER, headers: { 'accept-language': 'en', cookie: 'other=1; alexa_link_lang=nl' } });
    expect(langOf(later.body)).toBe('nl');
  });

  it.each(['alexa_link_lang=xx', 'alexa_link_lang=de-AT', 'alexa_link_lang=%64%65', 'alexa_link_lang=', 'x_alexa_link_lang=fr'])(
    'ignores the cookie %s',
    async (cookie) => {
      const page = await ingress(server.app.ingressUrl, '/', { user: USER, headers: { 'accept-language': 'nl', cookie } });
      expect(langOf(page.body)).toBe('nl');
      expect(String(page.headers['set-cookie'] ?? '')).not.toMatch(/alexa_link_lang/);
    },
  );
});
