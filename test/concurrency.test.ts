/** The same code or refresh token presented by 50 parallel requests over HTTP. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TUNABLES } from '../src/config/tunables.js';
import { basic, postForm } from './helpers/http.js';
import { introspect, link, obtainCode, refresh } from './helpers/link.js';
import { CLIENT_ID, CLIENT_SECRET, REDIRECT_URI, RS_SECRET, startTestServer, type TestServer } from './helpers/oauth-server.js';
import { clock } from './helpers/store.js';
import { tempDir } from './helpers/tmp.js';
import { successorCount } from './helpers/tokens.js';

const ALICE = { id: 'a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1', name: 'alice' };
const REPEAT_MS = TUNABLES.oauth.refreshRepeatSeconds * 1000;
// The store's clock stands still during a burst, so "within the repeat window" does not depend on
// how fast this machine happens to be; the tests step it forward where time has to pass.
const time = clock(Date.now());
let server: TestServer;
beforeAll(async () => {
  server = await startTestServer({ log_level: 'warning' }, tempDir(), {}, time);
});
afterAll(() => server.close());

describe('50 parallel requests', () => {
  it('one authorization code: exactly one success; the replays revoke what it produced', async () => {
    const { code, verifier } = await obtainCode(server, ALICE);
    const responses = await Promise.all(
      Array.from({ length: 50 }, () =>
        postForm(
          `${server.base}/token`,
          { grant_type: 'authorization_code', code, redirect_uri: REDIRECT_URI, code_verifier: verifier },
          { authorization: basic(CLIENT_ID, CLIENT_SECRET) },
        ),
      ),
    );
    const winners = responses.filter((response) => response.status === 200);
    expect(winners).toHaveLength(1);
    expect(responses.filter((response) => response.json?.error === 'invalid_grant')).toHaveLength(49);
    expect((await introspect(server, winners[0]!.json!.access_token as string, RS_SECRET)).json).toEqual({ active: false });
  });

  it('one retired refresh token: no success at all, and the grant is revoked', async () => {
    const linked = await link(server, ALICE);
    const successor = await refresh(server, linked.refreshToken);
    expect((await refresh(server, successor.json!.refresh_token as string)).status).toBe(200);
    const responses = await Promise.all(Array.from({ length: 50 }, () => refresh(server, linked.refreshToken)));
    expect(responses.filter((response) => response.status === 200)).toHaveLength(0);
    expect(responses.every((response) => response.json?.error === 'invalid_grant')).toBe(true);
  });

  it('one unconfirmed refresh token: exactly one success; the other 49 are told to try again, and nothing is revoked', async () => {
    const linked = await link(server, ALICE);
    const responses = await Promise.all(Array.from({ length: 50 }, () => refresh(server, linked.refreshToken)));
    const winners = responses.filter((response) => response.status === 200);
    expect(winners).toHaveLength(1);
    const others = responses.filter((response) => response.status !== 200);
    // Not invalid_grant: that would make Alexa drop the link. The token is fine, just taken.
    expect(
      others.every(
        (response) =>
          response.status === 429 &&
          response.json?.error === 'temporarily_unavailable' &&
          response.headers.get('retry-after') === String(TUNABLES.oauth.refreshRepeatSeconds),
      ),
    ).toBe(true);
    expect(others).toHaveLength(49);
    // One successor on disk, and the grant untouched.
    expect(successorCount(server.app.store.db, linked.refreshToken)).toBe(1);
    const winner = winners[0]!.json!;
    expect((await introspect(server, winner.access_token as string, RS_SECRET)).json).toMatchObject({ active: true, sub: ALICE.id });
    expect((await refresh(server, winner.refresh_token as string)).status).toBe(200);
  });

  it('after the repeat window, a token whose answer was lost rotates again; only one lineage survives', async () => {
    // Successor confirmation (the brief): the presented token stays valid until one of its successors is used.
    const linked = await link(server, ALICE);
    const lost = await refresh(server, linked.refreshToken);
    time.advance(REPEAT_MS);
    const retried = await refresh(server, linked.refreshToken);
    expect([lost.status, retried.status]).toEqual([200, 200]);
    // The client carries on with the successor it received: that retires the parent and the lost sibling.
    expect((await refresh(server, retried.json!.refresh_token as string)).status).toBe(200);
    // The other lineage presented afterwards is reuse: the grant is revoked for everyone.
    expect((await refresh(server, lost.json!.refresh_token as string)).json).toMatchObject({ error: 'invalid_grant' });
    expect((await refresh(server, linked.refreshToken)).json).toMatchObject({ error: 'invalid_grant' });
  });

  it('50 successors of one refresh token, presented at once: exactly one success; the others are reuse, and the grant is revoked', async () => {
    // Its own server: the 101 token calls here would otherwise share the per-IP budget (300/min) with the tests above.
    const ownTime = clock(Date.now());
    const own = await startTestServer({ log_level: 'warning' }, tempDir(), {}, ownTime);
    try {
      const linked = await link(own, ALICE);
      const successors: string[] = [];
      for (let i = 0; i < 50; i++) {
        // Fifty lost answers, one after another: each retry comes after the repeat window.
        ownTime.advance(REPEAT_MS);
        successors.push((await refresh(own, linked.refreshToken)).json!.refresh_token as string);
      }
      const responses = await Promise.all(successors.map((successor) => refresh(own, successor)));
      const winners = responses.filter((response) => response.status === 200);
      expect(winners).toHaveLength(1);
      expect(responses.filter((response) => response.json?.error === 'invalid_grant')).toHaveLength(49);
      // Two lineages in use at once means a copied token: nobody keeps the link.
      expect((await introspect(own, winners[0]!.json!.access_token as string, RS_SECRET)).json).toEqual({ active: false });
    } finally {
      await own.close();
    }
  });
});
