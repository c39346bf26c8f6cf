/**
 * The whole flow, driven by a standard OAuth client library (oauth4webapi) that discovers the
 * server from its RFC 8414 metadata.
 */
import * as oauth from 'oauth4webapi';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recentAuditOf } from './helpers/audit.js';
import { Browser } from './helpers/browser.js';
import { CLIENT_ID, CLIENT_SECRET, decide, REDIRECT_URI, RS_SECRET, startLink, startTestServer, type TestServer } from './helpers/oauth-server.js';

const ALICE = { id: '0f1e2d3c4b5a69788796a5b4c3d2e1f0', name: 'alice', displayName: 'Alice' };
const insecure = { [oauth.allowInsecureRequests]: true } as const;

let server: TestServer;
let as: oauth.AuthorizationServer;
beforeAll(async () => {
  server = await startTestServer();
  const issuer = new URL(server.base);
  as = await oauth.processDiscoveryResponse(issuer, await oauth.discoveryRequest(issuer, { algorithm: 'oauth2', ...insecure }));
});
afterAll(() => server.close());

const alexa: oauth.Client = { client_id: CLIENT_ID };
const musicAssistant: oauth.Client = { client_id: 'music_assistant' };

describe.each([
  ['client_secret_basic', oauth.ClientSecretBasic(CLIENT_SECRET)],
  ['client_secret_post', oauth.ClientSecretPost(CLIENT_SECRET)],
] as const)('the whole flow with %s', (_method, clientAuth) => {
  it('authorize → approve → code → tokens → introspect → refresh → revoke', async () => {
    // Alexa's state contains "=" and must come back exactly.
    const state = `${oauth.generateRandomState()}==`;
    const verifier = oauth.generateRandomCodeVerifier();
    const challenge = await oauth.calculatePKCECodeChallenge(verifier);
    const browser = new Browser();
    const { userCode } = await startLink(browser, server.base, {
      client_id: CLIENT_ID,
      redirect_uri: REDIRECT_URI,
      response_type: 'code',
      state,
      scope: 'music_assistant',
      code_challenge: challenge,
      code_challenge_method: 'S256',
    });
    decide(server.app.store, userCode, ALICE);

    const redirect = await browser.get(new URL('/authorize/continue', server.base));
    expect(redirect.status).toBe(303);
    const callback = Browser.location(redirect, server.base);
    expect(`${callback.origin}${callback.pathname}`).toBe(REDIRECT_URI);
    expect(callback.searchParams.get('state')).toBe(state);
    expect(callback.searchParams.get('iss')).toBe(server.base);
    const params = oauth.validateAuthResponse(as, alexa, callback, state);

    const tokenResponse = await oauth.authorizationCodeGrantRequest(as, alexa, clientAuth, params, REDIRECT_URI, verifier, insecure);
    expect(tokenResponse.headers.get('cache-control')).toBe('no-store');
    expect(tokenResponse.headers.get('pragma')).toBe('no-cache');
    const tokens = await oauth.processAuthorizationCodeResponse(as, alexa, tokenResponse);
    expect(tokens).toMatchObject({ token_type: 'bearer', expires_in: 3600, scope: 'music_assistant' });
    expect(tokens.access_token).toMatch(/^a1\.[A-Za-z0-9_-]{102}$/);
    expect(tokens.refresh_token).toMatch(/^r1\.[A-Za-z0-9_-]{91}$/);

    const introspection = await oauth.processIntrospectionResponse(
      as,
      musicAssistant,
      await oauth.introspectionRequest(as, musicAssistant, oauth.ClientSecretBasic(RS_SECRET), tokens.access_token, insecure),
    );
    expect(introspection).toMatchObject({
      active: true,
      sub: ALICE.id,
      username: 'alice',
      scope: 'music_assistant',
      client_id: CLIENT_ID,
      token_type: 'Bearer',
    });
    expect(introspection.exp! - introspection.iat!).toBe(3600);

    const refreshed = await oauth.processRefreshTokenResponse(
      as,
      alexa,
      await oauth.refreshTokenGrantRequest(as, alexa, clientAuth, tokens.refresh_token!, insecure),
    );
    expect(refreshed.refresh_token).not.toBe(tokens.refresh_token);
    expect(refreshed.access_token).not.toBe(tokens.access_token);

    await oauth.processRevocationResponse(await oauth.revocationRequest(as, alexa, clientAuth, refreshed.refresh_token!, insecure));
    const afterRevoke = await oauth.refreshTokenGrantRequest(as, alexa, clientAuth, refreshed.refresh_token!, insecure);
    expect(afterRevoke.status).toBe(400);
    expect(await afterRevoke.json()).toMatchObject({ error: 'invalid_grant' });
    const inactive = await oauth.processIntrospectionResponse(
      as,
      musicAssistant,
      await oauth.introspectionRequest(as, musicAssistant, oauth.ClientSecretPost(RS_SECRET), refreshed.access_token, insecure),
    );
    expect(inactive).toEqual({ active: false });

    const events = recentAuditOf(server, 20).map((entry) => entry.event);
    for (const event of ['link_requested', 'code_issued', 'grant_created', 'token_refreshed', 'grant_revoked']) expect(events).toContain(event);
  });
});

describe('server metadata', () => {
  it('names every endpoint and what the server supports', () => {
    expect(as).toMatchObject({
      issuer: server.base,
      authorization_endpoint: `${server.base}/authorize`,
      token_endpoint: `${server.base}/token`,
      revocation_endpoint: `${server.base}/revoke`,
      introspection_endpoint: `${server.base}/introspect`,
      response_types_supported: ['code'],
      grant_types_supported: ['authorization_code', 'refresh_token'],
      token_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post'],
      code_challenge_methods_supported: ['S256'],
      authorization_response_iss_parameter_supported: true,
    });
  });
});
