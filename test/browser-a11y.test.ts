/**
 * Accessibility of every page a person sees, checked by axe-core in real Chromium: WCAG 2.0/2.1 A
 * and AA plus axe's best practices (contrast, labels, names, landmarks, language …), each page at
 * phone and desktop width, in light and dark, and in German where noted. The panel is reached
 * through a real nginx playing Home Assistant's ingress proxy, as in browser-flow.test.ts.
 *
 * A `serious` or `critical` finding fails the page's test with a readable list; `moderate` and
 * `minor` ones, and the checks axe could not decide ("incomplete"), are written to
 * test-output/a11y-report.json and summed up on the console. The pages keep their CSP during the
 * audit (see helpers/axe.ts).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BrowserContext, Browser as Chromium, Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { TUNABLES } from '../src/config/tunables.js';
import { formatUserCode } from '../src/crypto/user-code.js';
import { AXE_TAGS, type AxeFinding, type AxeNode, type AxeResult, isBlocking, runAxe } from './helpers/axe.js';
import { Browser } from './helpers/browser.js';
import { COLOR_SCHEMES, describeBrowser, launch, VIEWPORTS } from './helpers/chromium.js';
import { link, pkcePair } from './helpers/link.js';
import { type IngressProxy, startIngressProxy } from './helpers/nginx.js';
import { authorizeUrl, CLIENT_ID, decide, REDIRECT_URI, startLink, startTestServer, type TestServer } from './helpers/oauth-server.js';
import { type Clock, clock } from './helpers/store.js';

const REPORT = fileURLToPath(new URL('../test-output/a11y-report.json', import.meta.url));

/**
 * Serious or critical findings that are known and being fixed: still printed and written to the
 * report (with `"known": true`), but not failed on. An entry matches one rule on one element (its
 * axe selector) on the listed pages in one colour scheme, so anything else on the same page still
 * fails; an entry that matches nothing any more is printed as stale. Empty: every page passes.
 */
const KNOWN_FINDINGS: ReadonlyArray<{ rule: string; target: string; scheme: Scheme; pages: readonly string[]; why: string }> = [];

type Viewport = keyof typeof VIEWPORTS;
type Scheme = (typeof COLOR_SCHEMES)[number];
type Locale = 'en' | 'de';
interface Variant {
  viewport: Viewport;
  scheme: Scheme;
  locale: Locale;
}
interface Run extends Variant {
  page: string;
  url: string;
  result: AxeResult;
}

const ALICE = { id: 'a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1', name: 'alice', displayName: 'Alice Example' };
const BOB = { id: 'b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2', name: 'bob', displayName: 'Bob Example' };
const CAROL = { id: 'c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3', name: 'carol', displayName: 'Carol Example' };
const DAVE = { id: 'd4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4', name: 'dave', displayName: 'Dave Example' };
const ERIN = { id: 'e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5', name: 'erin', displayName: 'Erin Example' };
const USERS = [ALICE, BOB, CAROL, DAVE, ERIN];
const PHONE_UA = 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1';
/** A well-formed code that no request has (the alphabet's last letters). */
const WRONG_CODE = 'ZXWV-TSRQ';

function variants(locales: readonly Locale[]): Variant[] {
  return locales.flatMap((locale) =>
    (Object.keys(VIEWPORTS) as Viewport[]).flatMap((viewport) => COLOR_SCHEMES.map((scheme) => ({ viewport, scheme, locale }))),
  );
}

function knownEntry(run: Pick<Run, 'page' | 'scheme'>, rule: string, node: AxeNode) {
  return KNOWN_FINDINGS.find(
    (entry) => entry.rule === rule && entry.scheme === run.scheme && entry.pages.includes(run.page) && node.target.join(' ') === entry.target,
  );
}

/** Whether every failing element of this finding is a known one. */
function known(run: Pick<Run, 'page' | 'scheme'>, finding: AxeFinding): boolean {
  return finding.nodes.every((node) => knownEntry(run, finding.id, node) !== undefined);
}

