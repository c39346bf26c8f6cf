/**
 * The public edge under hostile traffic: nobody outside can lock Alexa out, fill the disk, or ride
 * a planted session; the admin hears about ignored forwarding; what people are shown and what is
 * logged is honest and bounded.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TUNABLES } from '../src/config/tunables.js';
import { describeBrowser } from '../src/panel/link.js';
import { recentAuditOf } from './helpers/audit.js';
import { Browser } from './helpers/browser.js';
import { basic, postForm } from './helpers/http.js';
import { csrfOf, ingress } from './helpers/ingress.js';
import { link, pkcePair, refresh } from './helpers/link.js';
import { freePort } from './helpers/net.js';
import { CLIENT_ID, decide, REDIRECT_URI, startLink, startTestServer, type TestServer, writeOptions } from './helpers/oauth-server.js';
import { startServer } from './helpers/server-process.js';
import { tempDir } from './helpers/tmp.js';

const CLI = new URL('../dist/cli.js', import.meta.url).pathname;
const ANDROID_CHROME = 'Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36';
const authorizeParams = () => ({
  client_id: CLIENT_ID,
  redirect_uri: REDIRECT_URI,
  response_type: 'code',
  state: 'st',
  code_challenge: pkcePair().challenge,
  code_challenge_method: 'S256',
});

describe('1. correct credentials are never locked out', () => {
  it('the right secret is answered after 12 wrong ones from the same address; wrong ones get 429 once the budget is spent', async () => {
    const server = await startTestServer({ log_level: 'info' });
    try {
      const linked = await link(server, { id: 'f'.repeat(32), name: 'fay' });
      const wrong = () => refreshWith(server, linked.refreshToken, 'w'.repeat(40));
      const statuses: number[] = [];
      for (let i = 0; i < 12; i++) statuses.push((await wrong()).status);
      expect(statuses).toEqual([...Array(TUNABLES.limits.failedClientAuth.limit).fill(401), 429, 429]);
      const right = await refresh(server, linked.refreshToken);
      expect(right.status).toBe(200);
      expect((await wrong()).status).toBe(429);
    } finally {
      await server.close();
    }
  });
});

function refreshWith(server: TestServer, refreshToken: string, secret: string, authorization = basic(CLIENT_ID, secret)) {
  return postForm(`${server.base}/token`, { grant_type: 'refresh_token', refresh_token: refreshToken }, { authorization });
}

describe('2. Basic credentials as clients really send them', () => {
  // What `openssl rand -base64 32` gives: "+", "/" and "=" included.
  const SECRET = 'q+7R/1xZ9a+b/c0DeFgH2IjKlMn3OpQr+sT/uVw4XyZ=';
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ alexa_client_secret: SECRET, log_level: 'info' });
  });
  afterAll(() => server.close());

  it('accepts the secret unencoded (as Authlib sends it) and form-encoded (RFC 6749 §2.3.1); a wrong one is still wrong', async () => {
    const raw = `Basic ${Buffer.from(`${CLIENT_ID}:${SECRET}`).toString('base64')}`;
    const encoded = basic(CLIENT_ID, SECRET);
    expect(raw).not.toBe(encoded);
    const { code, verifier } = await obtain(server);
    const exchanged = await postForm(
      `${server.base}/token`,
      { grant_type: 'authorization_code', code, redirect_uri: REDIRECT_URI, code_verifier: verifier },
      { authorization: raw },
    );
    expect(exchanged.status).toBe(200);
    const refreshed = await refreshWith(server, exchanged.json!.refresh_token as string, SECRET, encoded);
    expect(refreshed.status).toBe(200);
    for (const bad of [SECRET.replaceAll('+', ' '), SECRET.replaceAll('+', '-'), `${SECRET}x`, SECRET.slice(0, -1)]) {
      expect(
        (await refreshWith(server, refreshed.json!.refresh_token as string, bad, `Basic ${Buffer.from(`${CLIENT_ID}:${bad}`).toString('base64')}`)).status,
      ).toBe(401);
    }
  });

  it('the CLI prints a suitable new client secret', () => {
    const result = spawnSync(process.execPath, [CLI, 'generate-secret'], { encoding: 'utf8' });
    expect(result.status).toBe(0);
    const secret = result.stdout.trim();
    expect(secret).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(result.stderr).toContain('Your Secret');
    expect(spawnSync(process.execPath, [CLI, 'generate-secret'], { encoding: 'utf8' }).stdout.trim()).not.toBe(secret);
  });
});

/** A code for `server` through the browser flow, approved through the store. */
async function obtain(server: TestServer): Promise<{ code: string; verifier: string }> {
  const { verifier, challenge } = pkcePair();
  const browser = new Browser();
  const { userCode } = await startLink(browser, server.base, { ...authorizeParams(), code_challenge: challenge });
  decide(server.app.store, userCode, { id: 'a'.repeat(32), name: 'ann' });
  const response = await browser.get(new URL('/authorize/continue', server.base));
  return { code: Browser.location(response, server.base).searchParams.get('code')!, verifier };
}

