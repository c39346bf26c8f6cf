/**
 * Panel test fixtures: real User-Agents (Alexa's sign-in window is an in-app browser), pending
 * requests made with them, and links made from a chosen device and Alexa region.
 */

import type { Subject } from '../../src/store/index.js';
import { Browser } from './browser.js';
import { VENDOR_ID } from './fixtures.js';
import { basic, postForm } from './http.js';
import { pkcePair } from './link.js';
import { CLIENT_ID, CLIENT_SECRET, decide, REDIRECT_URI, startLink, type TestServer } from './oauth-server.js';

export const UA = {
  androidChrome: 'Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Mobile Safari/537.36',
  /** The Alexa app's sign-in window on Android: WebView ("; wv)", "Version/4.0"). */
  androidAlexaApp:
    'Mozilla/5.0 (Linux; Android 13; Pixel 7 Build/TQ3A.230805.001; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/120.0.6099.144 Mobile Safari/537.36',
  samsung: 'Mozilla/5.0 (Linux; Android 13; SAMSUNG SM-S911B) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/23.0 Chrome/115.0.0.0 Mobile Safari/537.36',
  androidTablet: 'Mozilla/5.0 (Linux; Android 13; SM-X700) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36',
  iPhoneSafari: 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1',
  /** The Alexa app's sign-in window on iOS: WebKit without a "Safari/" token. */
  iPhoneAlexaApp: 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148',
  iPad: 'Mozilla/5.0 (iPad; CPU OS 16_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/16.6 Mobile/15E148 Safari/604.1',
  windowsEdge: 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36 Edg/120.0.2210.91',
  macFirefox: 'Mozilla/5.0 (Macintosh; Intel Mac OS X 10.15; rv:121.0) Gecko/20100101 Firefox/121.0',
  chromebook: 'Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36',
  linuxFirefox: 'Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0',
} as const;

export const ALEXA_NA_REDIRECT_URI = `https://pitangui.amazon.com/api/skill/link/${VENDOR_ID}`;

/** A pending request as if Alexa's browser with `userAgent` at `ip` had opened /authorize; returns its user code. */
export function pendingRequest(server: TestServer, userAgent: string, ip = '203.0.113.5', redirectUri = REDIRECT_URI): string {
  return server.app.store.ops.startLink({
    clientId: CLIENT_ID,
    redirectUri,
    scope: 'music_assistant',
    state: undefined,
    codeChallenge: undefined,
    requester: { ip, userAgent },
    ttlSeconds: 600,
  }).userCode;
}

/** A complete link over HTTP from a browser with `userAgent`, returning to `redirectUri`. */
export async function linkFrom(server: TestServer, subject: Subject, userAgent: string, redirectUri = REDIRECT_URI): Promise<void> {
  const browser = new Browser({ 'user-agent': userAgent });
  const { verifier, challenge } = pkcePair();
  const { userCode } = await startLink(browser, server.base, {
    client_id: CLIENT_ID,
    redirect_uri: redirectUri,
    response_type: 'code',
    code_challenge: challenge,
    code_challenge_method: 'S256',
  });
  decide(server.app.store, userCode, subject);
  const released = Browser.location(await browser.get(new URL('/authorize/continue', server.base)), server.base);
  const response = await postForm(
    `${server.base}/token`,
    { grant_type: 'authorization_code', code: released.searchParams.get('code')!, redirect_uri: redirectUri, code_verifier: verifier },
    { authorization: basic(CLIENT_ID, CLIENT_SECRET) },
  );
  if (response.status !== 200) throw new Error(`token exchange failed: ${response.text}`);
}