/** A serious or critical finding with at least one element not in KNOWN_FINDINGS. */
function failsOn(run: Run, finding: AxeFinding): boolean {
  return isBlocking(finding) && !known(run, finding);
}

function where(run: Run): string {
  return `${run.page} · ${run.viewport} · ${run.scheme} · ${run.locale}`;
}

/** One line per failing element, grouped by rule: what a person fixing the page needs. */
function formatFindings(runs: Run[]): string {
  const lines: string[] = [];
  for (const run of runs) {
    for (const finding of run.result.violations.filter((f) => failsOn(run, f))) {
      lines.push(`  [${finding.impact}] ${finding.id} — ${finding.help} (${where(run)})`);
      for (const node of finding.nodes) {
        lines.push(`      ${node.target.join(' → ')}${knownEntry(run, finding.id, node) ? ' (known)' : ''}: ${node.summary}`);
      }
    }
  }
  return lines.join('\n');
}

describeBrowser(
  'accessibility of every page (axe-core in Chromium)',
  () => {
    let server: TestServer;
    /** Its own store clock: the expired waiting page is reached by stepping time, not waiting it out. */
    let clockServer: TestServer;
    let storeClock: Clock;
    let proxy: IngressProxy;
    let chromium: Chromium;
    const runs: Run[] = [];

    beforeAll(async () => {
      // relink_notice on: the panel's first page is checked with the notice shown.
      server = await startTestServer({ home_assistant_url: 'http://homeassistant.local:8123', relink_notice: true });
      // The store's clock starts an hour behind real time: session cookies expire by real time
      // (express-session), requests by the store's, so the session outlives the stepped expiry.
      storeClock = clock(Date.now() - 60 * 60 * 1000);
      clockServer = await startTestServer({}, undefined, {}, storeClock);
      proxy = await startIngressProxy({ upstreamPort: Number(new URL(server.app.ingressUrl).port), users: USERS });
      chromium = await launch();
    });

    afterAll(async () => {
      await chromium?.close();
      await proxy?.stop();
      await server?.close();
      await clockServer?.close();
      if (runs.length > 0) writeReport(runs);
    });

    /**
     * Opens the page in a fresh context per variant (viewport × scheme × language), runs axe and
     * fails on serious or critical findings not in KNOWN_FINDINGS. `open` must leave the page in
     * the state under test and check that it is that state.
     */
    async function audit(page: string, open: (context: BrowserContext, variant: Variant) => Promise<Page>, locales: readonly Locale[] = ['en']) {
      // The variants run side by side, each in its own context (own cookies, viewport, scheme).
      const mine = await Promise.all(
        variants(locales).map(async (variant): Promise<Run> => {
          const context = await chromium.newContext({
            viewport: VIEWPORTS[variant.viewport],
            colorScheme: variant.scheme,
            locale: variant.locale === 'de' ? 'de-DE' : 'en-US',
            extraHTTPHeaders: { 'accept-language': variant.locale === 'de' ? 'de' : 'en' },
          });
          try {
            const tab = await open(context, variant);
            expect(await tab.locator('html').getAttribute('lang'), `${page}: <html lang> for ${variant.locale}`).toBe(variant.locale);
            await tab.evaluate('document.fonts.ready.then(() => undefined)');
            const result = await runAxe(tab);
            expect(result.passes, `${page}: axe checked nothing`).toBeGreaterThan(0);
            return { page, ...variant, url: tab.url(), result };
          } finally {
            await context.close();
          }
        }),
      );
      runs.push(...mine);
      const failing = mine.filter((run) => run.result.violations.some((finding) => failsOn(run, finding)));
      if (failing.length > 0) throw new Error(`serious or critical accessibility findings:\n${formatFindings(failing)}`);
    }

    // ---- helpers for reaching each state ----

    /** A link request started over HTTP (as Alexa's browser would); its session cookie goes into each context. */
    async function waitingRequest(target: TestServer) {
      const { verifier, challenge } = pkcePair();
      const browser = new Browser({ 'user-agent': PHONE_UA });
      const started = await startLink(browser, target.base, {
        client_id: CLIENT_ID,
        redirect_uri: REDIRECT_URI,
        response_type: 'code',
        state: 'a11y',
        code_challenge: challenge,
        code_challenge_method: 'S256',
      });
      const cookies = [...browser.cookies].map(([name, value]) => ({ name, value, url: target.base }));
      return { ...started, verifier, cookies };
    }

    /** A pending request made in the store (does not spend the /authorize rate limit). */
    function pendingCode(): string {
      const created = server.app.store.ops.startLink({
        clientId: CLIENT_ID,
        redirectUri: REDIRECT_URI,
        scope: TUNABLES.oauth.scopes.join(' '),
        state: 'a11y',
        codeChallenge: pkcePair().challenge,
        requester: { ip: '192.0.2.10', userAgent: PHONE_UA },
        ttlSeconds: TUNABLES.oauth.pendingRequestTtlSeconds,
      });
      return formatUserCode(created.userCode);
    }

    async function waitingPage(context: BrowserContext, target: TestServer, cookies: Array<{ name: string; value: string; url: string }>, state: string) {
      await context.addCookies(cookies);
      const tab = await context.newPage();
      await tab.goto(`${target.base}/authorize/wait`);
      expect(await tab.locator('#status').getAttribute('data-state')).toBe(state);
      return tab;
    }

    async function errorPage(context: BrowserContext, url: string, status: number, heading: string) {
      const tab = await context.newPage();
      const response = await tab.goto(url);
      expect(response?.status()).toBe(status);
      expect(await tab.getByRole('heading', { level: 1 }).textContent()).toBe(heading);
      return tab;
    }

    async function panel(context: BrowserContext, user: number, path = '') {
      const tab = await context.newPage();
      const response = await tab.goto(`${proxy.urls[user]}${path}`);
      expect(response?.status()).toBe(200);
      return tab;
    }

    /** Types a code on the Link Alexa page and presses Continue; resolves with the answer's status. */
    async function submitCode(tab: Page, code: string): Promise<number> {
      await tab.locator('#code').fill(code);
      const answer = tab.waitForResponse((response) => response.request().method() === 'POST' && new URL(response.url()).pathname.endsWith('/code'));
      await tab.getByRole('button', { name: 'Continue' }).click();
      const status = (await answer).status();
      await tab.waitForLoadState();
      return status;
    }

    async function confirmPage(context: BrowserContext, code: string) {
      const tab = await panel(context, 0);
      expect(await submitCode(tab, code)).toBe(200);
      await tab.getByRole('button', { name: 'Approve' }).waitFor();
      return tab;
    }

    // ---- the harness itself ----

    it('self-check: the harness reports a missing alt text and low contrast', async () => {
      const context = await chromium.newContext();
      try {
        const tab = await context.newPage();
        await tab.setContent(
          '<!doctype html><html lang="en"><head><title>t</title></head><body><main><h1>Self-check</h1>' +
            '<img src="data:image/gif;base64,R0lGODlhAQABAAAAACw=">' +
            '<p style="color:#bbb;background:#fff">Low contrast text</p></main></body></html>',
        );
        const ids = (await runAxe(tab)).violations.filter(isBlocking).map((finding) => finding.id);
        expect(ids).toContain('image-alt');
        expect(ids).toContain('color-contrast');
      } finally {
        await context.close();
      }
    });

    it('self-check: axe loads and finds an injected fault on a real page under its CSP', async () => {
      const context = await chromium.newContext();
      try {
        const tab = await context.newPage();
        const response = await tab.goto(`${clockServer.base}/authorize/wait`);
        expect(response?.headers()['content-security-policy']).toContain("script-src 'self'");
        // The CSP is in force: an inline script does not run.
        // Page code as strings: the test project is typed without the DOM library.
        await tab.evaluate("const s = document.createElement('script'); s.textContent = 'window.inlineRan = true'; document.body.append(s)");
        expect(await tab.evaluate('window.inlineRan === true')).toBe(false);
        // A text field without a label: axe must find it.
        await tab.evaluate("document.querySelector('main').append(Object.assign(document.createElement('input'), { type: 'text' }))");
        const ids = (await runAxe(tab)).violations.filter(isBlocking).map((finding) => finding.id);
        expect(ids).toContain('label');
      } finally {
        await context.close();
      }
    });

    // ---- public pages (Alexa's browser) ----

    it('waiting page, pending (English and German)', async () => {
      const request = await waitingRequest(server);
      await audit('wait-pending', (context) => waitingPage(context, server, request.cookies, 'pending'), ['en', 'de']);
    });

    it('waiting page, approved', async () => {
      const request = await waitingRequest(server);
      decide(server.app.store, request.userCode, ALICE, 'approved');
      await audit('wait-approved', (context) => waitingPage(context, server, request.cookies, 'approved'));
    });

    it('waiting page, denied', async () => {
      const request = await waitingRequest(server);
      decide(server.app.store, request.userCode, ALICE, 'denied');
      await audit('wait-denied', (context) => waitingPage(context, server, request.cookies, 'denied'));
    });

    it.each(['approved', 'denied'] as const)('waiting page, %s while it waits (the state its script shows)', async (decision) => {
      const request = await waitingRequest(server);
      await audit(`wait-${decision}-js`, async (context) => {
        // The page's next check hears the decision; its way on is answered with 204 No Content,
        // which leaves the page in place, in the state it shows while it goes on.
        await context.route('**/authorize/status', (route) => route.fulfill({ json: { status: decision } }));
        await context.route('**/authorize/continue', (route) => route.fulfill({ status: 204 }));
        // Undecided in the store: the page is served pending, and its script shows the decision.
        await context.addCookies(request.cookies);
        const tab = await context.newPage();
        await tab.goto(`${server.base}/authorize/wait`);
        await expect.poll(() => tab.locator('#status').getAttribute('data-state'), { timeout: 10_000 }).toBe(decision);
        return tab;
      });
    });

    it('waiting page, expired; then "This link request has ended"', async () => {
      const request = await waitingRequest(clockServer);
      storeClock.advance(TUNABLES.oauth.pendingRequestTtlSeconds * 1000 + 1_000);
      await audit('wait-expired', (context) => waitingPage(context, clockServer, request.cookies, 'expired'));
      // An expired pending request now leads back to the waiting page (Get a new code); the
      // "ended" page is what an approved request that expired before Continue gets.
      const approved = await waitingRequest(clockServer);
      decide(clockServer.app.store, approved.userCode, ALICE, 'approved');
      storeClock.advance(TUNABLES.oauth.pendingRequestTtlSeconds * 1000 + 1_000);
      await audit('error-request-ended', async (context) => {
        await context.addCookies(approved.cookies);
        return errorPage(context, `${clockServer.base}/authorize/continue`, 400, 'This link request has ended');
      });
    });

    it('error page: unknown application', async () => {
      const url = authorizeUrl(clockServer.base, { client_id: 'someone-else', redirect_uri: REDIRECT_URI, response_type: 'code' }).href;
      await audit('error-unknown-client', (context) => errorPage(context, url, 400, 'Unknown application'));
    });

    it('error page: unexpected return address', async () => {
      const url = authorizeUrl(clockServer.base, { client_id: CLIENT_ID, redirect_uri: 'https://attacker.invalid/cb', response_type: 'code' }).href;
      await audit('error-bad-redirect', (context) => errorPage(context, url, 400, 'Unexpected return address'));
    });

    it('error page: no link request in this browser', async () => {
      await audit('error-no-request', (context) => errorPage(context, `${clockServer.base}/authorize/wait`, 400, 'No link request in this browser'));
    });

    it('PKCE required', async () => {
      const url = authorizeUrl(clockServer.base, { client_id: CLIENT_ID, redirect_uri: REDIRECT_URI, response_type: 'code' }).href;
      await audit('pkce-required', (context) => errorPage(context, url, 400, 'PKCE must be turned on'));
    });

    it('error page: too many attempts', async () => {
      // Its own server: the spent /authorize budget must not touch the other pages.
      const limited = await startTestServer();
      try {
        const url = authorizeUrl(limited.base, { client_id: 'someone-else', redirect_uri: REDIRECT_URI, response_type: 'code' }).href;
        for (let i = 0; i < TUNABLES.limits.authorize.limit; i++) await fetch(url);
        await audit('error-too-many', (context) => errorPage(context, url, 429, 'Too many attempts'));
      } finally {
        await limited.close();
      }
    });

    // ---- the panel (Home Assistant sidebar, through the ingress proxy) ----

    it('panel: Link Alexa, empty, with the relink notice (English and German)', async () => {
      await audit(
        'panel-link',
        async (context) => {
          const tab = await panel(context, 0);
          await tab.locator('#code').waitFor();
          expect(await tab.getByRole('region').count()).toBe(1); // the relink notice (relink_notice on)
          return tab;
        },
        ['en', 'de'],
      );
    });

    it('panel: Link Alexa with a wrong code', async () => {
      server.app.store.notices.dismiss('relink', BOB.id);
      await audit('panel-link-wrong-code', async (context) => {
        const tab = await panel(context, 1);
        expect(await submitCode(tab, WRONG_CODE)).toBe(404);
        await tab.getByRole('alert').waitFor();
        return tab;
      });
    });

    it('panel: Link Alexa after too many wrong codes', async () => {
      await audit('panel-link-too-many', async (context) => {
        const tab = await panel(context, 2);
        let status = 0;
        for (let i = 0; i <= TUNABLES.limits.wrongCodes.limit && status !== 429; i++) status = await submitCode(tab, WRONG_CODE);
        expect(status).toBe(429);
        expect(await tab.getByRole('alert').textContent()).toContain('Too many wrong codes');
        return tab;
      });
    });

    it('panel: confirm page', async () => {
      const code = pendingCode();
      await audit('panel-confirm', (context) => confirmPage(context, code));
    });

    it('panel: done, approved', async () => {
      await audit('panel-done-approved', async (context) => {
        const tab = await confirmPage(context, pendingCode());
        await tab.getByRole('button', { name: 'Approve' }).click();
        await tab.getByRole('heading', { name: 'Approved' }).waitFor();
        return tab;
      });
    });

    it('panel: done, denied', async () => {
      await audit('panel-done-denied', async (context) => {
        const tab = await confirmPage(context, pendingCode());
        await tab.getByRole('button', { name: 'Deny' }).click();
        await tab.getByRole('heading', { name: 'Denied' }).waitFor();
        return tab;
      });
    });

    it('panel: done, the request is gone', async () => {
      await audit('panel-done-gone', async (context) => {
        const code = pendingCode();
        const tab = await confirmPage(context, code);
        decide(server.app.store, code, BOB, 'denied'); // decided elsewhere meanwhile
        await tab.getByRole('button', { name: 'Approve' }).click();
        await tab.getByRole('heading', { name: 'This request has ended' }).waitFor();
        return tab;
      });
    });

    it('panel: Linked accounts, none; Activity, empty', async () => {
      await audit('panel-links-none', async (context) => {
        const tab = await panel(context, 3, 'links');
        await tab.getByText('No Alexa account is linked to you yet.').waitFor();
        return tab;
      });
      await audit('panel-activity-empty', async (context) => {
        const tab = await panel(context, 3, 'activity');
        await tab.getByText('Nothing yet.').waitFor();
        return tab;
      });
    });

    it('panel: Linked accounts with an active and a revoked link, after a revoke; Activity', async () => {
      await link(server, ERIN);
      await link(server, ERIN);
      const [newest] = server.app.store.grants.listForSubject(ERIN.id);
      expect(server.app.store.ops.revokeOwnLink(ERIN.id, newest!.id).status).toBe('revoked');
      await audit('panel-links', async (context) => {
        const tab = await panel(context, 4, 'links?revoked=1');
        expect(await tab.locator('li.link').count()).toBe(2);
        expect(await tab.getByRole('button', { name: 'Revoke' }).count()).toBe(1);
        await tab.getByText('The link was revoked').waitFor();
        return tab;
      });
      await audit('panel-activity', async (context) => {
        const tab = await panel(context, 4, 'activity');
        // One line per link made (two) and the revocation.
        expect(await tab.locator('ol.activity > li').count()).toBe(3);
        return tab;
      });
    });
  },
  { nginx: true },
);

