/** Client-secret guessing hits the per-IP limit; the answer stays RFC-shaped. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RATE_LIMITS } from '../src/server/public-app.js';
import { basic, postForm } from './helpers/http.js';
import { CLIENT_ID, startTestServer, type TestServer } from './helpers/oauth-server.js';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(() => server.close());

describe('rate limits', () => {
  it(`allows ${RATE_LIMITS.failedClientAuth.limit} failed client authentications per window, then answers 429`, async () => {
    // A forged X-Forwarded-For changes nothing: no proxy is trusted (trusted_proxies is empty).
    const guess = (i: number) => postForm(`${server.base}/token`, { grant_type: 'refresh_token', refresh_token: 'x' }, { authorization: basic(CLIENT_ID, `guess-${i}-${'x'.repeat(32)}`), 'x-forwarded-for': `198.51.100.${i}` });
    for (let i = 0; i < RATE_LIMITS.failedClientAuth.limit; i++) expect((await guess(i)).status).toBe(401);
    const limited = await guess(999);
    expect(limited.status).toBe(429);
    expect(limited.json).toMatchObject({ error: 'temporarily_unavailable' });
    expect(limited.headers.get('retry-after')).toMatch(/^\d+$/);
    const failures = server.app.store.audit.recent(50).filter((entry) => entry.event === 'client_auth_failed');
    expect(failures).toHaveLength(RATE_LIMITS.failedClientAuth.limit);
  });
});

describe('trusted proxies', () => {
  it('believe X-Forwarded-For only from a listed proxy: clients behind it are limited one by one', async () => {
    const proxied = await startTestServer({ trusted_proxies: ['127.0.0.1'] });
    try {
      const guess = (ip: string) => postForm(`${proxied.base}/token`, { grant_type: 'refresh_token', refresh_token: 'x' }, { authorization: basic(CLIENT_ID, 'w'.repeat(40)), 'x-forwarded-for': ip });
      for (let i = 0; i < RATE_LIMITS.failedClientAuth.limit; i++) await guess('198.51.100.1');
      expect((await guess('198.51.100.1')).status).toBe(429);
      expect((await guess('198.51.100.2')).status).toBe(401);
      expect(proxied.app.store.audit.recent(1)[0]?.details).toMatchObject({ ip: '198.51.100.2' });
    } finally {
      await proxied.close();
    }
  });
});
