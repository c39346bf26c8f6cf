/**
 * The panel in people's words and language: the confirm page names the Alexa region, the access
 * and the device; linked accounts say which is which and ask before revoking; the relink notice
 * (with relink_notice on) ends once a person has linked; no autofocus hides the instructions under a phone keyboard.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { translator } from '../src/i18n/index.js';
import { describeDevice, regionText, scopeTexts } from '../src/panel/describe.js';
import { describeBrowser } from '../src/panel/link.js';
import { csrfOf, handleOf, ingress } from './helpers/ingress.js';
import { startTestServer, type TestServer } from './helpers/oauth-server.js';
import { ALEXA_NA_REDIRECT_URI, linkFrom, pendingRequest, UA } from './helpers/panel.js';

const en = translator('en');
const person = (n: number) => ({ id: `${String(n).padStart(2, '0')}`.repeat(16), name: `p${n}`, displayName: `Person ${n}` });

describe('devices from real User-Agents', () => {
  it.each([
    [UA.androidChrome, 'Chrome 120 on Android phone'],
    [UA.androidAlexaApp, 'in-app browser on Android phone'],
    [UA.samsung, 'Samsung Internet 23 on Android phone'],
    [UA.androidTablet, 'Chrome 120 on Android tablet'],
    [UA.iPhoneSafari, 'Safari 17 on iPhone'],
    [UA.iPhoneAlexaApp, 'in-app browser on iPhone'],
    [UA.iPad, 'Safari 16 on iPad'],
    [UA.windowsEdge, 'Edge 120 on Windows computer'],
    [UA.macFirefox, 'Firefox 121 on Mac'],
    [UA.chromebook, 'Chrome 120 on Chromebook'],
    [UA.linuxFirefox, 'Firefox 121 on Linux computer'],
    ['curl/8.5.0', 'an unknown browser on an unknown device'],
  ])('%s → %s', (userAgent, expected) => {
    expect(describeBrowser(userAgent)).toBe(expected);
  });

  it('never says Linux or Chrome for the Alexa app on Android (a WebView says both)', () => {
    expect(describeDevice(UA.androidAlexaApp)).toEqual({ device: 'androidPhone', browser: 'inApp', version: undefined });
  });
});

describe('regions and access in words', () => {
  it('names Alexa regions by their redirect host, other hosts as they are', () => {
    expect(regionText(en, 'https://pitangui.amazon.com/api/skill/link/X')).toBe('Alexa (North America)');
    expect(regionText(en, 'https://layla.amazon.com/api/skill/link/X')).toBe('Alexa (Europe)');
    expect(regionText(en, 'https://alexa.amazon.co.jp/api/skill/link/X')).toBe('Alexa (Japan)');
    expect(regionText(en, 'https://skills.example.test/callback')).toBe('skills.example.test');
    expect(regionText(translator('de'), 'https://layla.amazon.com/x')).toBe('Alexa (Europa)');
  });

  it('says what a scope allows; an unknown scope is shown raw', () => {
    expect(scopeTexts(en, 'music_assistant')).toEqual(['Play music with Music Assistant']);
    expect(scopeTexts(en, 'music_assistant other:scope')).toEqual(['Play music with Music Assistant', 'other:scope']);
  });
});

describe('panel pages', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ extra_redirect_uris: ['https://skills.example.test/callback'] });
  });
  afterAll(() => server.close());

  const url = () => server.app.ingressUrl;
  const get = (path: string, user: ReturnType<typeof person>, headers: Record<string, string> = {}) => ingress(url(), path, { user, headers });
  const post = (path: string, form: Record<string, string>, user: ReturnType<typeof person>, headers: Record<string, string> = {}) =>
    ingress(url(), path, { user, form, headers });

  async function confirmPage(user: ReturnType<typeof person>, userCode: string, headers: Record<string, string> = {}) {
    const token = csrfOf((await get('/', user, headers)).body);
    return post('/code', { code: userCode, _csrf: token }, user, headers);
  }

  it('speaks the language of Accept-Language', async () => {
    const user = person(1);
    const de = await get('/', user, { 'accept-language': 'de-DE,de;q=0.9,en;q=0.5' });
    expect(de.body).toContain('<html lang="de">');
    expect(de.body).toContain('>Alexa verknüpfen</a>');
    expect(de.body).toContain('>Weiter</button>');
    const confirm = await confirmPage(user, pendingRequest(server, UA.androidChrome), { 'accept-language': 'de' });
    expect(confirm.body).toContain('>Zulassen</button>');
    expect(confirm.body).toContain('>Ablehnen</button>');
    expect(confirm.body).toContain('Alexa (Europa)');
    expect(confirm.body).toContain('Android-Handy');
    const nl = await confirmPage(user, pendingRequest(server, UA.iPhoneSafari), { 'accept-language': 'nl-BE' });
    expect(nl.body).toContain('>Toestaan</button>');
    const fr = await confirmPage(user, pendingRequest(server, UA.iPhoneSafari), { 'accept-language': 'fr-FR' });
    expect(fr.body).toContain('>Autoriser</button>');
    expect(fr.body).toContain('Écouter de la musique avec Music Assistant');
    // Plain-text answers too.
    expect((await get('/nowhere', user, { 'accept-language': 'de' })).body).toBe('Nicht gefunden\n');
  });

  it('the confirm page says region, access and device in words, and the address only in the details line', async () => {
    const confirm = await confirmPage(person(2), pendingRequest(server, UA.androidChrome, '203.0.113.5'));
    expect(confirm.status).toBe(200);
    const text = confirm.body;
    expect(text).toMatch(/<dd data-region>Alexa \(Europe\)<\/dd>/);
    expect(text).toMatch(/<dd data-access>Play music with Music Assistant<\/dd>/);
    expect(text).toMatch(/<dd data-asked><time [^>]+>just now, Android phone<\/time><\/dd>/);
    expect(text).toContain('<p class="muted" data-details>Details: from 203.0.113.5, Chrome 120 (as the browser describes itself)</p>');
    expect(text.split('203.0.113.5')).toHaveLength(2);
    expect(text).not.toContain('layla.amazon.com');
    expect(text).not.toContain('music_assistant');

    const na = await confirmPage(person(2), pendingRequest(server, UA.iPhoneAlexaApp, '203.0.113.6', ALEXA_NA_REDIRECT_URI));
    expect(na.body).toContain('Alexa (North America)');
    expect(na.body).toContain('just now, iPhone');
    expect(na.body).toContain('from 203.0.113.6, in-app browser');
    const other = await confirmPage(person(2), pendingRequest(server, UA.windowsEdge, '203.0.113.7', 'https://skills.example.test/callback'));
    expect(other.body).toMatch(/<dd data-region>skills\.example\.test<\/dd>/);
  });

  it('after Approve, the main message sends the person back to the Alexa app; finishing here is a secondary link', async () => {
    const user = person(3);
    const confirm = await confirmPage(user, pendingRequest(server, UA.androidAlexaApp));
    const done = await post('/decide', { handle: handleOf(confirm.body), decision: 'approve', _csrf: csrfOf(confirm.body) }, user);
    expect(done.body).toMatch(/<div class="next-step" role="status">\s*<p class="next-step-title">Go back to the Alexa app<\/p>/);
    const finish = /<a href="([^"]+)" target="_blank" rel="noopener noreferrer">Finish linking here<\/a>/.exec(done.body);
    expect(finish?.[1]).toBe(`${server.base}/authorize/continue`);
    // No button-styled Continue any more.
    expect(done.body).not.toMatch(/class="button"[^>]*>Continue</);
  });

  it('has no autofocus on the Code field', async () => {
    const page = (await get('/', person(4))).body;
    expect(page).toContain('<input id="code"');
    expect(page).not.toContain('autofocus');
  });

  it('the relink notice (relink_notice on) is gone for a person once they have a link', async () => {
    const relink = await startTestServer({ relink_notice: true });
    try {
      const page = async (user: ReturnType<typeof person>) => (await ingress(relink.app.ingressUrl, '/', { user })).body;
      const user = person(5);
      expect(await page(user)).toContain('must be made again');
      await linkFrom(relink, user, UA.androidAlexaApp);
      expect(await page(user)).not.toContain('must be made again');
      // Still shown to someone who has not linked.
      expect(await page(person(6))).toContain('must be made again');
    } finally {
      await relink.close();
    }
  });

  it('each link says its region, device and when it was made and used; ended links fold away', async () => {
    const user = person(7);
    await linkFrom(server, user, UA.androidAlexaApp);
    await linkFrom(server, user, UA.iPhoneSafari, ALEXA_NA_REDIRECT_URI);
    await linkFrom(server, user, UA.windowsEdge);
    const [, , oldest] = server.app.store.grants.listForSubject(user.id);
    expect(server.app.store.ops.revokeOwnLink(user.id, oldest!.id).status).toBe('revoked');
    const page = (await get('/links', user)).body;
    const [activePart, endedPart] = page.split('<details class="ended">');
    expect(endedPart).toBeDefined();
    expect(endedPart).toContain('<summary>Ended links (1)</summary>');
    expect(endedPart).toContain('in-app browser');
    expect(endedPart).toContain('revoked by you');
    expect(endedPart).not.toContain('>Revoke</button>');
    expect(activePart).toContain('Alexa (North America)');
    expect(activePart).toContain('iPhone · Safari 17');
    expect(activePart).toContain('Windows computer · Edge 120');
    expect(activePart).toContain('Linked just now · last used just now');
    expect((activePart!.match(/>Revoke<\/button>/g) ?? []).length).toBe(2);
  });

  it('a link keeps its region and device after its code and the audit trail are gone', async () => {
    const user = person(8);
    await linkFrom(server, user, UA.iPhoneSafari, ALEXA_NA_REDIRECT_URI);
    // What pruning removes a day (codes) and 90 days (audit) later: the link must not depend on it.
    server.app.store.db.exec('DELETE FROM authorization_codes; DELETE FROM audit_events;');
    const page = (await get('/links', user)).body;
    expect(page).toContain('Alexa (North America)');
    expect(page).toContain('iPhone · Safari 17');
  });

  it('Revoke asks first: without confirm=1 nothing is revoked; with it and the CSRF token it is', async () => {
    const user = person(8);
    await linkFrom(server, user, UA.androidChrome);
    const grantId = server.app.store.grants.listForSubject(user.id)[0]!.id;
    const token = csrfOf((await get('/links', user)).body);
    const asked = await post('/links/revoke', { grant: grantId, _csrf: token }, user);
    expect(asked.status).toBe(200);
    expect(asked.body).toMatch(/Revoke the link of <strong>Alexa \(Europe\)<\/strong> made on .+ from Android phone · Chrome 120\?/);
    expect(asked.body).toContain('name="confirm" value="1"');
    expect(server.app.store.grants.get(grantId)?.revokedAt).toBeUndefined();
    // The confirmation is a form post like any other: without the token it is refused.
    expect((await post('/links/revoke', { grant: grantId, confirm: '1' }, user)).status).toBe(403);
    expect(server.app.store.grants.get(grantId)?.revokedAt).toBeUndefined();
    const done = await post('/links/revoke', { grant: grantId, confirm: '1', _csrf: csrfOf(asked.body) }, user);
    expect(done.status).toBe(303);
    expect(server.app.store.grants.get(grantId)?.revokedReason).toBe('user');
    // Asking about a link that is not the person's own (or not active) asks nothing.
    const other = await post('/links/revoke', { grant: grantId, _csrf: token }, user);
    expect(other.status).toBe(303);
    expect(other.headers.location).toMatch(/\/links\?revoked=0$/);
    expect((await post('/links/revoke', { grant: 'x'.repeat(40), _csrf: token }, user)).status).toBe(303);
  });

  it('Activity counts renewals in the language, with its plural rules', async () => {
    const user = person(9);
    server.app.store.audit.recordDaily('token_refreshed', { grantId: 'g'.repeat(32), subjectId: user.id, details: { ip: '192.0.2.1' } });
    server.app.store.audit.recordDaily('token_refreshed', { grantId: 'g'.repeat(32), subjectId: user.id, details: { ip: '192.0.2.1' } });
    expect((await get('/activity', user, { 'accept-language': 'de' })).body).toContain('Alexa hat ihren Zugriff 2-mal erneuert');
    expect((await get('/activity', user)).body).toContain('Alexa renewed its access 2 times');
  });
});