describe('3. no session fixation', () => {
  it("a session cookie planted in the victim's browser is replaced at /authorize; the attacker sees and receives nothing", async () => {
    const server = await startTestServer({ log_level: 'info' });
    try {
      const attacker = new Browser();
      await startLink(attacker, server.base, authorizeParams());
      const planted = [...attacker.cookies.entries()];
      expect(planted).toHaveLength(1);

      const victim = new Browser();
      victim.cookies.set(planted[0]![0], planted[0]![1]);
      const { userCode } = await startLink(victim, server.base, authorizeParams());
      expect(victim.cookies.get(planted[0]![0])).not.toBe(planted[0]![1]);

      decide(server.app.store, userCode, { id: 'b'.repeat(32), name: 'victim' });
      const spied = await attacker.get(new URL('/authorize/status', server.base));
      // The planted session was ended when the victim's request was stored: the attacker sees nothing.
      expect(await spied.json()).toEqual({ status: 'unknown' });
      const stolen = await attacker.get(new URL('/authorize/continue', server.base));
      expect(stolen.headers.get('location') ?? '').not.toContain('code=');
      const finished = await victim.get(new URL('/authorize/continue', server.base));
      expect(Browser.location(finished, server.base).searchParams.get('code')).toMatch(/.+/);
    } finally {
      await server.close();
    }
  });

  it('on an https public_url the cookie is a __Host- cookie (Secure, Path=/, no Domain)', async () => {
    const server = await startTestServer({ public_url: 'https://alexa.example.net', log_level: 'info' });
    try {
      const response = await fetch(new URL(`/authorize?${new URLSearchParams(authorizeParams())}`, server.base), {
        redirect: 'manual',
        headers: { 'x-forwarded-proto': 'https' },
      });
      const cookie = response.headers.getSetCookie().join('\n');
      expect(cookie).toMatch(/^__Host-alexa_link_session=[^;]+; Path=\/;.*Secure/);
      expect(cookie).not.toMatch(/Domain=/i);
    } finally {
      await server.close();
    }
  });
});

/** Bytes the database holds (after a checkpoint, so the WAL is counted once). */
function databaseBytes(server: TestServer): number {
  const db = server.app.store.db;
  db.pragma('wal_checkpoint(TRUNCATE)');
  return (db.pragma('page_count', { simple: true }) as number) * (db.pragma('page_size', { simple: true }) as number);
}

