/** Client-secret guessing hits the per-IP limit; the answer stays RFC-shaped. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TUNABLES } from '../src/config/tunables.js';
import { recentAuditOf } from './helpers/audit.js';
import { basic, postForm } from './helpers/http.js';
import { refresh } from './helpers/link.js';
import { CLIENT_ID, startTestServer, type TestServer } from './helpers/oauth-server.js';
import { clock, link as linkInStore } from './helpers/store.js';
import { tempDir } from './helpers/tmp.js';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(() => server.close());

describe('rate limits', () => {
  it(`allows ${TUNABLES.limits.failedClientAuth.limit} failed client authentications per window, then answers 429`, async () => {
    // A forged X-Forwarded-For changes nothing: no proxy is trusted (trusted_proxies is empty).
    const guess = (i: number) =>
      postForm(
        `${server.base}/token`,
        { grant_type: 'refresh_token', refresh_token: 'x' },
        { authorization: basic(CLIENT_ID, `guess-${i}-${'x'.repeat(32)}`), 'x-forwarded-for': `198.51.100.${i}` },
      );
    for (let i = 0; i < TUNABLES.limits.failedClientAuth.limit; i++) expect((await guess(i)).status).toBe(401);
    const limited = await guess(999);
    expect(limited.status).toBe(429);
    expect(limited.json).toMatchObject({ error: 'temporarily_unavailable' });
    expect(limited.headers.get('retry-after')).toMatch(/^\d+$/);
    // One audit row for the address and window, counting every checked failure.
    const failures = recentAuditOf(server, 50).filter((entry) => entry.event === 'client_auth_failed');
    expect(failures).toHaveLength(1);
    expect(failures[0]!.details).toMatchObject({ count: TUNABLES.limits.failedClientAuth.limit });
  });
});

describe('failures are counted when they happen, never while in flight', () => {
  const { limit } = TUNABLES.limits.failedClientAuth;
  const wrongSecret = (target: TestServer, i: number) =>
    postForm(`${target.base}/token`, { grant_type: 'refresh_token', refresh_token: 'x' }, { authorization: basic(CLIENT_ID, `burst-${i}-${'y'.repeat(32)}`) });

  it(`a burst of 40 parallel wrong secrets: exactly ${limit} are checked, the rest get 429`, async () => {
    const fresh = await startTestServer();
    try {
      const statuses = (await Promise.all(Array.from({ length: 40 }, (_, i) => wrongSecret(fresh, i)))).map((response) => response.status);
      expect(statuses.filter((status) => status === 401)).toHaveLength(limit);
      expect(statuses.filter((status) => status === 429)).toHaveLength(40 - limit);
      const failures = recentAuditOf(fresh, 100).filter((entry) => entry.event === 'client_auth_failed');
      expect(failures.map((entry) => entry.details.count)).toEqual([limit]);
    } finally {
      await fresh.close();
    }
  });

  it('50 parallel correct refreshes from one address all succeed, with the failure budget one short of spent; repeats do not spend it either', async () => {
    const time = clock(Date.now());
    const fresh = await startTestServer({}, tempDir(), {}, time);
    try {
      // Fifty links (made through the server's own store: fifty browser flows would hit the link limits).
      const tokens = Array.from(
        { length: 50 },
        (_, i) => linkInStore(fresh.app.store, { id: i.toString(16).padStart(32, 'e'), name: `erin${i}` }, undefined, CLIENT_ID).tokens.refreshToken,
      );
      for (let i = 0; i < limit - 1; i++) expect((await wrongSecret(fresh, i)).status).toBe(401);
      // Each of these waits for a shared commit before it is answered: many are in flight at once.
      const responses = await Promise.all(tokens.map((token) => refresh(fresh, token)));
      expect(responses.map((response) => response.status)).toEqual(tokens.map(() => 200));
      // The same tokens again at once (the store's clock stands still): 429 "try again", which is no failure of the client's.
      const repeats = await Promise.all(tokens.map((token) => refresh(fresh, token)));
      expect(repeats.map((response) => response.status)).toEqual(tokens.map(() => 429));
      // The budget still has exactly one failure left.
      expect((await wrongSecret(fresh, 100)).status).toBe(401);
      expect((await wrongSecret(fresh, 101)).status).toBe(429);
    } finally {
      await fresh.close();
    }
  });
});

describe('trusted proxies', () => {
  it('believe X-Forwarded-For only from a listed proxy: clients behind it are limited one by one', async () => {
    const proxied = await startTestServer({ trusted_proxies: ['127.0.0.1'] });
    try {
      const guess = (ip: string) =>
        postForm(
          `${proxied.base}/token`,
          { grant_type: 'refresh_token', refresh_token: 'x' },
          { authorization: basic(CLIENT_ID, 'w'.repeat(40)), 'x-forwarded-for': ip },
        );
      for (let i = 0; i < TUNABLES.limits.failedClientAuth.limit; i++) await guess('198.51.100.1');
      expect((await guess('198.51.100.1')).status).toBe(429);
      expect((await guess('198.51.100.2')).status).toBe(401);
      // One row for the hour: the first client's address (not the proxy's), and every recorded failure counted (not the 429).
      expect(recentAuditOf(proxied, 1)[0]?.details).toMatchObject({ ip: '198.51.100.1', count: TUNABLES.limits.failedClientAuth.limit + 1 });
    } finally {
      await proxied.close();
    }
  });
});