/** Every finding of every run to test-output/a11y-report.json; a short summary on the console. */
function writeReport(runs: Run[]): void {
  const byRule = new Map<string, { impact: string | null; help: string; pages: Set<string>; nodes: number; knownNodes: number }>();
  const unchecked = new Map<string, { impact: string | null; help: string; pages: Set<string>; nodes: number }>();
  for (const run of runs) {
    for (const finding of run.result.violations) {
      const entry = byRule.get(finding.id) ?? { impact: finding.impact, help: finding.help, pages: new Set(), nodes: 0, knownNodes: 0 };
      entry.pages.add(run.page);
      entry.nodes += finding.nodes.length;
      entry.knownNodes += finding.nodes.filter((node) => knownEntry(run, finding.id, node)).length;
      byRule.set(finding.id, entry);
    }
    for (const finding of run.result.incomplete) {
      const entry = unchecked.get(finding.id) ?? { impact: finding.impact, help: finding.help, pages: new Set(), nodes: 0 };
      entry.pages.add(run.page);
      entry.nodes += finding.nodes.length;
      unchecked.set(finding.id, entry);
    }
  }
  const stale = KNOWN_FINDINGS.filter(
    (entry) => !runs.some((run) => run.result.violations.some((f) => f.nodes.some((node) => knownEntry(run, f.id, node) === entry))),
  );
  const report = {
    axeVersion: runs[0]?.result.axeVersion,
    tags: AXE_TAGS,
    runs: runs.map((run) => ({
      page: run.page,
      viewport: run.viewport,
      scheme: run.scheme,
      locale: run.locale,
      url: run.url,
      passes: run.result.passes,
      violations: run.result.violations.map((finding) => ({
        ...finding,
        known: isBlocking(finding) && known(run, finding),
        nodes: finding.nodes.map((node) => ({ ...node, known: knownEntry(run, finding.id, node) !== undefined })),
      })),
      incomplete: run.result.incomplete,
    })),
    knownFindings: KNOWN_FINDINGS,
    staleKnownFindings: stale,
  };
  mkdirSync(dirname(REPORT), { recursive: true });
  writeFileSync(REPORT, `${JSON.stringify(report, null, 2)}\n`);

  const pages = new Set(runs.map((run) => run.page)).size;
  const lines = [`[a11y] ${runs.length} audits of ${pages} pages (axe-core ${report.axeVersion}); report: ${REPORT}`];
  if (byRule.size === 0) lines.push('[a11y] no findings');
  for (const [id, entry] of byRule) {
    const knownPart = entry.knownNodes > 0 ? ` (${entry.knownNodes} in KNOWN_FINDINGS)` : '';
    lines.push(`[a11y] ${entry.impact} ${id}: ${entry.help} — ${entry.nodes} elements${knownPart} on ${[...entry.pages].join(', ')}`);
  }
  for (const [id, entry] of unchecked) {
    lines.push(`[a11y] needs review (axe could not decide), ${entry.impact} ${id}: ${entry.help} — ${entry.nodes} elements on ${[...entry.pages].join(', ')}`);
  }
  for (const entry of stale) lines.push(`[a11y] stale KNOWN_FINDINGS entry (no longer found, remove it): ${entry.rule} ${entry.target} (${entry.scheme})`);
  console.log(lines.join('\n'));
}
