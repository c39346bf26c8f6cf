/** The same code or refresh token presented by 50 parallel requests over HTTP. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { basic, postForm } from './helpers/http.js';
import { introspect, link, obtainCode, refresh } from './helpers/link.js';
import { CLIENT_ID, CLIENT_SECRET, REDIRECT_URI, RS_SECRET, startTestServer, type TestServer } from './helpers/oauth-server.js';

const ALICE = { id: 'a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1', name: 'alice' };
let server: TestServer;
beforeAll(async () => {
  server = await startTestServer({ log_level: 'warning' });
});
afterAll(() => server.close());

describe('50 parallel requests', () => {
  it('one authorization code: exactly one success; the replays revoke what it produced', async () => {
    const { code, verifier } = await obtainCode(server, ALICE);
    const responses = await Promise.all(Array.from({ length: 50 }, () =>
      postForm(`${server.base}/token`, { grant_type: 'authorization_code', code, redirect_uri: REDIRECT_URI, code_verifier: verifier }, { authorization: basic(CLIENT_ID, CLIENT_SECRET) })));
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

  it('one unconfirmed refresh token: every request gets a successor (a lost answer must not unlink), but only one lineage survives', async () => {
    // Successor confirmation (the brief): the presented token stays valid until one of its successors is used.
    const linked = await link(server, ALICE);
    const responses = await Promise.all(Array.from({ length: 50 }, () => refresh(server, linked.refreshToken)));
    expect(responses.filter((response) => response.status === 200)).toHaveLength(50);
    const successors = responses.map((response) => response.json!.refresh_token as string);
    expect(new Set(successors).size).toBe(50);
    // The client carries on with one of them: that confirms it and retires the other 49 and the parent.
    expect((await refresh(server, successors[17]!)).status).toBe(200);
    // Any other lineage presented afterwards is reuse: the grant is revoked for everyone.
    expect((await refresh(server, successors[3]!)).json).toMatchObject({ error: 'invalid_grant' });
    expect((await refresh(server, linked.refreshToken)).json).toMatchObject({ error: 'invalid_grant' });
  });

  it('50 successors of one refresh token, presented at once: exactly one success; the others are reuse, and the grant is revoked', async () => {
    // Its own server: the 101 token calls here would otherwise share the per-IP budget (300/min) with the tests above.
    const own = await startTestServer({ log_level: 'warning' });
    try {
      const linked = await link(own, ALICE);
      const successors: string[] = [];
      for (let i = 0; i < 50; i++) successors.push((await refresh(own, linked.refreshToken)).json!.refresh_token as string);
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
