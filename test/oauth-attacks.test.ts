/**
 * The attacks from the original security analysis (shared/seeds), each failing safely.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recentAuditOf } from './helpers/audit.js';
import { Browser } from './helpers/browser.js';
import { basic, postForm } from './helpers/http.js';
import { introspect, link, obtainCode, pkcePair, refresh } from './helpers/link.js';
import {
  authorizeUrl,
  CLIENT_ID,
  CLIENT_SECRET,
  decide,
  REDIRECT_URI,
  RS_SECRET,
  startLink,
  startTestServer,
  type TestServer,
} from './helpers/oauth-server.js';

const ALICE = { id: 'a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1', name: 'alice', displayName: 'Alice' };
const BOB = { id: 'b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2', name: 'bob', displayName: 'Bob' };
const alexaAuth = { authorization: basic(CLIENT_ID, CLIENT_SECRET) };

let server: TestServer;
let noPkceServer: TestServer;
beforeAll(async () => {
  server = await startTestServer();
  noPkceServer = await startTestServer({ require_pkce: false });
});
afterAll(async () => {
  await server.close();
  await noPkceServer.close();
});

const exchange = (target: TestServer, fields: Record<string, string>, headers: Record<string, string> = alexaAuth) =>
  postForm(`${target.base}/token`, { grant_type: 'authorization_code', redirect_uri: REDIRECT_URI, ...fields }, headers);

describe('redirect URI and client checks', () => {
  it.each([
    ['an attacker redirect URI', { redirect_uri: 'https://attacker.example/steal' }],
    ['a redirect URI that only starts like an allowed one', { redirect_uri: `${REDIRECT_URI}/../../evil` }],
    ['a redirect URI with an added query', { redirect_uri: `${REDIRECT_URI}?next=https://attacker.example` }],
    ['an unknown client', { client_id: 'attacker-client' }],
    ['the resource server as client', { client_id: 'music_assistant' }],
    ['no redirect URI', { redirect_uri: undefined }],
  ])('%s: an error page, status 400, never a redirect', async (_name, change) => {
    const { challenge } = pkcePair();
    const response = await new Browser().get(
      authorizeUrl(server.base, {
        client_id: CLIENT_ID,
        redirect_uri: REDIRECT_URI,
        response_type: 'code',
        state: 's',
        code_challenge: challenge,
        code_challenge_method: 'S256',
        ...change,
      }),
    );
    expect(response.status).toBe(400);
    expect(response.headers.get('location')).toBeNull();
    expect(response.headers.get('content-type')).toMatch(/text\/html/);
    expect(response.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
  });

  it('other errors go back to the redirect URI with error, state (exactly) and iss', async () => {
    const response = await new Browser().get(
      authorizeUrl(server.base, { client_id: CLIENT_ID, redirect_uri: REDIRECT_URI, response_type: 'token', state: 'a=b==' }),
    );
    expect(response.status).toBe(303);
    const target = Browser.location(response, server.base);
    expect(target.origin + target.pathname).toBe(REDIRECT_URI);
    expect(Object.fromEntries(target.searchParams)).toEqual({
      error: 'unsupported_response_type',
      error_description: 'response_type must be code',
      state: 'a=b==',
      iss: server.base,
    });
  });

  it('without a PKCE challenge (require_pkce on) shows how to turn PKCE on', async () => {
    const response = await new Browser().get(
      authorizeUrl(server.base, { client_id: CLIENT_ID, redirect_uri: REDIRECT_URI, response_type: 'code', state: 's' }),
    );
    expect(response.status).toBe(400);
    expect(await response.text()).toContain('Account Linking');
  });

  it.each([
    ['plain PKCE', { code_challenge_method: 'plain' }, 'invalid_request'],
    ['a challenge without a method', { code_challenge_method: undefined }, 'invalid_request'],
    ['a malformed challenge', { code_challenge: 'short' }, 'invalid_request'],
    ['an unknown scope', { scope: 'admin' }, 'invalid_scope'],
  ])('%s is refused with a redirect', async (_name, change, error) => {
    const { challenge } = pkcePair();
    const response = await new Browser().get(
      authorizeUrl(server.base, {
        client_id: CLIENT_ID,
        redirect_uri: REDIRECT_URI,
        response_type: 'code',
        state: 's',
        code_challenge: challenge,
        code_challenge_method: 'S256',
        ...change,
      }),
    );
    expect(response.status).toBe(303);
    expect(Browser.location(response, server.base).searchParams.get('error')).toBe(error);
  });
});

describe('identity', () => {
  it('two HA users get two different subjects; no "test_user" anywhere', async () => {
    const alice = await link(server, ALICE);
    const bob = await link(server, BOB);
    const aliceInfo = await introspect(server, alice.accessToken, RS_SECRET);
    const bobInfo = await introspect(server, bob.accessToken, RS_SECRET);
    expect(aliceInfo.json).toMatchObject({ active: true, sub: ALICE.id });
    expect(bobInfo.json).toMatchObject({ active: true, sub: BOB.id });
    // Neither the source nor the database knows a fixed user.
    const sources = (dir: string): string[] =>
      readdirSync(dir).flatMap((name) => {
        const path = join(dir, name);
        return statSync(path).isDirectory() ? sources(path) : [path];
      });
    for (const file of sources(new URL('../src', import.meta.url).pathname)) expect(readFileSync(file, 'utf8')).not.toContain('test_user');
    expect(readFileSync(join(server.dataDir, 'alexa-link.db')).includes('test_user')).toBe(false);
  });

  it('ignores X-Remote-User-Id on the public listener: the subject is the HA user who approved', async () => {
    const forged = { 'x-remote-user-id': 'ffffffffffffffffffffffffffffffff', 'x-remote-user-name': 'mallory' };
    const browser = new Browser(forged);
    const { verifier, challenge } = pkcePair();
    const { userCode } = await startLink(browser, server.base, {
      client_id: CLIENT_ID,
      redirect_uri: REDIRECT_URI,
      response_type: 'code',
      state: 's',
      code_challenge: challenge,
      code_challenge_method: 'S256',
    });
    decide(server.app.store, userCode, ALICE);
    const code = Browser.location(await browser.get(new URL('/authorize/continue', server.base)), server.base).searchParams.get('code')!;
    const tokens = await exchange(server, { code, code_verifier: verifier }, { ...alexaAuth, ...forged });
    const info = await postForm(
      `${server.base}/introspect`,
      { token: tokens.json!.access_token as string },
      { authorization: basic('music_assistant', RS_SECRET), ...forged },
    );
    expect(info.json).toMatchObject({ active: true, sub: ALICE.id, username: 'alice' });
  });
});

describe('authorization codes', () => {
  it('a replayed code is refused and revokes every token issued from it', async () => {
    const { code, verifier } = await obtainCode(server, ALICE);
    const first = await exchange(server, { code, code_verifier: verifier });
    expect(first.status).toBe(200);
    const replay = await exchange(server, { code, code_verifier: verifier });
    expect(replay.status).toBe(400);
    expect(replay.json).toMatchObject({ error: 'invalid_grant' });
    expect((await introspect(server, first.json!.access_token as string, RS_SECRET)).json).toEqual({ active: false });
    expect((await refresh(server, first.json!.refresh_token as string)).json).toMatchObject({ error: 'invalid_grant' });
    expect(recentAuditOf(server, 5).map((entry) => entry.event)).toContain('code_replayed');
  });

  it('a wrong PKCE verifier is refused', async () => {
    const { code } = await obtainCode(server, ALICE);
    const response = await exchange(server, { code, code_verifier: pkcePair().verifier });
    expect(response.status).toBe(400);
    expect(response.json).toMatchObject({ error: 'invalid_grant' });
  });

  it('a missing verifier is refused when the request had a challenge', async () => {
    const { code } = await obtainCode(server, ALICE);
    expect((await exchange(server, { code })).json).toMatchObject({ error: 'invalid_grant', error_description: 'code_verifier is required' });
  });

  it('a verifier without a stored challenge is refused (require_pkce off)', async () => {
    const { code } = await obtainCode(noPkceServer, ALICE, { pkce: false });
    const response = await exchange(noPkceServer, { code, code_verifier: pkcePair().verifier });
    expect(response.status).toBe(400);
    expect(response.json).toMatchObject({ error: 'invalid_grant' });
  });

  it('without PKCE, when allowed, the code still works', async () => {
    const { code } = await obtainCode(noPkceServer, ALICE, { pkce: false });
    expect((await exchange(noPkceServer, { code })).status).toBe(200);
  });

  it('a redirect_uri other than the one of the request is refused', async () => {
    const { code, verifier } = await obtainCode(server, ALICE);
    const other = REDIRECT_URI.replace('layla', 'pitangui');
    expect((await exchange(server, { code, code_verifier: verifier, redirect_uri: other })).json).toMatchObject({ error: 'invalid_grant' });
  });

  it('a code presented by another client is refused and stays usable by its own client', async () => {
    const { code, verifier } = await obtainCode(server, ALICE);
    const stolen = await exchange(server, { code, code_verifier: verifier }, { authorization: basic('music_assistant', RS_SECRET) });
    expect(stolen.json).toMatchObject({ error: 'unauthorized_client' });
    expect((await exchange(server, { code, code_verifier: verifier })).status).toBe(200);
  });

  it('is released only to the browser that started the request', async () => {
    const starter = new Browser();
    const other = new Browser();
    const { userCode } = await startLink(starter, server.base, {
      client_id: CLIENT_ID,
      redirect_uri: REDIRECT_URI,
      response_type: 'code',
      state: 's',
      code_challenge: pkcePair().challenge,
      code_challenge_method: 'S256',
    });
    decide(server.app.store, userCode, ALICE);
    const elsewhere = await other.get(new URL('/authorize/continue', server.base));
    expect(elsewhere.status).toBe(400);
    expect(elsewhere.headers.get('location')).toBeNull();
    const status = await (await other.get(new URL('/authorize/status', server.base))).json();
    expect(status).toEqual({ status: 'unknown' });
    const own = await starter.get(new URL('/authorize/continue', server.base));
    expect(Browser.location(own, server.base).searchParams.get('code')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    // And only once.
    expect((await starter.get(new URL('/authorize/continue', server.base))).status).toBe(400);
  });

  it('a denied request returns access_denied with state and iss', async () => {
    const browser = new Browser();
    const { userCode } = await startLink(browser, server.base, {
      client_id: CLIENT_ID,
      redirect_uri: REDIRECT_URI,
      response_type: 'code',
      state: 'den=ied',
      code_challenge: pkcePair().challenge,
      code_challenge_method: 'S256',
    });
    decide(server.app.store, userCode, ALICE, 'denied');
    expect(await (await browser.get(new URL('/authorize/status', server.base))).json()).toEqual({ status: 'denied' });
    const target = Browser.location(await browser.get(new URL('/authorize/continue', server.base)), server.base);
    expect(target.searchParams.get('error')).toBe('access_denied');
    expect(target.searchParams.get('state')).toBe('den=ied');
    expect(target.searchParams.get('iss')).toBe(server.base);
  });

  it('the session cookie is HttpOnly and SameSite=Lax, and not Secure on a loopback http URL', async () => {
    const response = await new Browser().get(
      authorizeUrl(server.base, {
        client_id: CLIENT_ID,
        redirect_uri: REDIRECT_URI,
        response_type: 'code',
        code_challenge: pkcePair().challenge,
        code_challenge_method: 'S256',
      }),
    );
    const cookie = response.headers.getSetCookie().join('\n');
    expect(cookie).toMatch(/alexa_link_session=/);
    expect(cookie).toMatch(/HttpOnly/);
    expect(cookie).toMatch(/SameSite=Lax/);
    expect(cookie).not.toMatch(/Secure/);
  });
});

describe('session cookie on an https public URL', () => {
  it('is Secure, also behind a TLS-terminating proxy', async () => {
    const httpsServer = await startTestServer({ public_url: 'https://127.0.0.1' });
    try {
      const response = await new Browser({ 'x-forwarded-proto': 'https' }).get(
        authorizeUrl(httpsServer.base, {
          client_id: CLIENT_ID,
          redirect_uri: REDIRECT_URI,
          response_type: 'code',
          code_challenge: pkcePair().challenge,
          code_challenge_method: 'S256',
        }),
      );
      expect(response.status).toBe(303);
      expect(response.headers.getSetCookie().join('\n')).toMatch(/alexa_link_session=.*; Secure/);
      expect(response.headers.get('strict-transport-security')).toBeNull(); // loopback: no HSTS
    } finally {
      await httpsServer.close();
    }
  });
});

describe('client authentication', () => {
  it.each([
    ['a wrong secret (Basic)', { authorization: basic(CLIENT_ID, 'wrong-secret-wrong-secret-wrong-secret') }, true],
    ['an unknown client (Basic)', { authorization: basic('someone', CLIENT_SECRET) }, true],
    ['a malformed Basic header', { authorization: 'Basic %%%' }, true],
    ['Basic without a colon', { authorization: `Basic ${Buffer.from('nocolon').toString('base64')}` }, true],
  ])('%s: 401 invalid_client with WWW-Authenticate', async (_name, headers, expectChallenge) => {
    const response = await postForm(`${server.base}/token`, { grant_type: 'refresh_token', refresh_token: 'x' }, headers);
    expect(response.status).toBe(401);
    expect(response.json).toEqual({ error: 'invalid_client', error_description: 'client authentication failed' });
    expect(response.headers.get('www-authenticate') !== null).toBe(expectChallenge);
  });

  it('a wrong secret in the body: 401 invalid_client, audited', async () => {
    const response = await postForm(`${server.base}/token`, { grant_type: 'refresh_token', refresh_token: 'x', client_id: CLIENT_ID, client_secret: 'nope' });
    expect(response.status).toBe(401);
    expect(response.json).toMatchObject({ error: 'invalid_client' });
    expect(recentAuditOf(server, 1)[0]).toMatchObject({ event: 'client_auth_failed', details: { clientId: CLIENT_ID } });
  });

  it('both methods at once are refused', async () => {
    const response = await postForm(
      `${server.base}/token`,
      { grant_type: 'refresh_token', refresh_token: 'x', client_id: CLIENT_ID, client_secret: CLIENT_SECRET },
      alexaAuth,
    );
    expect(response.json).toMatchObject({ error: 'invalid_request' });
  });

  it('the Alexa client may not introspect, and Music Assistant may not obtain tokens', async () => {
    expect((await postForm(`${server.base}/introspect`, { token: 'x' }, alexaAuth)).json).toMatchObject({ error: 'unauthorized_client' });
    expect(
      (await postForm(`${server.base}/token`, { grant_type: 'refresh_token', refresh_token: 'x' }, { authorization: basic('music_assistant', RS_SECRET) }))
        .json,
    ).toMatchObject({ error: 'unauthorized_client' });
  });
});
