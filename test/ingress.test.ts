/** The ingress listener: who may connect, who they are, CSRF, and the panel's own flow. */
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TUNABLES } from '../src/config/tunables.js';
import { Browser } from './helpers/browser.js';
import { csrfOf, handleOf, INGRESS_PATH, ingress } from './helpers/ingress.js';
import { link, pkcePair, refresh } from './helpers/link.js';
import { CLIENT_ID, REDIRECT_URI, startLink, startTestServer, type TestServer } from './helpers/oauth-server.js';

const ALICE = { id: 'a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1', name: 'alice', displayName: 'Alice Example' };
const BOB = { id: 'b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2', name: 'bob', displayName: 'Bob Example' };

let server: TestServer;
let ingressUrl: string;
beforeAll(async () => {
  // The relink notice on, as for an admin who says Alexa was linked with the earlier server.
  server = await startTestServer({ relink_notice: true });
  ingressUrl = server.app.ingressUrl;
});
afterAll(() => server.close());

const get = (path: string, user: typeof ALICE | undefined = ALICE, headers: Record<string, string> = {}) => ingress(ingressUrl, path, { user, headers });
const post = (path: string, form: Record<string, string>, user: typeof ALICE = ALICE, headers: Record<string, string> = {}) =>
  ingress(ingressUrl, path, { user, form, headers });

async function postWithToken(path: string, form: Record<string, string>, user = ALICE, headers: Record<string, string> = {}) {
  const token = csrfOf((await get('/', user)).body);
  return post(path, { ...form, _csrf: token }, user, headers);
}

describe('who may connect', () => {
  it('refuses a peer other than a trusted proxy with 403, before reading the request', async () => {
    const untrusted = await startTestServer({}, undefined, { INGRESS_TRUSTED_PROXIES: '127.0.0.2' });
    try {
      const response = await new Promise<string>((resolve, reject) => {
        // Only half a request line: the answer comes without the request ever being complete.
        const socket = connect({ host: '127.0.0.1', port: Number(new URL(untrusted.app.ingressUrl).port) }, () => socket.write('GET / HT'));
        let data = '';
        socket.on('data', (chunk) => (data += chunk.toString()));
        socket.on('close', () => resolve(data));
        socket.on('error', reject);
      });
      expect(response).toMatch(/^HTTP\/1\.1 403 Forbidden/);
      // A forged identity from that peer changes nothing.
      const forged = await ingress(untrusted.app.ingressUrl, '/', { user: ALICE }).catch(() => ({ status: 0 }));
      expect([403, 0]).toContain(forged.status);
      expect(untrusted.lines.some((line) => line.includes('untrusted peer'))).toBe(true);
    } finally {
      await untrusted.close();
    }
  });

  it('accepts the trusted proxy, and ranges of them', async () => {
    const ranged = await startTestServer({}, undefined, { INGRESS_TRUSTED_PROXIES: '127.0.0.0/8' });
    try {
      expect((await ingress(ranged.app.ingressUrl, '/', { user: ALICE, localAddress: '127.0.0.9' })).status).toBe(200);
    } finally {
      await ranged.close();
    }
  });

  it('answers 401 without X-Remote-User-Id, and for a malformed one', async () => {
    expect((await ingress(ingressUrl, '/', {})).status).toBe(401);
    expect((await get('/', { ...ALICE, id: '../../etc' })).status).toBe(401);
  });

  it('frames only within the same origin', async () => {
    const response = await get('/');
    expect(response.headers['content-security-policy']).toContain("frame-ancestors 'self'");
    expect(response.headers['x-frame-options']).toBe('SAMEORIGIN');
  });
});

