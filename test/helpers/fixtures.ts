/**
 * The one set of credentials the tests and the bench configure the server with and link through,
 * and the link walk through the store. No vitest here, nor anything that imports it, and no value
 * from src/: bench/lib/seed.ts imports this module and drives the compiled dist/ build.
 */
import type { IssuedTokens, Lifetimes, RedeemedCode, Store, Subject } from '../../src/store/index.js';

export const VENDOR_ID = 'M2AB3CD4EF5GH6';
/** One of the vendor's three Alexa redirect URIs (the server derives all three from VENDOR_ID). */
export const REDIRECT_URI = `https://layla.amazon.com/api/skill/link/${VENDOR_ID}`;
export const CLIENT_ID = 'amzn1.application-oa2-client.test';
export const CLIENT_SECRET = 'alexa-client-secret-0123456789-abcdefghij';
/** Music Assistant, the resource server: its fixed client id and the secret it is configured with. */
export const RS_CLIENT_ID = 'music_assistant';
export const RS_SECRET = 'music-assistant-secret-0123456789-abcdefghij';
export const SCOPE = 'music_assistant';
/** The add-on's defaults (access_token_ttl_minutes 60, refresh_token_idle_days 180). */
export const LIFETIMES = { accessTokenTtlSeconds: 3600, refreshTokenIdleSeconds: 180 * 86400 };
/** The PKCE pair of RFC 7636 appendix B: S256 of the verifier is the challenge. */
export const CODE_VERIFIER = 'dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk';
export const CODE_CHALLENGE = 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM';

const REQUESTER = { ip: '192.0.2.10', userAgent: 'TestBrowser/1.0' };

/**
 * An authorization code through the store, as the endpoints make one: a request, approved by
 * `subject`, released. `codeChallenge: undefined` gives a code without PKCE.
 */
export function issueCode(
  store: Store,
  subject: Subject,
  options: { codeChallenge?: string | undefined; clientId?: string; requester?: typeof REQUESTER; codeTtlSeconds?: number } = {},
) {
  const request = store.requests.create({
    clientId: options.clientId ?? CLIENT_ID,
    redirectUri: REDIRECT_URI,
    scope: SCOPE,
    state: 'st=ate/1',
    codeChallenge: 'codeChallenge' in options ? options.codeChallenge : CODE_CHALLENGE,
    requester: options.requester ?? REQUESTER,
    ttlSeconds: 600,
  });
  const found = store.requests.findPendingByUserCode(request.userCode);
  if (!found || !store.requests.decide(found.handle, 'approved', subject)) throw new Error('approval failed');
  const released = store.requests.release(request.requestId, options.codeTtlSeconds ?? 60);
  if (!released) throw new Error('release failed');
  return { request, code: released.code };
}

/** A redeemed code's grant and first tokens, as the code exchange makes them (without its audit row). */
export function grantFromCode(store: Store, code: RedeemedCode, lifetimes: Lifetimes = LIFETIMES, maxSeconds = 0): IssuedTokens {
  return store.transaction(() => {
    const grant = store.grants.create({ subject: code.subject, clientId: code.clientId, scope: code.scope, maxSeconds });
    store.codes.attachGrant(code.codeHash, grant.id);
    return store.tokens.issue(grant, lifetimes);
  });
}

/** Walks one request through the store: create, approve, release, redeem, grant, tokens. */
export function linkInStore(store: Store, subject: Subject, requester = REQUESTER, clientId = CLIENT_ID) {
  const { request, code } = issueCode(store, subject, { requester, clientId });
  const redeemed = store.codes.redeem(code);
  if (redeemed.status !== 'ok') throw new Error('redeem failed');
  return { request, code, tokens: grantFromCode(store, redeemed.code) };
}
