/**
 * An access token is never accepted for longer than access_token_ttl_minutes after its issue, nor
 * from before its grant, nor from the future (issue 19). The times inside a token are under its
 * MAC, so only someone holding the index key could choose them (an old key after a rotation, or a
 * copy of the current one); these rules bound what such a token can do. The tokens here are sealed
 * with the store's own access-token key, as such a person would.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { TUNABLES } from '../src/config/tunables.js';
import type { Store } from '../src/store/index.js';
import { sealAccess } from '../src/store/token-format.js';
import { introspect, link as linkOverHttp } from './helpers/link.js';
import { RS_SECRET, startTestServer } from './helpers/oauth-server.js';
import { clock, LIFETIMES, link, openStore } from './helpers/store.js';

const MINUTE = 60_000;
const TTL_MS = LIFETIMES.accessTokenTtlSeconds * 1000;
const ALICE = { id: '8f14e45fceea167a5a36dedd4bea2543', name: 'alice', displayName: 'Alice' };

const open: Store[] = [];
afterEach(() => {
  for (const store of open.splice(0)) store.close();
});

function setUp() {
  const time = clock();
  const { store } = openStore({ clock: time });
  open.push(store);
  time.advance(MINUTE);
  const { tokens } = link(store, ALICE);
  const grant = tokens.grant;
  const seal = (issuedAt: number, expiresAt: number) => sealAccess(store.deriveSecret('access-token-mac'), { grantId: grant.id, issuedAt, expiresAt });
  const active = (token: string, lifetimes: { accessTokenTtlSeconds: number } = LIFETIMES) => store.tokens.introspect(token, lifetimes) !== undefined;
  return { time, store, tokens, grant, seal, active };
}

describe('the lifetime rules of access tokens', () => {
  it('refuses a token whose lifetime exceeds access_token_ttl_minutes', () => {
    const { time, tokens, seal, active } = setUp();
    time.advance(MINUTE);
    const now = time.now();
    expect(active(tokens.accessToken)).toBe(true);
    expect(active(seal(now, now + TTL_MS))).toBe(true);
    expect(active(seal(now, now + TTL_MS + 1))).toBe(false);
    // The token of issue 19: active until the year 2100.
    expect(active(seal(now - MINUTE, Date.UTC(2100, 0, 1)))).toBe(false);
    // The option as it is set now counts: after lowering it, longer tokens issued before are refused.
    expect(active(tokens.accessToken, { accessTokenTtlSeconds: LIFETIMES.accessTokenTtlSeconds / 2 })).toBe(false);
    expect(active(tokens.accessToken, { accessTokenTtlSeconds: LIFETIMES.accessTokenTtlSeconds * 2 })).toBe(true);
  });

  it('refuses a token issued before its grant was created', () => {
    const { time, grant, seal, active } = setUp();
    time.advance(MINUTE);
    expect(active(seal(grant.createdAt, grant.createdAt + TTL_MS))).toBe(true);
    expect(active(seal(grant.createdAt - 1, grant.createdAt - 1 + TTL_MS))).toBe(false);
  });

  it('refuses a token issued in the future, beyond a few seconds of clock tolerance', () => {
    const { time, seal, active } = setUp();
    const now = time.now();
    const tolerance = TUNABLES.oauth.accessTokenClockSkewSeconds * 1000;
    expect(tolerance).toBeGreaterThan(0);
    expect(tolerance).toBeLessThanOrEqual(10_000);
    expect(active(seal(now + tolerance, now + tolerance + TTL_MS))).toBe(true);
    expect(active(seal(now + tolerance + 1, now + tolerance + 1 + TTL_MS))).toBe(false);
    expect(active(seal(now + 24 * 60 * MINUTE, now + 25 * 60 * MINUTE))).toBe(false);
  });

  it('/introspect and the tokens it answers for follow the same rules', async () => {
    const server = await startTestServer({ access_token_ttl_minutes: 10 });
    try {
      const linked = await linkOverHttp(server, ALICE);
      const answer = (await introspect(server, linked.accessToken, RS_SECRET)).json!;
      expect(answer).toMatchObject({ active: true, sub: ALICE.id });
      expect((answer.exp as number) - (answer.iat as number)).toBe(600);
      const store = server.app.store;
      const grant = store.grants.listForSubject(ALICE.id)[0]!;
      const key = store.deriveSecret('access-token-mac');
      const now = Date.now();
      const forged = [
        sealAccess(key, { grantId: grant.id, issuedAt: now, expiresAt: now + 11 * MINUTE }),
        sealAccess(key, { grantId: grant.id, issuedAt: now - MINUTE, expiresAt: Date.UTC(2100, 0, 1) }),
        sealAccess(key, { grantId: grant.id, issuedAt: grant.createdAt - 1, expiresAt: now + MINUTE }),
        sealAccess(key, { grantId: grant.id, issuedAt: now + 60 * MINUTE, expiresAt: now + 65 * MINUTE }),
      ];
      for (const token of forged) expect((await introspect(server, token, RS_SECRET)).json).toEqual({ active: false });
      expect((await introspect(server, sealAccess(key, { grantId: grant.id, issuedAt: now, expiresAt: now + 10 * MINUTE }), RS_SECRET)).json).toMatchObject({
        active: true,
      });
    } finally {
      await server.close();
    }
  });
});
