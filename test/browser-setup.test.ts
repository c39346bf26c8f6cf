/**
 * The Setup page in real Chromium, against a stand-in public URL (a loopback TLS listener with a
 * test PKI trusted through SETUP_TEST_TRUSTED_CA): one screenshot set per state of the address
 * (good, expiring soon, expired, wrong name, self-signed, metadata of another server, not reachable
 * from here), phone and desktop, light and dark, so that every verdict is seen as a person sees it.
 * axe finds nothing serious; Copy copies (or selects) and says so; without JavaScript no button.
 */
import { copyFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser as Chromium, Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { metadataDocument } from '../src/oauth/metadata.js';
import type { Roles } from '../src/panel/roles.js';
import { isBlocking, runAxe } from './helpers/axe.js';
import { COLOR_SCHEMES, describeBrowser, launch, SCREENSHOT_DIR, screenshots } from './helpers/chromium.js';
import { basic, postForm } from './helpers/http.js';
import { CLIENT_ID, CLIENT_SECRET, startTestServer, type TestServer } from './helpers/oauth-server.js';
import { makeStandInPki, type StandIn, startStandIn } from './helpers/tls-standin.js';

/** The one DOM name the page function uses: it runs in Chromium, and the test project has no DOM lib. */
declare const getComputedStyle: (element: unknown) => { userSelect: string };

const ADMIN = { id: 'a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1', name: 'ada', displayName: 'Ada Admin' };
const roles: Roles = { isAdmin: async (id) => id === ADMIN.id };
const HEADERS = { 'x-remote-user-id': ADMIN.id, 'x-remote-user-name': ADMIN.name, 'x-remote-user-display-name': ADMIN.displayName };

/** Each state of the stand-in, and the certificate and metadata verdicts it must show. */
const SCENARIOS: Array<{ name: string; state: Partial<StandIn['state']>; certificate: string; metadata: string; address: string }> = [
  { name: 'setup-good', state: {}, certificate: 'ok', metadata: 'ok', address: 'ok' },
  { name: 'setup-expires-soon', state: { cert: 'soon' }, certificate: 'warn', metadata: 'ok', address: 'ok' },
  { name: 'setup-expired', state: { cert: 'expired' }, certificate: 'fail', metadata: 'ok', address: 'ok' },
  { name: 'setup-wrong-name', state: { cert: 'wrongName' }, certificate: 'fail', metadata: 'ok', address: 'ok' },
  { name: 'setup-self-signed', state: { cert: 'selfSigned' }, certificate: 'fail', metadata: 'ok', address: 'ok' },
  { name: 'setup-metadata-mismatch', state: { metadata: { issuer: 'https://old.example.net' } }, certificate: 'ok', metadata: 'fail', address: 'ok' },
  { name: 'setup-unreachable', state: { mode: 'reset' }, certificate: 'unknown', metadata: 'unknown', address: 'unknown' },
];

describeBrowser('the Setup page in Chromium', () => {
  let standIn: StandIn;
  let server: TestServer;
  let chromium: Chromium;
  let page: string;

  beforeAll(async () => {
    const pki = makeStandInPki();
    standIn = await startStandIn(pki);
    server = await startTestServer(
      {
        public_url: `https://localhost:${standIn.port}`,
        alexa_skill_id: 'amzn1.ask.skill.11111111-2222-3333-4444-555555555555',
        skill_backend_url: 'http://127.0.0.1:9/',
      },
      undefined,
      { SETUP_TEST_TRUSTED_CA: pki.caFile },
      undefined,
      roles,
    );
    standIn.state.metadata = metadataDocument({ config: server.config });
    page = `${server.app.ingressUrl}/setup`;
    // Alexa has called the token endpoint; a proxy not in trusted_proxies has sent X-Forwarded-For.
    await postForm(`${server.base}/token`, { grant_type: 'refresh_token', refresh_token: 'x' }, { authorization: basic(CLIENT_ID, CLIENT_SECRET) });
    await postForm(`${server.base}/token`, { grant_type: 'refresh_token', refresh_token: 'x' }, { 'x-forwarded-for': '198.51.100.7' });
    chromium = await launch();
  });
  afterAll(async () => {
    await chromium?.close();
    await server?.close();
    await standIn?.close();
  });

  const verdicts = (view: Page) =>
    view
      .locator('li.check')
      .evaluateAll((items) => Object.fromEntries(items.map((item) => [item.getAttribute('data-check'), item.getAttribute('data-verdict')])));

  it('writes a screenshot set per state, each showing its verdicts', async () => {
    const files: string[] = [];
    const good = metadataDocument({ config: server.config });
    for (const scenario of SCENARIOS) {
      Object.assign(standIn.state, { mode: 'tls', cert: 'good', metadata: good, dateOffsetMs: 0 }, scenario.state);
      files.push(
        ...(await screenshots(chromium, page, scenario.name, {
          extraHTTPHeaders: HEADERS,
          prepare: async (view) => {
            const shown = await verdicts(view);
            expect(shown, scenario.name).toMatchObject({
              port: 'fail',
              address: scenario.address,
              certificate: scenario.certificate,
              metadata: scenario.metadata,
              proxies: 'warn',
              alexaToken: 'ok',
              introspect: 'unknown',
            });
          },
        })),
      );
    }
    expect(files).toHaveLength(SCENARIOS.length * 4);
    if (process.env.UPDATE_DOCS_SCREENSHOTS === '1') {
      const docs = fileURLToPath(new URL('../docs/screenshots/', import.meta.url));
      for (const name of ['setup-good-phone-light', 'setup-good-desktop-dark']) copyFileSync(join(SCREENSHOT_DIR, `${name}.png`), join(docs, `${name}.png`));
    }
    // 28 screenshots, each a page that runs the live checks: 300 s, as for the other screenshot tests on a loaded machine.
  }, 300_000);

  it('axe finds nothing serious, light and dark; Copy copies or selects, and says which', async () => {
    Object.assign(standIn.state, { mode: 'tls', cert: 'expired', metadata: metadataDocument({ config: server.config }) });
    for (const colorScheme of COLOR_SCHEMES) {
      const context = await chromium.newContext({ viewport: { width: 360, height: 740 }, colorScheme, extraHTTPHeaders: HEADERS });
      try {
        const view = await context.newPage();
        await view.goto(page);
        const blocking = (await runAxe(view)).violations.filter(isBlocking);
        expect(blocking.map((finding) => `${finding.id}: ${finding.nodes.map((node) => node.target.join(' ')).join(', ')}`)).toEqual([]);
        await view.locator('button[data-copy="value-clientId"]').click();
        await expect
          .poll(() => view.locator('#copy-result').textContent())
          .toMatch(/^(Copied: Your Client ID|Could not copy\. The text is selected: copy it with your device’s menu\.)$/);
      } finally {
        await context.close();
      }
    }
  }, 120_000);

  it('without JavaScript: no Copy button, every value still there to select', async () => {
    const context = await chromium.newContext({ javaScriptEnabled: false, extraHTTPHeaders: HEADERS });
    try {
      const view = await context.newPage();
      await view.goto(page);
      expect(await view.locator('button[data-copy]').first().isVisible()).toBe(false);
      expect(await view.locator('#value-clientId').textContent()).toBe(CLIENT_ID);
      expect(await view.locator('#value-clientId').evaluate((element) => getComputedStyle(element).userSelect)).toBe('all');
    } finally {
      await context.close();
    }
  }, 120_000);
});
