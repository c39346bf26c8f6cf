/** Refresh rotation over HTTP, revocation and introspection edge cases. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TUNABLES } from '../src/config/tunables.js';
import { recentAuditOf } from './helpers/audit.js';
import { basic, postForm } from './helpers/http.js';
import { introspect, link, refresh } from './helpers/link.js';
import { CLIENT_ID, CLIENT_SECRET, RS_SECRET, startTestServer, type TestServer } from './helpers/oauth-server.js';
import { clock } from './helpers/store.js';
import { tempDir } from './helpers/tmp.js';

const ALICE = { id: 'a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1', name: 'alice', displayName: 'Alice' };
const REPEAT_MS = TUNABLES.oauth.refreshRepeatSeconds * 1000;
// The store's clock, stepped over the repeat window instead of waiting it out.
const time = clock(Date.now());
let server: TestServer;
beforeAll(async () => {
  server = await startTestServer({}, tempDir(), {}, time);
});
afterAll(() => server.close());

const tokenOf = (response: Awaited<ReturnType<typeof refresh>>) => ({
  access: response.json!.access_token as string,
  refresh: response.json!.refresh_token as string,
});

describe('the headers of a JSON answer', () => {
  it('token, introspection, error and wrong-method answers: no-store, Pragma and nosniff, and none of the pages’ document headers', async () => {
    const linked = await link(server, ALICE);
    time.advance(REPEAT_MS);
    const answers = [
      await refresh(server, linked.refreshToken),
      await introspect(server, linked.accessToken, RS_SECRET),
      await postForm(`${server.base}/token`, { grant_type: 'password' }, { authorization: basic(CLIENT_ID, CLIENT_SECRET) }),
      await fetch(`${server.base}/introspect`),
    ];
    expect(answers.map((answer) => answer.status)).toEqual([200, 200, 400, 405]);
    for (const { headers } of answers) {
      expect(headers.get('content-type')).toBe('application/json; charset=utf-8');
      expect(headers.get('cache-control')).toBe('no-store');
      expect(headers.get('pragma')).toBe('no-cache');
      expect(headers.get('x-content-type-options')).toBe('nosniff');
      expect(headers.get('content-security-policy')).toBeNull();
      expect(headers.get('x-frame-options')).toBeNull();
    }
  });
});

describe('refresh rotation with successor confirmation', () => {
  it('the old refresh token keeps working until its successor is used', async () => {
    const linked = await link(server, ALICE);
    const first = await refresh(server, linked.refreshToken);
    time.advance(REPEAT_MS);
    const again = await refresh(server, linked.refreshToken);
    expect([first.status, again.status]).toEqual([200, 200]);
    expect(first.headers.get('cache-control')).toBe('no-store');
    expect(first.json).toMatchObject({ token_type: 'Bearer', expires_in: 3600, scope: 'music_assistant' });
  });

  it('reuse after the successor was used revokes the grant, is audited and raises a notification event', async () => {
    const reused: string[] = [];
    server.app.events.on('refreshReuse', ({ grantId }) => void reused.push(grantId));
    const linked = await link(server, ALICE);
    const successor = tokenOf(await refresh(server, linked.refreshToken));
    const next = tokenOf(await refresh(server, successor.refresh));
    const reuse = await refresh(server, linked.refreshToken);
    expect(reuse.status).toBe(400);
    expect(reuse.json).toMatchObject({ error: 'invalid_grant' });
    // The whole grant is gone: even the newest tokens.
    expect((await refresh(server, next.refresh)).json).toMatchObject({ error: 'invalid_grant' });
    expect((await introspect(server, next.access, RS_SECRET)).json).toEqual({ active: false });
    expect(recentAuditOf(server, 3).map((entry) => entry.event)).toContain('refresh_reuse');
    expect(reused).toHaveLength(1);
  });

  it('a lost response never unlinks: the client retries with its old token and carries on', async () => {
    const linked = await link(server, ALICE);
    let current = linked.refreshToken;
    for (let round = 0; round < 5; round++) {
      // The response to this refresh is "lost": the client never sees the successor.
      expect((await refresh(server, current)).status).toBe(200);
      time.advance(REPEAT_MS);
      const delivered = await refresh(server, current);
      expect(delivered.status).toBe(200);
      current = tokenOf(delivered).refresh;
    }
    const final = await refresh(server, current);
    expect(final.status).toBe(200);
    expect((await introspect(server, tokenOf(final).access, RS_SECRET)).json).toMatchObject({ active: true, sub: ALICE.id });
  });

  it(`presented again within ${TUNABLES.oauth.refreshRepeatSeconds} s of its rotation: 429 with Retry-After, never invalid_grant, and the token stays valid`, async () => {
    const linked = await link(server, ALICE);
    const first = tokenOf(await refresh(server, linked.refreshToken));
    const soon = await refresh(server, linked.refreshToken);
    expect(soon.status).toBe(429);
    expect(soon.json).toMatchObject({ error: 'temporarily_unavailable' });
    expect(soon.headers.get('retry-after')).toBe(String(TUNABLES.oauth.refreshRepeatSeconds));
    expect(soon.headers.get('cache-control')).toBe('no-store');
    time.advance(REPEAT_MS - 1000);
    expect((await refresh(server, linked.refreshToken)).headers.get('retry-after')).toBe('1');
    time.advance(1000);
    // Once the window has passed it rotates again (the retry of a client whose answer was lost) ...
    const later = await refresh(server, linked.refreshToken);
    expect(later.status).toBe(200);
    // ... and nothing was revoked: the first successor still carries the link on.
    expect((await refresh(server, first.refresh)).status).toBe(200);
    expect((await introspect(server, first.access, RS_SECRET)).json).toMatchObject({ active: true, sub: ALICE.id });
    expect(server.lines.some((line) => line.includes('presented again right after its rotation'))).toBe(true);
    expect(server.lines.join('\n')).not.toContain(linked.refreshToken);
  });

  it('an unknown refresh token and one asking for more scope are refused', async () => {
    expect((await refresh(server, 'not-a-token')).json).toMatchObject({ error: 'invalid_grant' });
    const linked = await link(server, ALICE);
    const wider = await postForm(
      `${server.base}/token`,
      { grant_type: 'refresh_token', refresh_token: linked.refreshToken, scope: 'music_assistant admin' },
      { authorization: basic(CLIENT_ID, CLIENT_SECRET) },
    );
    expect(wider.json).toMatchObject({ error: 'invalid_scope' });
  });
});

describe('revocation (RFC 7009)', () => {
  const revoke = (token: string, hint?: string) =>
    postForm(`${server.base}/revoke`, { token, ...(hint ? { token_type_hint: hint } : {}) }, { authorization: basic(CLIENT_ID, CLIENT_SECRET) });

  it('an access token revokes only itself', async () => {
    const linked = await link(server, ALICE);
    expect((await revoke(linked.accessToken, 'access_token')).status).toBe(200);
    expect((await introspect(server, linked.accessToken, RS_SECRET)).json).toEqual({ active: false });
    expect((await refresh(server, linked.refreshToken)).status).toBe(200);
  });

  it('an unknown token still answers 200; an unknown hint is unsupported_token_type', async () => {
    expect((await revoke('unknown-token')).status).toBe(200);
    expect((await revoke('unknown-token', 'id_token')).json).toMatchObject({ error: 'unsupported_token_type' });
  });
});

describe('introspection (RFC 7662)', () => {
  it("needs Music Assistant's credentials", async () => {
    const linked = await link(server, ALICE);
    expect((await introspect(server, linked.accessToken, 'wrong-secret-wrong-secret-wrong-secret!')).status).toBe(401);
  });

  it('is inactive for refresh tokens and unknown tokens (expiry: see store tests)', async () => {
    const linked = await link(server, ALICE);
    expect((await introspect(server, linked.refreshToken, RS_SECRET)).json).toEqual({ active: false });
    expect((await introspect(server, 'nothing', RS_SECRET)).json).toEqual({ active: false });
  });
});