describe('the panel', () => {
  it('shows a Code field and Continue, with every link and form under the ingress path', async () => {
    const page = (await get('/')).body;
    expect(page).toMatch(/<label for="code">Code<\/label>/);
    expect(page).toMatch(/>Continue<\/button>/);
    const targets = [...page.matchAll(/(?:href|action|src)="([^"]+)"/g)].map((match) => match[1]!);
    expect(targets.length).toBeGreaterThan(4);
    for (const target of targets) expect(target.startsWith(INGRESS_PATH)).toBe(true);
  });

  it('reads names as the Supervisor sends them, UTF-8 bytes, and keeps a name that is not UTF-8 as it came', async () => {
    // aiohttp writes header values as UTF-8; Node's parser hands each byte over as one Latin-1 character.
    const asSent = (text: string): string => Buffer.from(text, 'utf8').toString('latin1');
    const jannik = { id: 'c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3', name: 'jannik', displayName: asSent('Jannik Müller-Lüdenscheidt') };
    const page = (await get('/', jannik)).body;
    expect(page).toContain('Jannik Müller-Lüdenscheidt');
    expect(page).not.toContain('MÃ¼ller');
    // A Latin-1 name (one byte per letter) is not valid UTF-8: shown as it came, not dropped or mangled.
    const latin = { id: 'd4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4', name: 'chloe', displayName: 'Chlo\u00e9 Dubois' };
    expect((await get('/', latin)).body).toContain('Chloé Dubois');
  });

  it('refuses a cross-site form post (CSRF), with or without a token', async () => {
    expect((await post('/code', { code: 'BCDF-GHJK' })).status).toBe(403);
    expect((await post('/code', { code: 'BCDF-GHJK', _csrf: '1.abc' })).status).toBe(403);
    expect((await postWithToken('/code', { code: 'BCDF-GHJK' }, ALICE, { 'sec-fetch-site': 'cross-site' })).status).toBe(403);
    // Another user's token is no good either.
    const bobToken = csrfOf((await get('/', BOB)).body);
    expect((await post('/code', { code: 'BCDF-GHJK', _csrf: bobToken })).status).toBe(403);
    expect((await postWithToken('/code', { code: 'BCDF-GHJK' }, ALICE, { 'sec-fetch-site': 'same-origin' })).status).toBe(404);
  });

  it('approves a request by its code, showing what asks, and the approver becomes the subject', async () => {
    const browser = new Browser({ 'user-agent': 'Mozilla/5.0 (iPhone) AppleWebKit Safari/604.1' });
    const { verifier, challenge } = pkcePair();
    const { userCode } = await startLink(browser, server.base, {
      client_id: CLIENT_ID,
      redirect_uri: REDIRECT_URI,
      response_type: 'code',
      state: 'p=1',
      code_challenge: challenge,
      code_challenge_method: 'S256',
    });
    const confirm = await postWithToken('/code', { code: userCode.toLowerCase().replace('-', ' ') });
    expect(confirm.status).toBe(200);
    expect(confirm.body).toContain('Amazon Alexa');
    expect(confirm.body).toContain('Alexa (Europe)');
    expect(confirm.body).toContain('Play music with Music Assistant');
    expect(confirm.body).toMatch(/just now, iPhone/);
    expect(confirm.body).toMatch(/Details: address 127\.0\.0\.1; the browser calls itself Safari/);
    expect(confirm.body).toMatch(/Approve only if you started linking in the Alexa app/);
    const done = await post('/decide', { handle: handleOf(confirm.body), decision: 'approve', _csrf: csrfOf(confirm.body) });
    expect(done.body).toContain('Approved');
    expect(done.body).toContain(`${server.base}/authorize/continue`);
    // A second decision on the same request does nothing.
    expect((await post('/decide', { handle: handleOf(confirm.body), decision: 'deny', _csrf: csrfOf(confirm.body) })).status).toBe(409);

    const callback = Browser.location(await browser.get(`${server.base}/authorize/continue`), server.base);
    const exchanged = await fetch(`${server.base}/token`, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        authorization: `Basic ${Buffer.from(`${encodeURIComponent(CLIENT_ID)}:${encodeURIComponent(server.options.alexa_client_secret as string)}`).toString('base64')}`,
      },
      body: new URLSearchParams({
        grant_type: 'authorization_code',
        code: callback.searchParams.get('code')!,
        redirect_uri: REDIRECT_URI,
        code_verifier: verifier,
      }),
    });
    expect(exchanged.status).toBe(200);
    const grant = server.app.store.grants.listForSubject(ALICE.id)[0];
    expect(grant?.subject).toEqual(ALICE);
  });

  it(`limits wrong codes to ${TUNABLES.limits.wrongCodes.limit} per window for each HA user`, async () => {
    const carol = { id: 'c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3', name: 'carol', displayName: 'Carol' };
    for (let i = 0; i < TUNABLES.limits.wrongCodes.limit; i++) expect((await postWithToken('/code', { code: 'BCDF-GHJK' }, carol)).status).toBe(404);
    expect((await postWithToken('/code', { code: 'BCDF-GHJK' }, carol)).status).toBe(429);
    // Another person is not affected.
    expect((await postWithToken('/code', { code: 'BCDF-GHJK' }, BOB)).status).toBe(404);
  });

  it(`of 30 wrong codes sent at once, exactly ${TUNABLES.limits.wrongCodes.limit} are looked up`, async () => {
    const frank = { id: 'f6f6f6f6f6f6f6f6f6f6f6f6f6f6f6f6', name: 'frank', displayName: 'Frank' };
    const token = csrfOf((await get('/', frank)).body);
    const statuses = (await Promise.all(Array.from({ length: 30 }, () => post('/code', { code: 'BCDF-GHJK', _csrf: token }, frank)))).map(
      (response) => response.status,
    );
    expect(statuses.filter((status) => status === 404)).toHaveLength(TUNABLES.limits.wrongCodes.limit);
    expect(statuses.filter((status) => status === 429)).toHaveLength(30 - TUNABLES.limits.wrongCodes.limit);
  });

  it("lists only the person's own links and revokes them; the next refresh fails", async () => {
    const dave = { id: 'd4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4', name: 'dave', displayName: 'Dave' };
    const linked = await link(server, dave);
    const page = await get('/links', dave);
    expect(page.body).toContain('Alexa (Europe)');
    expect(page.body).toMatch(/>Revoke<\/button>/);
    const grantId = /name="grant" value="([0-9a-f]{32})"/.exec(page.body)![1]!;
    // Bob cannot revoke Dave's link, even with its id.
    await postWithToken('/links/revoke', { grant: grantId }, BOB);
    expect((await refresh(server, linked.refreshToken)).status).toBe(200);
    // Without confirm=1 the panel only asks.
    const asked = await postWithToken('/links/revoke', { grant: grantId }, dave);
    expect(asked.status).toBe(200);
    expect(asked.body).toContain('Revoke this link?');
    expect(server.app.store.grants.get(grantId)?.revokedAt).toBeUndefined();
    const revoked = await postWithToken('/links/revoke', { grant: grantId, confirm: '1' }, dave);
    expect(revoked.status).toBe(303);
    expect(revoked.headers.location).toBe(`${INGRESS_PATH}/links?revoked=1`);
    expect((await refresh(server, linked.refreshToken)).json).toMatchObject({ error: 'invalid_grant' });
    expect((await get('/links', dave)).body).toContain('revoked by you');
    expect((await get('/links', BOB)).body).not.toContain(grantId);
  });

  it("shows the person's activity newest first, paged", async () => {
    const erin = { id: 'e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5', name: 'erin', displayName: 'Erin' };
    for (let i = 0; i < 25; i++) server.app.store.audit.record('token_refreshed', { subjectId: erin.id, details: { ip: `192.0.2.${i}` } });
    server.app.store.audit.record('grant_revoked', { subjectId: erin.id, details: { by: 'user' } });
    const first = (await get('/activity', erin)).body;
    expect((first.match(/<li>/g) ?? []).length).toBe(20);
    expect(first.indexOf('You revoked')).toBeLessThan(first.indexOf('Alexa renewed its access'));
    const older = /href="[^"]*\/activity\?before=(\d+)"/.exec(first)?.[1];
    expect(older).toBeDefined();
    const second = (await get(`/activity?before=${older}`, erin)).body;
    expect((second.match(/<li>/g) ?? []).length).toBe(6);
    // A renewal comes from Amazon's servers: its address stays in the audit row, off the page.
    expect(second).not.toContain('192.0.2.0');
    expect((await get('/activity', BOB)).body).not.toContain('192.0.2.0');
  });

  it('shows the relink notice, with relink_notice on, until each person dismisses it', async () => {
    expect((await get('/', BOB)).body).toContain('Links made with the earlier Alexa OAuth server must be made again');
    expect((await postWithToken('/notices/dismiss', { notice: 'relink' }, BOB)).status).toBe(303);
    expect((await get('/', BOB)).body).not.toContain('must be made again');
    const grace = { id: 'a7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a7', name: 'grace', displayName: 'Grace' };
    expect((await get('/', grace)).body).toContain('must be made again');
  });
});