describe('4. stored request data is bounded', () => {
  async function growth(headerValue: (i: number) => string, clientId: (i: number) => string): Promise<number> {
    const server = await startTestServer({ log_level: 'info' });
    try {
      const before = databaseBytes(server);
      for (let i = 0; i < 20; i++) {
        await fetch(new URL(`/authorize?${new URLSearchParams(authorizeParams())}`, server.base), {
          redirect: 'manual',
          headers: { 'user-agent': headerValue(i) },
        });
        await postForm(
          `${server.base}/token`,
          { grant_type: 'refresh_token', refresh_token: 'x', client_id: clientId(i), client_secret: 'y'.repeat(40) },
          { 'user-agent': headerValue(i) },
        );
      }
      return databaseBytes(server) - before;
    } finally {
      await server.close();
    }
  }

  it('40 requests with 12 KB header values grow the database no more than ordinary ones', async () => {
    const ordinary = await growth(
      () => ANDROID_CHROME,
      () => 'amzn1.application-oa2-client.0123456789abcdef',
    );
    const hostile = await growth(
      (i) => `${i}${'h'.repeat(12 * 1024)}`,
      (i) => `${i}${'c'.repeat(12 * 1024)}`,
    );
    // Page-sized steps: the ordinary run's growth plus at most a few pages for the cut-off values.
    expect(hostile).toBeLessThanOrEqual(ordinary + 4 * 4096);
  });

  it('repeated failed client logins are one audit row per hour with a count', async () => {
    const server = await startTestServer({ log_level: 'info' });
    try {
      for (let i = 0; i < 5; i++)
        await postForm(`${server.base}/token`, {
          grant_type: 'refresh_token',
          refresh_token: 'x',
          client_id: `${'c'.repeat(300)}${i}`,
          client_secret: 'y'.repeat(40),
        });
      const rows = recentAuditOf(server, 20).filter((entry) => entry.event === 'client_auth_failed');
      expect(rows).toHaveLength(1);
      expect(rows[0]!.details).toMatchObject({ count: 5, clientId: 'c'.repeat(128) });
    } finally {
      await server.close();
    }
  });
});

function writeBytes(pid: number): number {
  const match = /^write_bytes: (\d+)$/m.exec(readFileSync(`/proc/${pid}/io`, 'utf8'));
  return Number(match![1]);
}

describe('5. no disk sync per page view', () => {
  it('1,000 waiting-page hits with a session cookie write less than 1 MiB, or are refused', async () => {
    const dataDir = tempDir();
    const port = await freePort();
    await writeOptions(dataDir, port, { log_level: 'info' });
    const server = await startServer({ DATA_DIR: dataDir, PUBLIC_PORT: String(port) });
    try {
      const browser = new Browser();
      const { waitUrl } = await startLink(browser, server.url, authorizeParams());
      const pid = server.child.pid!;
      const before = writeBytes(pid);
      const statuses = new Map<number, number>();
      for (let i = 0; i < 1000; i++) {
        const response = await browser.get(waitUrl);
        await response.arrayBuffer();
        statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1);
      }
      const written = writeBytes(pid) - before;
      expect([...statuses.keys()].every((status) => status === 200 || status === 429)).toBe(true);
      // startLink loaded the page once already.
      expect(statuses.get(429)).toBe(1000 - (TUNABLES.limits.status.limit - 1));
      expect(written).toBeLessThan(1024 * 1024);
    } finally {
      await server.stop();
    }
  });
});

describe('6. the admin hears when forwarded addresses are ignored', () => {
  it('one warning per untrusted peer naming it and trusted_proxies; the trusted list is logged at start', async () => {
    const server = await startTestServer({ log_level: 'info' });
    try {
      for (let i = 0; i < 5; i++) await fetch(`${server.base}/healthz`, { headers: { 'x-forwarded-for': `203.0.113.${i}` } });
      const warnings = server.lines.filter((line) => line.includes('X-Forwarded-For from'));
      expect(warnings).toHaveLength(1);
      expect(warnings[0]).toMatch(/WARNING.*X-Forwarded-For from 127\.0\.0\.1 is ignored: .*"trusted_proxies" option \(empty\)/);
      expect(server.lines.some((line) => line.includes('trusted_proxies is empty: X-Forwarded-For is ignored'))).toBe(true);
    } finally {
      await server.close();
    }
    const trusting = await startTestServer({ log_level: 'info', trusted_proxies: ['127.0.0.1'] });
    try {
      await fetch(`${trusting.base}/healthz`, { headers: { 'x-forwarded-for': '203.0.113.9' } });
      expect(trusting.lines.filter((line) => line.includes('X-Forwarded-For from'))).toEqual([]);
      expect(trusting.lines.some((line) => line.includes('X-Forwarded-For is believed only from trusted_proxies: 127.0.0.1'))).toBe(true);
    } finally {
      await trusting.close();
    }
  });
});

