/** A complete link over HTTP (browser + token endpoint), for tests that start from linked tokens. */
import { createHash, randomBytes } from 'node:crypto';
import type { Subject } from '../../src/store/index.js';
import { Browser } from './browser.js';
import { basic, postForm } from './http.js';
import { CLIENT_ID, CLIENT_SECRET, decide, REDIRECT_URI, startLink, type TestServer } from './oauth-server.js';

export interface Linked {
  code: string;
  verifier: string;
  accessToken: string;
  refreshToken: string;
}

export function pkcePair(): { verifier: string; challenge: string } {
  const verifier = randomBytes(32).toString('base64url');
  return { verifier, challenge: createHash('sha256').update(verifier).digest('base64url') };
}

/** Authorize and approve; returns the released code without exchanging it. */
export async function obtainCode(
  server: TestServer,
  subject: Subject,
  options: { pkce?: boolean; browser?: Browser } = {},
): Promise<{ code: string; verifier: string; state: string }> {
  const { verifier, challenge } = pkcePair();
  const browser = options.browser ?? new Browser();
  const state = 'xyz=abc==';
  const usePkce = options.pkce ?? true;
  const { userCode } = await startLink(browser, server.base, {
    client_id: CLIENT_ID,
    redirect_uri: REDIRECT_URI,
    response_type: 'code',
    state,
    ...(usePkce ? { code_challenge: challenge, code_challenge_method: 'S256' } : {}),
  });
  decide(server.app.store, userCode, subject);
  const response = await browser.get(new URL('/authorize/continue', server.base));
  const code = Browser.location(response, server.base).searchParams.get('code');
  if (!code) throw new Error('no code released');
  return { code, verifier, state };
}

export async function link(server: TestServer, subject: Subject): Promise<Linked> {
  const { code, verifier } = await obtainCode(server, subject);
  const response = await postForm(
    `${server.base}/token`,
    { grant_type: 'authorization_code', code, redirect_uri: REDIRECT_URI, code_verifier: verifier },
    { authorization: basic(CLIENT_ID, CLIENT_SECRET) },
  );
  if (response.status !== 200) throw new Error(`token exchange failed: ${response.text}`);
  return { code, verifier, accessToken: response.json!.access_token as string, refreshToken: response.json!.refresh_token as string };
}

export async function refresh(server: TestServer, refreshToken: string) {
  return postForm(`${server.base}/token`, { grant_type: 'refresh_token', refresh_token: refreshToken }, { authorization: basic(CLIENT_ID, CLIENT_SECRET) });
}

export async function introspect(server: TestServer, token: string, secret: string) {
  return postForm(`${server.base}/introspect`, { token }, { authorization: basic('music_assistant', secret) });
}
