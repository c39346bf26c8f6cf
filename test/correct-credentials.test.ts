/**
 * Correct client credentials are never refused, by any limiter (issue 19, point 2): past the
 * per-address request limit of /token, /revoke and /introspect, a request with the right secret is
 * answered, however it carries it (HTTP Basic form-encoded or raw, or in the body); everything
 * else from that address gets 429.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { TUNABLES } from '../src/config/tunables.js';
import { recentAuditOf } from './helpers/audit.js';
import { basic, postForm } from './helpers/http.js';
import { CLIENT_ID, RS_SECRET, startTestServer, type TestServer } from './helpers/oauth-server.js';
import { LIFETIMES, link as linkInStore } from './helpers/store.js';

// What `openssl rand -base64 32` gives: "+", "/" and "=", so that the raw and the form-encoded
// readings of HTTP Basic differ.
const SECRET = 'q+7R/1xZ9a+b/c0DeFgH2IjKlMn3OpQr+sT/uVw4XyZ=';
const WRONG = 'w'.repeat(44);
const RS_CLIENT_ID = 'music_assistant';

let server: TestServer;
afterEach(async () => {
  await server?.close();
});

function linked(target: TestServer, count: number): { accessToken: string; refreshToken: string }[] {
  return Array.from(
    { length: count },
    (_, i) => linkInStore(target.app.store, { id: i.toString(16).padStart(32, 'c'), name: `cai${i}` }, undefined, CLIENT_ID).tokens,
  );
}

const rawBasic = (id: string, secret: string): string => `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`;

/** `count` requests, `parallel` at a time; their statuses in order. */
async function send(count: number, parallel: number, request: (i: number) => Promise<{ status: number }>): Promise<number[]> {
  const statuses: number[] = [];
  for (let start = 0; start < count; start += parallel) {
    const batch = await Promise.all(Array.from({ length: Math.min(parallel, count - start) }, (_, j) => request(start + j)));
    statuses.push(...batch.map((response) => response.status));
  }
  return statuses;
}

/** A 429 of the request limit (not of the failure budget): its window is the limit's, and it says so. */
function expectRequestLimit(response: { status: number; headers: Headers; json: Record<string, unknown> | undefined }, limit: number, windowMs: number): void {
  expect(response.status).toBe(429);
  expect(response.json).toMatchObject({ error: 'temporarily_unavailable' });
  expect(Number(response.headers.get('retry-after'))).toBeGreaterThan(0);
  expect(Number(response.headers.get('retry-after'))).toBeLessThanOrEqual(windowMs / 1000);
  expect(response.headers.get('ratelimit')).toMatch(new RegExp(`^limit=${limit}, remaining=0, reset=\\d+$`));
}