const USER = { id: 'c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3', name: 'carol_login', displayName: 'Carol Q. Person' };

describe('7. honest details on the approval page', () => {
  it('shows what the browser claims, labelled as its claim; "Amazon" in a User-Agent makes it no Alexa app', async () => {
    expect(describeBrowser('Mozilla/5.0 (evil) Amazon')).not.toMatch(/Alexa|in-app/);
    expect(describeBrowser(ANDROID_CHROME)).toMatch(/^Chrome \d+ on Android phone$/);
    expect(
      describeBrowser(
        'Mozilla/5.0 (iPhone; CPU iPhone OS 18_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.0 Mobile/15E148 Safari/604.1',
      ),
    ).toBe('Safari 18 on iPhone');

    const server = await startTestServer({ log_level: 'info' });
    try {
      const { userCode } = await startLink(new Browser({ 'user-agent': 'Mozilla/5.0 AmazonWebView Amazon Alexa' }), server.base, authorizeParams());
      const page = (await ingress(server.app.ingressUrl, '/', { user: USER })).body;
      const confirm = (await ingress(server.app.ingressUrl, '/code', { user: USER, form: { code: userCode, _csrf: csrfOf(page) } })).body;
      expect(/<dd data-asked><time [^>]*>([^<]*)</.exec(confirm)?.[1]).toBe('just now, unknown device');
      expect(confirm).toContain('Details: address 127.0.0.1; the browser does not say what it is');
    } finally {
      await server.close();
    }
  });
});

describe('8. no false success in the panel', () => {
  it('revoking a link that is not yours, or is already revoked, says that nothing was revoked', async () => {
    const server = await startTestServer({ log_level: 'info' });
    try {
      const other = { id: 'd'.repeat(32), name: 'dan' };
      await link(server, other);
      await link(server, USER);
      const [otherGrant] = server.app.store.grants.listForSubject(other.id);
      const [ownGrant] = server.app.store.grants.listForSubject(USER.id);
      const revoke = async (grant: string) => {
        const token = csrfOf((await ingress(server.app.ingressUrl, '/', { user: USER })).body);
        const response = await ingress(server.app.ingressUrl, '/links/revoke', { user: USER, form: { grant, confirm: '1', _csrf: token } });
        return (await ingress(server.app.ingressUrl, String(response.headers.location).replace(/^.*\/links/, '/links'), { user: USER })).body;
      };
      expect(await revoke(otherGrant!.id)).toContain('Nothing was revoked');
      expect(server.app.store.grants.get(otherGrant!.id)?.revokedAt).toBeUndefined();
      expect(await revoke(ownGrant!.id)).toContain('The link was revoked');
      const again = await revoke(ownGrant!.id);
      expect(again).toContain('Nothing was revoked');
      expect(again).not.toContain('The link was revoked');
    } finally {
      await server.close();
    }
  });
});

