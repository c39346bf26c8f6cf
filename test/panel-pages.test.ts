/**
 * The panel in people's words and language: the confirm page names the Alexa region, the access
 * and the device; linked accounts say which is which and ask before revoking; the relink notice
 * (with relink_notice on) ends once a person has linked; no autofocus hides the instructions under a phone keyboard.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LOCALES, serverTimeZone, translator } from '../src/i18n/index.js';
import { describeDevice, regionText, scopeTexts } from '../src/panel/describe.js';
import { describeBrowser } from '../src/panel/link.js';
import { csrfOf, handleOf, ingress } from './helpers/ingress.js';
import { startTestServer, type TestServer } from './helpers/oauth-server.js';
import { ALEXA_NA_REDIRECT_URI, linkFrom, pendingRequest, UA } from './helpers/panel.js';
import { realTimeClock } from './helpers/store.js';

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
    expect(nl.body).toContain('>Goedkeuren</button>');
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
    expect(text).toContain('<p class="muted" data-details>Details: address 203.0.113.5; the browser calls itself Chrome 120</p>');
    expect(text.split('203.0.113.5')).toHaveLength(2);
    expect(text).not.toContain('layla.amazon.com');
    expect(text).not.toContain('music_assistant');

    const na = await confirmPage(person(2), pendingRequest(server, UA.iPhoneAlexaApp, '203.0.113.6', ALEXA_NA_REDIRECT_URI));
    expect(na.body).toContain('Alexa (North America)');
    expect(na.body).toContain('just now, iPhone');
    expect(na.body).toContain('Details: address 203.0.113.6; the browser inside an app');
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
    expect(activePart).toContain('Linked: just now');
    expect(activePart).toContain('Access last renewed: just now');
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
    expect(asked.body).toContain('Revoke the link with <strong>Alexa (Europe)</strong>?');
    expect(asked.body).toContain('<dt>Device</dt><dd>Android phone · Chrome 120</dd>');
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

describe('what a person reads, round 2 (issue 20, points 3 and 7)', () => {
  let server: TestServer;
  const time = realTimeClock();
  beforeAll(async () => {
    server = await startTestServer({}, undefined, {}, time);
  });
  afterAll(() => server.close());

  const url = () => server.app.ingressUrl;
  type Person = { id: string; name?: string; displayName?: string };
  const get = (path: string, user: Person, headers: Record<string, string> = {}) => ingress(url(), path, { user, headers });
  const post = (path: string, form: Record<string, string>, user: Person, headers: Record<string, string> = {}) =>
    ingress(url(), path, { user, form, headers });
  async function typeCode(user: Person, code: string, headers: Record<string, string> = {}) {
    return post('/code', { code, _csrf: csrfOf((await get('/', user, headers)).body) }, user, headers);
  }
  /** The visible text of a page: tags dropped, entities of the catalogue's texts decoded. */
  const textOf = (html: string) =>
    html
      .replace(/<[^>]+>/g, ' ')
      .replace(/&#39;/g, "'")
      .replace(/&quot;/g, '"')
      .replace(/&amp;/g, '&')
      .replace(/\s+/g, ' ');

  it('the approval screen shows the typed code, large, beside "the Alexa page shows this code"', async () => {
    const code = pendingRequest(server, UA.androidAlexaApp);
    // Typed the way people type it: lower case, no dash.
    const confirm = await typeCode(person(21), code.toLowerCase());
    expect(confirm.status).toBe(200);
    const shown = `${code.slice(0, 4)}-${code.slice(4)}`;
    expect(confirm.body).toContain(
      `<p class="confirm-code"><span>The Alexa page shows this code:</span> <strong class="user-code" data-user-code>${shown}</strong></p>`,
    );
    // Above the warning and the Approve button: compared first, decided after.
    expect(confirm.body.indexOf(shown)).toBeLessThan(confirm.body.indexOf('role="note"'));
    for (const locale of LOCALES.filter((other) => other !== 'en')) {
      const page = await typeCode(person(21), pendingRequest(server, UA.iPhoneSafari), { 'accept-language': locale });
      expect(page.body).toContain(`<span>${translator(locale).t('panel.confirm.code')}</span>`);
    }
  });

  it('the confirm page speaks without jargon: a region, not "Returns to"; no "(as the browser describes itself)"', async () => {
    const confirm = await typeCode(person(22), pendingRequest(server, UA.androidChrome, '203.0.113.9'));
    expect(confirm.body).toContain('<dt>Region</dt><dd data-region>Alexa (Europe)</dd>');
    expect(confirm.body).toContain('<p class="muted" data-details>Details: address 203.0.113.9; the browser calls itself Chrome 120</p>');
    expect(confirm.body).not.toContain('Returns to');
    expect(confirm.body).not.toContain('describes itself');
  });

  it('the Code field has a hint in words, not an example code that looks typed', async () => {
    for (const locale of LOCALES) {
      const page = (await get('/', person(23), { 'accept-language': locale })).body;
      const input = /<input id="code"[^>]*>/.exec(page)?.[0] ?? '';
      expect(input).not.toContain('placeholder');
      expect(input).toContain('aria-describedby="code-hint"');
      expect(page).toContain(`<p id="code-hint" class="hint">${translator(locale).t('panel.link.codeHint', { length: 8 })}</p>`);
    }
  });

  it('after Deny: "Denied" with "denied" in the text, and "Enter another code" instead of "Link another"', async () => {
    const user = person(24);
    const confirm = await typeCode(user, pendingRequest(server, UA.androidAlexaApp));
    const done = await post('/decide', { handle: handleOf(confirm.body), decision: 'deny', _csrf: csrfOf(confirm.body) }, user);
    expect(done.body).toContain('<h1>Denied</h1>');
    expect(done.body).toContain('The link was denied.');
    expect(done.body).not.toContain('refused');
    expect(done.body).toContain('>Enter another code</a>');
    expect(done.body).not.toContain('Link another');
    // After Approve, linking another account is what a person may want next.
    const again = await typeCode(user, pendingRequest(server, UA.androidAlexaApp));
    const approved = await post('/decide', { handle: handleOf(again.body), decision: 'approve', _csrf: csrfOf(again.body) }, user);
    expect(approved.body).toContain('>Link another account</a>');
  });

  it('a code with no request says what to do next: get a new code on the Alexa page', async () => {
    for (const locale of LOCALES) {
      const wrong = await typeCode(person(25), 'BCDF-GHJK', { 'accept-language': locale });
      expect(wrong.status).toBe(404);
      // The button the person must tap, named as the Alexa page names it.
      expect(textOf(wrong.body)).toContain(translator(locale).t('wait.renew'));
    }
  });

  it('times are 24-hour where the locale uses them, and the panel names its time zone', async () => {
    const user = person(26);
    await linkFrom(server, user, UA.androidChrome);
    const grantId = server.app.store.grants.listForSubject(user.id)[0]!.id;
    const ask = async (language: string) => {
      const token = csrfOf((await get('/links', user, { 'accept-language': language })).body);
      return (await post('/links/revoke', { grant: grantId, _csrf: token }, user, { 'accept-language': language })).body;
    };
    const made = /<dd><time datetime="[^"]+">([^<]+)<\/time><\/dd>/;
    expect(made.exec(await ask('en-GB'))?.[1]).not.toMatch(/AM|PM/);
    expect(made.exec(await ask('en-US'))?.[1]).toMatch(/AM|PM/);
    expect(made.exec(await ask('en-GB'))?.[1]).toBe(translator('en', 'GB').dateTime(server.app.store.grants.get(grantId)!.createdAt));
    const page = (await get('/links', user)).body;
    expect(page).toContain(`Times are in the ${serverTimeZone()} time zone.`);
  });

  it('dates older than a day are absolute and readable without hovering', async () => {
    const user = person(27);
    await linkFrom(server, user, UA.iPhoneSafari);
    const grant = server.app.store.grants.listForSubject(user.id)[0]!;
    time.advance(40 * 86_400_000);
    try {
      const page = (await get('/links', user)).body;
      expect(page).toContain(`Linked: ${en.dateTime(grant.createdAt)}`);
      expect(page).not.toContain('last month');
      // Nothing in a link's rows hides behind a tooltip.
      expect(/<ul class="links">[\s\S]*?<\/ul>/.exec(page)?.[0]).not.toContain('title=');
    } finally {
      time.reset();
    }
  });

  it('ended links say when and by whom', async () => {
    const user = person(28);
    await linkFrom(server, user, UA.androidAlexaApp);
    const grantId = server.app.store.grants.listForSubject(user.id)[0]!.id;
    expect(server.app.store.ops.revokeOwnLink(user.id, grantId).status).toBe('revoked');
    const revokedAt = server.app.store.grants.get(grantId)!.revokedAt!;
    time.advance(3 * 86_400_000);
    try {
      const ended = (await get('/links', user)).body.split('<details class="ended">')[1] ?? '';
      expect(ended).toContain('revoked by you');
      expect(ended).toContain(`Ended: ${en.dateTime(revokedAt)}`);
    } finally {
      time.reset();
    }
  });

  it('without a name from Home Assistant the page says "You are signed in", never "as you"', async () => {
    for (const locale of LOCALES) {
      const page = (await get('/', { id: 'e'.repeat(32), name: '', displayName: '' }, { 'accept-language': locale })).body;
      expect(page).toContain(translator(locale).t('panel.signedIn'));
      expect(page).not.toContain('<strong></strong>');
      expect(page).not.toMatch(/ as <strong>you<\/strong>| als <strong>(dich|jou)<\/strong>|en tant que <strong>vous<\/strong>/);
    }
  });
});
