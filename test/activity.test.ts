/**
 * Activity a person can read (issue 20): one line per link made, naming its Alexa region and the
 * device it was made on; revocations say who revoked; addresses only in a line's details, and only
 * the address of the person's own browser (never Alexa's servers, never as the main text).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Browser } from './helpers/browser.js';
import { basic, postForm } from './helpers/http.js';
import { csrfOf, handleOf, ingress } from './helpers/ingress.js';
import { pkcePair } from './helpers/link.js';
import { CLIENT_ID, CLIENT_SECRET, REDIRECT_URI, startLink, startTestServer, type TestServer } from './helpers/oauth-server.js';
import { UA } from './helpers/panel.js';

/** The phone whose browser the Alexa app opened, and one of Amazon's servers, behind a trusted proxy. */
const PHONE_IP = '203.0.113.44';
const AMAZON_IP = '198.51.100.77';
const person = (n: number) => ({ id: `${String(n).padStart(2, '0')}`.repeat(16), name: `p${n}`, displayName: `Person ${n}` });
type Person = ReturnType<typeof person>;

interface Line {
  /** The line without its details. */
  main: string;
  /** The text inside its <details>, if any. */
  details: string | undefined;
}

const text = (html: string) =>
  html
    .replace(/<[^>]+>/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();

function linesOf(page: string): Line[] {
  const list = /<ol class="activity">([\s\S]*?)<\/ol>/.exec(page)?.[1] ?? '';
  return [...list.matchAll(/<li(?:\s[^>]*)?>([\s\S]*?)<\/li>/g)].map(([, inner = '']) => {
    const details = /<details[^>]*>([\s\S]*?)<\/details>/.exec(inner)?.[1];
    return { main: text(inner.replace(/<details[^>]*>[\s\S]*?<\/details>/, '')), details: details === undefined ? undefined : text(details) };
  });
}

describe('Activity', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ trusted_proxies: ['127.0.0.1'] });
  });
  afterAll(() => server.close());

  const panel = (path: string, user: Person, form?: Record<string, string>, headers: Record<string, string> = {}) =>
    ingress(server.app.ingressUrl, path, { user, headers, ...(form ? { form } : {}) });
  const amazon = (form: Record<string, string>, path = '/token') =>
    postForm(`${server.base}${path}`, form, { authorization: basic(CLIENT_ID, CLIENT_SECRET), 'x-forwarded-for': AMAZON_IP });
  const activity = async (user: Person, headers: Record<string, string> = {}) => (await panel('/activity', user, undefined, headers)).body;

  /** A whole link as it happens: the phone asks, the person approves in the panel, Alexa exchanges the code. */
  async function link(user: Person, userAgent: string): Promise<{ refreshToken: string }> {
    const phone = new Browser({ 'user-agent': userAgent, 'x-forwarded-for': PHONE_IP });
    const { verifier, challenge } = pkcePair();
    const { userCode } = await startLink(phone, server.base, {
      client_id: CLIENT_ID,
      redirect_uri: REDIRECT_URI,
      response_type: 'code',
      code_challenge: challenge,
      code_challenge_method: 'S256',
    });
    const confirm = await panel('/code', user, { code: userCode, _csrf: csrfOf((await panel('/', user)).body) });
    const done = await panel('/decide', user, { handle: handleOf(confirm.body), decision: 'approve', _csrf: csrfOf(confirm.body) });
    expect(done.status).toBe(200);
    const released = Browser.location(await phone.get(new URL('/authorize/continue', server.base)), server.base);
    const tokens = await amazon({
      grant_type: 'authorization_code',
      code: released.searchParams.get('code')!,
      redirect_uri: REDIRECT_URI,
      code_verifier: verifier,
    });
    expect(tokens.status).toBe(200);
    return { refreshToken: tokens.json!.refresh_token as string };
  }

  it('after a full link shows exactly one line for the link made, naming its region and device', async () => {
    const user = person(1);
    const { refreshToken } = await link(user, UA.androidAlexaApp);
    expect((await amazon({ grant_type: 'refresh_token', refresh_token: refreshToken })).status).toBe(200);
    const page = await activity(user);
    const lines = linesOf(page);
    const made = lines.filter((line) => /\blinked\b/.test(line.main));
    expect(made).toHaveLength(1);
    expect(made[0]!.main).toContain('Alexa (Europe) linked');
    expect(made[0]!.main).toContain('Android phone');
    expect(page).not.toContain('handed to the Alexa app');
    expect(page).not.toContain('Alexa was linked');
    expect(lines.find((line) => line.main.includes('You approved'))?.main).toContain('Alexa (Europe)');
    // The same in German.
    expect(linesOf(await activity(user, { 'accept-language': 'de' })).filter((line) => line.main.includes('Alexa (Europa) verknüpft'))).toHaveLength(1);
  });

  it("shows an address only in a line's details, only the phone's, never Alexa's servers or a loopback address", async () => {
    const user = person(2);
    const { refreshToken } = await link(user, UA.iPhoneAlexaApp);
    expect((await amazon({ grant_type: 'refresh_token', refresh_token: refreshToken })).status).toBe(200);
    const page = await activity(user);
    const lines = linesOf(page);
    expect(lines.length).toBeGreaterThanOrEqual(3);
    for (const line of lines) {
      expect(line.main).not.toContain('127.0.0.1');
      expect(line.main).not.toContain(PHONE_IP);
      expect(line.main).not.toMatch(/\bfrom \d/);
    }
    expect(page).not.toContain(AMAZON_IP);
    expect(page).not.toContain('127.0.0.1');
    // The link was asked for from the phone: its address is in the details of the link made and the approval.
    expect(lines.find((line) => line.main.includes('linked'))?.details).toContain(PHONE_IP);
    expect(lines.find((line) => line.main.includes('You approved'))?.details).toContain(PHONE_IP);
    // Alexa's own calls (the renewal) have no details.
    expect(lines.find((line) => line.main.includes('renewed'))?.details).toBeUndefined();
  });

  it('revocation lines name the link and who revoked it', async () => {
    const user = person(3);
    await link(user, UA.androidAlexaApp);
    const byAlexa = await link(user, UA.iPhoneAlexaApp);
    const reused = await link(user, UA.windowsEdge);
    const [, , first] = server.app.store.grants.listForSubject(user.id);
    const links = await panel('/links', user);
    expect((await panel('/links/revoke', user, { grant: first!.id, confirm: '1', _csrf: csrfOf(links.body) })).status).toBe(303);
    expect((await amazon({ token: byAlexa.refreshToken, token_type_hint: 'refresh_token' }, '/revoke')).status).toBe(200);
    // A retired refresh token presented again: the link is revoked automatically.
    const next = await amazon({ grant_type: 'refresh_token', refresh_token: reused.refreshToken });
    expect((await amazon({ grant_type: 'refresh_token', refresh_token: next.json!.refresh_token as string })).status).toBe(200);
    expect((await amazon({ grant_type: 'refresh_token', refresh_token: reused.refreshToken })).status).toBe(400);
    await link(user, UA.macFirefox);
    expect(server.app.store.ops.revokeAllLinks(user.id)).toHaveLength(1);

    const lines = linesOf(await activity(user)).map((line) => line.main);
    expect(lines).toContainEqual(expect.stringMatching(/^\S.* You revoked Alexa \(Europe\) — Android phone · in-app browser$/));
    expect(lines).toContainEqual(expect.stringMatching(/The Alexa app revoked Alexa \(Europe\) — iPhone · in-app browser$/));
    expect(lines).toContainEqual(expect.stringMatching(/Alexa \(Europe\) — Windows computer · Edge 120 was revoked automatically/));
    expect(lines).toContainEqual(expect.stringMatching(/The administrator revoked Alexa \(Europe\) — Mac · Firefox 121$/));
    const de = linesOf(await activity(user, { 'accept-language': 'de' })).map((line) => line.main);
    expect(de).toContainEqual(expect.stringMatching(/Du hast Alexa \(Europa\) — Android-Handy · In-App-Browser widerrufen$/));
  });
});
