/**
 * The human side in real Chromium, with the panel behind a real nginx that behaves like the
 * Supervisor's ingress proxy (path prefix, X-Ingress-Path, X-Remote-User-*). Amazon's redirect
 * URI cannot be reached from here: the browser's requests to it are intercepted and recorded.
 */
import type { BrowserContext, Browser as Chromium, Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { ALEXA_REDIRECT_HOSTS } from '../src/config/options.js';
import { describeBrowser, interceptRedirects, launch, screenshots, VIEWPORTS } from './helpers/chromium.js';
import { LIFETIMES } from './helpers/fixtures.js';
import { basic, postForm } from './helpers/http.js';
import { link, pkcePair, refresh } from './helpers/link.js';
import { startIngressProxy } from './helpers/nginx.js';
import { authorizeUrl, CLIENT_ID, CLIENT_SECRET, REDIRECT_URI, startTestServer, type TestServer } from './helpers/oauth-server.js';

const ALICE = { id: 'a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1', name: 'alice', displayName: 'Alice Example' };
const BOB = { id: 'b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2', name: 'bob', displayName: 'Bob Example' };
const ALEXA_HOSTS = ALEXA_REDIRECT_HOSTS.map((host) => host);

describeBrowser(
  'the link in a real browser',
  () => {
    let server: TestServer;
    let proxy: Awaited<ReturnType<typeof startIngressProxy>>;
    let chromium: Chromium;
    const contexts: BrowserContext[] = [];

    beforeAll(async () => {
      server = await startTestServer({ home_assistant_url: 'http://homeassistant.local:8123' });
      proxy = await startIngressProxy({ upstreamPort: Number(new URL(server.app.ingressUrl).port), users: [ALICE, BOB] });
      chromium = await launch();
    });
    afterAll(async () => {
      for (const context of contexts) await context.close();
      await chromium?.close();
      await proxy?.stop();
      await server?.close();
    });

    async function context(viewport: keyof typeof VIEWPORTS = 'phone'): Promise<BrowserContext> {
      const created = await chromium.newContext({ viewport: VIEWPORTS[viewport] });
      contexts.push(created);
      return created;
    }

    /** Alexa's in-app browser opens /authorize; returns its page, the typed code and the redirect recorder. */
    async function startFromAlexa(state = 'st=ate') {
      const alexa = await context('phone');
      const redirects = await interceptRedirects(alexa, ALEXA_HOSTS);
      const page = await alexa.newPage();
      const { verifier, challenge } = pkcePair();
      await page.goto(
        authorizeUrl(server.base, {
          client_id: CLIENT_ID,
          redirect_uri: REDIRECT_URI,
          response_type: 'code',
          state,
          code_challenge: challenge,
          code_challenge_method: 'S256',
        }).href,
      );
      const userCode = (await page.locator('[data-user-code]').getAttribute('data-user-code'))!;
      expect(userCode).toMatch(/^[A-Z]+-[A-Z]+$/);
      return { page, userCode, verifier, redirects, context: alexa };
    }

    /** A household member in the HA sidebar: types the code and presses Approve or Deny. */
    async function decideInPanel(userCode: string, button: 'Approve' | 'Deny', user = 0): Promise<Page> {
      const page = await (await context('desktop')).newPage();
      await page.goto(proxy.urls[user]!);
      await page.getByLabel('Code').fill(userCode);
      await page.getByRole('button', { name: 'Continue' }).click();
      await expect.poll(() => page.getByText('Approve only if you started linking in the Alexa app').count()).toBe(1);
      await expect.poll(() => page.getByText('Alexa (Europe)').count()).toBe(1);
      await page.getByRole('button', { name: button }).click();
      await page.getByRole('heading', { name: button === 'Approve' ? 'Approved' : 'Denied' }).waitFor();
      return page;
    }

    it('links: waiting page → approval in the panel → back to Alexa with a code the token endpoint accepts', async () => {
      const alexa = await startFromAlexa('full=flow==');
      expect(await alexa.page.getByRole('link', { name: 'Open Home Assistant' }).getAttribute('href')).toBe('http://homeassistant.local:8123');
      const next = alexa.redirects.next();
      await decideInPanel(alexa.userCode, 'Approve');
      // The waiting page notices the approval by itself and continues to Alexa.
      const callback = await next;
      expect(callback.origin + callback.pathname).toBe(REDIRECT_URI);
      expect(callback.searchParams.get('state')).toBe('full=flow==');
      expect(callback.searchParams.get('iss')).toBe(server.base);
      const tokens = await postForm(
        `${server.base}/token`,
        { grant_type: 'authorization_code', code: callback.searchParams.get('code')!, redirect_uri: REDIRECT_URI, code_verifier: alexa.verifier },
        { authorization: basic(CLIENT_ID, CLIENT_SECRET) },
      );
      expect(tokens.status).toBe(200);
      expect(server.app.store.tokens.introspect(tokens.json!.access_token as string, LIFETIMES)?.grant.subject).toEqual(ALICE);
    });

    it('deny: the waiting page ends with access_denied', async () => {
      const alexa = await startFromAlexa('den=y');
      const next = alexa.redirects.next();
      await decideInPanel(alexa.userCode, 'Deny', 1);
      const callback = await next;
      expect(callback.searchParams.get('error')).toBe('access_denied');
      expect(callback.searchParams.get('state')).toBe('den=y');
    });

    it('expiry: the waiting page says so inline, and the code is no longer accepted in the panel', async () => {
      const alexa = await startFromAlexa();
      // Ten minutes cannot pass in a test: the request's expiry is moved into the past instead.
      server.app.store.db.prepare('UPDATE pending_requests SET expires_at = ?').run(Date.now() - 1);
      await expect.poll(() => alexa.page.locator('#status').getAttribute('data-state'), { timeout: 10_000 }).toBe('expired');
      expect(await alexa.page.locator('#status').textContent()).toContain('expired');
      const panel = await (await context('desktop')).newPage();
      await panel.goto(proxy.urls[0]!);
      await panel.getByLabel('Code').fill(alexa.userCode);
      await panel.getByRole('button', { name: 'Continue' }).click();
      await panel.getByRole('alert').waitFor();
      expect(await panel.getByRole('alert').textContent()).toContain('No link request is waiting');
    });

    it('a code approved in a different browser never releases the authorization code to that browser', async () => {
      const alexa = await startFromAlexa();
      const panel = await decideInPanel(alexa.userCode, 'Approve');
      // The panel's browser follows its own "finish here" link: it did not start the request.
      const popup = panel.waitForEvent('popup');
      await panel.getByRole('link', { name: 'Finish linking here' }).click();
      const other = await popup;
      await other.waitForLoadState();
      expect(other.url()).toBe(`${server.base}/authorize/continue`);
      expect(await other.getByRole('heading').first().textContent()).toBe('No link request in this browser');
      // The browser that started it still gets its code.
      const callback = await alexa.redirects.next();
      expect(callback.searchParams.get('code')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    });

    it('revoke from Linked accounts makes the next refresh fail', async () => {
      const linked = await link(server, BOB);
      const page = await (await context('desktop')).newPage();
      await page.goto(`${proxy.urls[1]}links`);
      await page.getByRole('button', { name: 'Revoke' }).first().click();
      // The panel asks first; the second Revoke is the confirmation.
      await page.getByRole('heading', { name: 'Revoke this link?' }).waitFor();
      await page.getByRole('button', { name: 'Revoke' }).click();
      await page.getByText('The link was revoked').waitFor();
      expect((await refresh(server, linked.refreshToken)).json).toMatchObject({ error: 'invalid_grant' });
    });

    it('writes screenshots of every page at phone and desktop width, light and dark', async () => {
      const files: string[] = [];
      const alexa = await startFromAlexa();
      const cookies = await alexa.context.cookies();
      const cookieHeader = cookies.map((cookie) => `${cookie.name}=${cookie.value}`).join('; ');
      files.push(...(await screenshots(chromium, `${server.base}/authorize/wait`, 'waiting-page', { extraHTTPHeaders: { cookie: cookieHeader } })));
      files.push(
        ...(await screenshots(
          chromium,
          `${server.base}/authorize?client_id=${CLIENT_ID}&redirect_uri=${encodeURIComponent(REDIRECT_URI)}&response_type=code`,
          'pkce-required',
        )),
      );
      files.push(...(await screenshots(chromium, proxy.urls[0]!, 'panel-link')));
      files.push(
        ...(await screenshots(chromium, proxy.urls[0]!, 'panel-confirm', {
          prepare: async (page) => {
            await page.getByLabel('Code').fill(alexa.userCode);
            await page.getByRole('button', { name: 'Continue' }).click();
            await page.getByRole('button', { name: 'Approve' }).waitFor();
          },
        })),
      );
      await link(server, ALICE);
      files.push(...(await screenshots(chromium, `${proxy.urls[0]}links`, 'panel-links')));
      files.push(...(await screenshots(chromium, `${proxy.urls[0]}activity`, 'panel-activity')));
      expect(files).toHaveLength(6 * 4);
    }, 300_000);
  },
  { nginx: true },
);