describe('9. personal data in logs', () => {
  it('no Home Assistant names at any level; IPs and User-Agents only at trace', async () => {
    for (const level of ['trace', 'debug'] as const) {
      // Behind a trusted proxy: the client's address is the forwarded one.
      const server = await startTestServer({ log_level: level, trusted_proxies: ['127.0.0.1'] });
      try {
        const browser = new Browser({ 'user-agent': ANDROID_CHROME, 'x-forwarded-for': '203.0.113.77' });
        const { userCode } = await startLink(browser, server.base, authorizeParams());
        const page = (await ingress(server.app.ingressUrl, '/', { user: USER })).body;
        const confirm = (await ingress(server.app.ingressUrl, '/code', { user: USER, form: { code: userCode, _csrf: csrfOf(page) } })).body;
        const handle = /name="handle" value="([0-9A-F]{64})"/.exec(confirm)![1]!;
        await ingress(server.app.ingressUrl, '/decide', { user: USER, form: { handle, decision: 'approve', _csrf: csrfOf(confirm) } });
        const log = server.lines.join('\n');
        expect(log).not.toContain('Carol');
        expect(log).not.toContain('carol_login');
        expect(log).toMatch(/user-[0-9a-f]{8}/);
        if (level === 'debug') {
          expect(log).toMatch(/DEBUG/);
          expect(log).not.toContain('203.0.113.77');
          expect(log).not.toContain('Pixel 8');
        } else {
          expect(log).toContain('203.0.113.77');
          expect(log).toContain('Pixel 8');
        }
      } finally {
        await server.close();
      }
    }
  });
});

describe('an https public_url reached without X-Forwarded-Proto: https', () => {
  it('tells the person linking cannot work here, warns the admin once with the cause, stores nothing; with the header it links', async () => {
    const server = await startTestServer({ public_url: 'https://alexa.example.net', log_level: 'info' });
    const warnings = () => server.lines.filter((line) => line.includes('Linking cannot work'));
    try {
      const url = new URL(`/authorize?${new URLSearchParams(authorizeParams())}`, server.base);
      // A TLS-terminating proxy that sends no X-Forwarded-Proto, or says http.
      const proxies: Record<string, string>[] = [{}, { 'x-forwarded-proto': 'http' }, { 'x-forwarded-proto': 'http, https' }];
      for (const headers of proxies) {
        const response = await fetch(url, { redirect: 'manual', headers });
        expect(response.status).toBe(400);
        // Not a 303 to a waiting page that could never get its cookie.
        expect(response.headers.get('location')).toBeNull();
        expect(response.headers.getSetCookie()).toEqual([]);
        const page = await response.text();
        expect(page).toContain('<h1>Linking cannot work here</h1>');
        expect(page).toContain('tell whoever looks after your Home Assistant');
        expect(page).toContain('<strong>X-Forwarded-Proto: https</strong>');
      }
      // In the reader's language, like every page.
      const german = await fetch(url, { redirect: 'manual', headers: { 'accept-language': 'de-DE,de;q=0.9' } });
      expect(await german.text()).toContain('<h1>Verknüpfen ist hier nicht möglich</h1>');
      // Nothing was stored for requests that could never finish.
      expect(server.app.store.counts()).toMatchObject({ pendingRequests: 0, sessions: 0 });
      // One warning for the admin, naming the cause and the fix; not one per request.
      expect(warnings()).toHaveLength(1);
      expect(warnings()[0]).toContain('public_url is https');
      expect(warnings()[0]).toContain('without "X-Forwarded-Proto: https" (it had no X-Forwarded-Proto)');
      expect(warnings()[0]).toContain('proxy_set_header X-Forwarded-Proto $scheme;');

      // Requests that are not Alexa's still get their own pages, and no warning.
      const unknown = await fetch(new URL(`/authorize?${new URLSearchParams({ ...authorizeParams(), client_id: 'someone' })}`, server.base));
      expect(await unknown.text()).toContain('Unknown application');

      // The proxy fixed: linking works, with the __Host- cookie.
      const fixed = await fetch(url, { redirect: 'manual', headers: { 'x-forwarded-proto': 'https' } });
      expect(fixed.status).toBe(303);
      expect(fixed.headers.getSetCookie().join('\n')).toMatch(/^__Host-alexa_link_session=.*Secure/);
      expect(warnings()).toHaveLength(1);
    } finally {
      await server.close();
    }
  });
});