describe('past the request limit, correct credentials are still answered', () => {
  const { limit, windowMs } = TUNABLES.limits.token;
  const budget = TUNABLES.limits.failedClientAuth.limit;

  it(`/token: ${limit} wrong-secret requests, then the correct refresh from the same address: 200 (Basic form-encoded, Basic raw, in the body); wrong ones still 429`, async () => {
    server = await startTestServer({ alexa_client_secret: SECRET });
    const tokens = linked(server, 3);
    const refreshWith = (refreshToken: string, authorization: string | undefined, body: Record<string, string> = {}) =>
      postForm(`${server.base}/token`, { grant_type: 'refresh_token', refresh_token: refreshToken, ...body }, authorization ? { authorization } : {});

    const statuses = await send(limit, 1, () => refreshWith(tokens[0]!.refreshToken, basic(CLIENT_ID, WRONG)));
    expect(statuses).toEqual([...Array(budget).fill(401), ...Array(limit - budget).fill(429)]);
    // The address is past its request limit now: anything without correct credentials is refused by it.
    expectRequestLimit(await refreshWith(tokens[0]!.refreshToken, basic(CLIENT_ID, WRONG)), limit, windowMs);
    expectRequestLimit(await refreshWith(tokens[0]!.refreshToken, undefined), limit, windowMs);
    expectRequestLimit(await refreshWith(tokens[0]!.refreshToken, basic(CLIENT_ID, `${SECRET.slice(0, -1)}A`)), limit, windowMs);
    expectRequestLimit(await refreshWith(tokens[0]!.refreshToken, undefined, { client_id: CLIENT_ID, client_secret: WRONG }), limit, windowMs);

    // Each way a client sends the right secret, each with a token of its own (the repeat window is per token).
    const formEncoded = await refreshWith(tokens[0]!.refreshToken, basic(CLIENT_ID, SECRET));
    expect(formEncoded.status).toBe(200);
    expect(formEncoded.headers.get('retry-after')).toBeNull();
    expect((await refreshWith(tokens[1]!.refreshToken, rawBasic(CLIENT_ID, SECRET))).status).toBe(200);
    expect((await refreshWith(tokens[2]!.refreshToken, undefined, { client_id: CLIENT_ID, client_secret: SECRET })).status).toBe(200);
    // Its successor works at once, still past the limit.
    expect((await refreshWith(formEncoded.json!.refresh_token as string, basic(CLIENT_ID, SECRET))).status).toBe(200);
    // The repeat window of a token is no limiter of addresses and stays: presented again at once, "try again in a moment".
    const repeat = await refreshWith(tokens[1]!.refreshToken, basic(CLIENT_ID, SECRET));
    expect(repeat.status).toBe(429);
    expect(Number(repeat.headers.get('retry-after'))).toBeLessThanOrEqual(TUNABLES.oauth.refreshRepeatSeconds);

    // And the guessing protection is as it was: wrong secrets are refused; the failure budget
    // checked and recorded only its ten.
    expectRequestLimit(await refreshWith(tokens[0]!.refreshToken, basic(CLIENT_ID, WRONG)), limit, windowMs);
    const failures = recentAuditOf(server, 50).filter((entry) => entry.event === 'client_auth_failed');
    expect(failures.map((entry) => entry.details.count)).toEqual([budget]);
  });

  it(`/revoke: ${limit} wrong-secret revocations, then the correct one from the same address: 200, and the link is ended`, async () => {
    server = await startTestServer({ alexa_client_secret: SECRET });
    const [tokens] = linked(server, 1);
    const revokeWith = (secret: string) => postForm(`${server.base}/revoke`, { token: tokens!.refreshToken }, { authorization: basic(CLIENT_ID, secret) });

    const statuses = await send(limit, 10, () => revokeWith(WRONG));
    expect(statuses.filter((status) => status === 401)).toHaveLength(budget);
    expect(statuses.filter((status) => status === 429)).toHaveLength(limit - budget);
    expectRequestLimit(await revokeWith(WRONG), limit, windowMs);

    expect((await revokeWith(SECRET)).status).toBe(200);
    expect(server.app.store.tokens.introspect(tokens!.accessToken, LIFETIMES)).toBeUndefined();
    expectRequestLimit(await revokeWith(WRONG), limit, windowMs);
  });

  it(`/introspect: ${TUNABLES.limits.introspect.limit.toLocaleString('en')} wrong music_assistant secrets, then the correct one from the same address: 200 with the answer`, async () => {
    const { limit: introspectLimit, windowMs: introspectWindow } = TUNABLES.limits.introspect;
    server = await startTestServer();
    const [tokens] = linked(server, 1);
    const introspectWith = (secret: string) =>
      postForm(`${server.base}/introspect`, { token: tokens!.accessToken }, { authorization: basic(RS_CLIENT_ID, secret) });

    const statuses = await send(introspectLimit, 50, () => introspectWith(WRONG));
    expect(statuses.filter((status) => status === 401)).toHaveLength(budget);
    expect(statuses.filter((status) => status === 429)).toHaveLength(introspectLimit - budget);
    expectRequestLimit(await introspectWith(WRONG), introspectLimit, introspectWindow);

    const answer = await introspectWith(RS_SECRET);
    expect(answer.status).toBe(200);
    expect(answer.json).toMatchObject({ active: true, client_id: CLIENT_ID });
    expectRequestLimit(await introspectWith(WRONG), introspectLimit, introspectWindow);
  });
});
