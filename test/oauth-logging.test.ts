/** The whole flow at log_level trace: no token, code, secret or cookie in the captured log. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Browser } from './helpers/browser.js';
import { basic, postForm } from './helpers/http.js';
import { introspect, pkcePair, refresh } from './helpers/link.js';
import { CLIENT_ID, CLIENT_SECRET, decide, REDIRECT_URI, RS_SECRET, startLink, startTestServer, type TestServer } from './helpers/oauth-server.js';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer({ log_level: 'trace' });
});
afterAll(() => server.close());

describe('logging', () => {
  it('logs nothing secret at trace level, through success and failure paths', async () => {
    const secrets: string[] = [CLIENT_SECRET, RS_SECRET, server.options.encryption_key as string];
    const browser = new Browser();
    const { verifier, challenge } = pkcePair();
    const { userCode } = await startLink(browser, server.base, {
      client_id: CLIENT_ID,
      redirect_uri: REDIRECT_URI,
      response_type: 'code',
      state: 'state-secret-value',
      code_challenge: challenge,
      code_challenge_method: 'S256',
    });
    secrets.push(userCode, userCode.replace('-', ''), verifier, challenge, ...[...browser.cookies.values()]);
    decide(server.app.store, userCode, { id: 'c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3', name: 'carol' });
    const code = Browser.location(await browser.get(`${server.base}/authorize/continue`), server.base).searchParams.get('code')!;
    secrets.push(code);
    const auth = { authorization: basic(CLIENT_ID, CLIENT_SECRET) };
    const tokens = await postForm(
      `${server.base}/token`,
      { grant_type: 'authorization_code', code, redirect_uri: REDIRECT_URI, code_verifier: verifier },
      auth,
    );
    const accessToken = tokens.json!.access_token as string;
    const refreshToken = tokens.json!.refresh_token as string;
    secrets.push(accessToken, refreshToken, auth.authorization.slice(6));
    // Failure paths log too: a replay, a wrong secret, a bad verifier.
    await postForm(`${server.base}/token`, { grant_type: 'authorization_code', code, redirect_uri: REDIRECT_URI, code_verifier: verifier }, auth);
    await postForm(`${server.base}/token`, {
      grant_type: 'refresh_token',
      refresh_token: refreshToken,
      client_id: CLIENT_ID,
      client_secret: `${CLIENT_SECRET}x`,
    });
    const next = await refresh(server, refreshToken);
    secrets.push(next.json?.access_token as string, next.json?.refresh_token as string);
    await introspect(server, accessToken, RS_SECRET);
    await postForm(`${server.base}/revoke`, { token: refreshToken }, auth);

    const log = server.lines.join('\n');
    expect(server.lines.length).toBeGreaterThan(3);
    for (const secret of secrets.filter(Boolean)) expect(log).not.toContain(secret);
    expect(log).not.toContain('carol');
  });
});
