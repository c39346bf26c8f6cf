/**
 * Every language on narrow phones, in real Chromium behind a real nginx ingress proxy: the panel's
 * three tabs show their whole labels at 320, 360 and 390 px in English, German, Dutch and French
 * (issue 20: "Akt", "A", "Activit" were cut off), also with labels of 24 characters; then one
 * screenshot set per language of every state a person sees (waiting page and panel) and an axe
 * audit of each panel state per language at 360 px.
 *
 * Writes test-output/screenshots/lang/<lang>/<state>-<width>.png (and -360-dark.png).
 */
import { closeSync, mkdirSync, openSync, readSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { BrowserContext, Browser as Chromium, Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { TUNABLES } from '../src/config/tunables.js';
import { CATALOGUES, LOCALES, type Locale } from '../src/i18n/index.js';
import { type AxeFinding, isBlocking, runAxe } from './helpers/axe.js';
import { Browser } from './helpers/browser.js';
import { describeBrowser, launch, SCREENSHOT_DIR } from './helpers/chromium.js';
import { pkcePair } from './helpers/link.js';
import { type IngressProxy, startIngressProxy } from './helpers/nginx.js';
import { CLIENT_ID, decide, REDIRECT_URI, startLink, startTestServer, type TestServer } from './helpers/oauth-server.js';
import { linkFrom, pendingRequest, UA } from './helpers/panel.js';
import { realTimeClock } from './helpers/store.js';

const WIDTHS = [320, 360, 390] as const;
const HEIGHT = 700;
/** The three tabs, in their order, and the state each one opens. */
const TABS = [
  { key: 'panel.tabs.link', state: 'panel-link' },
  { key: 'panel.tabs.links', state: 'panel-links' },
  { key: 'panel.tabs.activity', state: 'panel-activity' },
] as const;
/** Labels as long as a rewording may make them (23 and 24 characters, one a single long word). */
const LONG_LABELS = ['Alexa-Konten verknüpfen', 'Verknüpfte Alexa-Konten', 'Activiteitengeschiedenis'];

/** One HA user per language, each with one link: the panel of one language never sees another's. */
const USERS = LOCALES.map((locale, i) => {
  const hex = (i + 10).toString(16);
  return { id: hex.repeat(32), name: `user-${locale}`, displayName: `${locale.toUpperCase()} Example` };
});

type Scheme = 'light' | 'dark';
interface Variant {
  width: number;
  scheme: Scheme;
}
/** Light at every width, dark at 360. */
const VARIANTS: readonly Variant[] = [...WIDTHS.map((width) => ({ width, scheme: 'light' as const })), { width: 360, scheme: 'dark' }];
const AUDITED: Variant = { width: 360, scheme: 'light' };

const PANEL_STATES = ['panel-link', 'panel-confirm', 'panel-done-approved', 'panel-done-denied', 'panel-links', 'panel-revoke', 'panel-activity'] as const;
const WAIT_STATES = ['wait-pending', 'wait-approved', 'wait-denied', 'wait-expired'] as const;
type State = (typeof PANEL_STATES)[number] | (typeof WAIT_STATES)[number];

/** The few DOM names the page functions use: they run in Chromium, and the test project has no DOM lib. */
interface Rect {
  left: number;
  right: number;
  top: number;
  bottom: number;
  height: number;
}
interface PageElement {
  tagName: string;
  innerText: string;
  textContent: string | null;
  scrollWidth: number;
  clientWidth: number;
  scrollHeight: number;
  clientHeight: number;
  parentElement: PageElement | null;
  getBoundingClientRect(): Rect;
  querySelectorAll(selector: string): ArrayLike<PageElement>;
}
declare const document: {
  documentElement: PageElement;
  querySelector(selector: string): PageElement | null;
  querySelectorAll(selector: string): ArrayLike<PageElement>;
};
declare const getComputedStyle: (element: PageElement) => { overflowX: string; overflowY: string; display: string; visibility: string };

interface TabMeasure {
  text: string;
  rect: Rect;
  scrollWidth: number;
  clientWidth: number;
  scrollHeight: number;
  clientHeight: number;
  visible: boolean;
  /** An ancestor that clips (overflow other than visible) and whose box the tab pokes out of. */
  clippedBy: string | null;
}
interface TabsMeasure {
  viewportWidth: number;
  documentScrollWidth: number;
  nav: { rect: Rect; scrollWidth: number; clientWidth: number };
  tabs: TabMeasure[];
}

/** Measures the tab row in the page: where each tab is, what it shows, and what could clip it. */
function measureTabs(page: Page): Promise<TabsMeasure> {
  return page.evaluate(() => {
    const nav = document.querySelector('.toolbar nav');
    if (!nav) throw new Error('no tab row');
    const box = (r: Rect): Rect => ({ left: r.left, right: r.right, top: r.top, bottom: r.bottom, height: r.height });
    const tabs = Array.from(nav.querySelectorAll('a')).map((tab): TabMeasure => {
      const rect = tab.getBoundingClientRect();
      let clippedBy: string | null = null;
      for (let node = tab.parentElement; node && !clippedBy; node = node.parentElement) {
        const style = getComputedStyle(node);
        if (style.overflowX === 'visible' && style.overflowY === 'visible') continue;
        const outer = node.getBoundingClientRect();
        const out = rect.left < outer.left - 0.5 || rect.right > outer.right + 0.5 || rect.top < outer.top - 0.5 || rect.bottom > outer.bottom + 0.5;
        if (out || node.scrollWidth > node.clientWidth) clippedBy = `${node.tagName} (overflow ${style.overflowX})`;
      }
      const style = getComputedStyle(tab);
      return {
        // biome-ignore lint/performance/useDomNodeTextContent: what is rendered is the point (text hidden by CSS would not count)
        text: tab.innerText,
        rect: box(rect),
        scrollWidth: tab.scrollWidth,
        clientWidth: tab.clientWidth,
        scrollHeight: tab.scrollHeight,
        clientHeight: tab.clientHeight,
        visible: style.display !== 'none' && style.visibility === 'visible' && rect.height > 0,
        clippedBy,
      };
    });
    return {
      viewportWidth: document.documentElement.clientWidth,
      documentScrollWidth: document.documentElement.scrollWidth,
      nav: { rect: box(nav.getBoundingClientRect()), scrollWidth: nav.scrollWidth, clientWidth: nav.clientWidth },
      tabs,
    };
  });
}

/** Every tab whole: inside the viewport and its row, nothing scrolled or clipped away, its label all there. */
function expectWhole(measure: TabsMeasure, labels: readonly string[], where: string): void {
  const { nav } = measure;
  expect(
    measure.tabs.map((tab) => tab.text.replace(/\s+/g, ' ').trim()),
    `${where}: labels`,
  ).toEqual(labels);
  expect(nav.scrollWidth, `${where}: the tab row scrolls sideways (${nav.scrollWidth} > ${nav.clientWidth})`).toBeLessThanOrEqual(nav.clientWidth);
  expect(measure.documentScrollWidth, `${where}: the page scrolls sideways`).toBeLessThanOrEqual(measure.viewportWidth);
  measure.tabs.forEach((tab, i) => {
    const what = `${where}: tab "${labels[i]}"`;
    expect(tab.visible, `${what} is not shown`).toBe(true);
    expect(tab.clippedBy, `${what} is clipped`).toBeNull();
    expect(tab.scrollWidth, `${what} overflows its box sideways`).toBeLessThanOrEqual(tab.clientWidth);
    expect(tab.scrollHeight, `${what} overflows its box downwards`).toBeLessThanOrEqual(tab.clientHeight);
    expect(tab.rect.left, `${what} starts left of the viewport`).toBeGreaterThanOrEqual(0);
    expect(tab.rect.right, `${what} ends right of the viewport`).toBeLessThanOrEqual(measure.viewportWidth);
    expect(tab.rect.left, `${what} starts left of the tab row`).toBeGreaterThanOrEqual(nav.rect.left - 0.5);
    expect(tab.rect.right, `${what} ends right of the tab row (${tab.rect.right} > ${nav.rect.right})`).toBeLessThanOrEqual(nav.rect.right + 0.5);
    expect(tab.rect.top, `${what} starts above the tab row`).toBeGreaterThanOrEqual(nav.rect.top - 0.5);
    expect(tab.rect.bottom, `${what} ends below the tab row`).toBeLessThanOrEqual(nav.rect.bottom + 0.5);
    expect(tab.rect.height, `${what} is a touch target under 24 px high`).toBeGreaterThanOrEqual(24);
  });
}

/** A PNG: the 8-byte signature and more than a header. */
function isPng(path: string): boolean {
  const signature = Buffer.alloc(8);
  const fd = openSync(path, 'r');
  try {
    readSync(fd, signature, 0, 8, 0);
  } finally {
    closeSync(fd);
  }
  return signature.equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) && statSync(path).size > 100;
}

/** Runs `tasks` with at most `limit` at a time (Chromium on a small machine: a few pages at once). */
async function pool<T>(tasks: Array<() => Promise<T>>, limit: number): Promise<T[]> {
  const results: T[] = new Array(tasks.length);
  let next = 0;
  const worker = async () => {
    while (next < tasks.length) {
      const index = next++;
      results[index] = await tasks[index]!();
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, tasks.length) }, worker));
  return results;
}

/** Pages at once: Chromium on a 2-core machine gains little from more. */
const PARALLEL = 4;
/** Generous per test: a loaded CI machine is several times slower than a quiet one. */
const TIMEOUT = 180_000;

describeBrowser(
  'every language on a narrow phone',
  () => {
    let server: TestServer;
    let proxy: IngressProxy;
    let chromium: Chromium;
    /** The store's clock, stepped over expiry for the expired waiting page, then put back. */
    const time = realTimeClock();
    const written: string[] = [];
    const audits: Array<{ locale: Locale; state: State; blocking: AxeFinding[] }> = [];

    beforeAll(async () => {
      server = await startTestServer({ home_assistant_url: 'http://homeassistant.local:8123' }, undefined, {}, time);
      proxy = await startIngressProxy({ upstreamPort: Number(new URL(server.app.ingressUrl).port), users: USERS });
      chromium = await launch();
      for (const user of USERS) await linkFrom(server, user, UA.androidAlexaApp);
    });
    afterAll(async () => {
      await chromium?.close();
      await proxy?.stop();
      await server?.close();
    });

    async function newContext(locale: Locale, variant: Variant): Promise<BrowserContext> {
      return chromium.newContext({
        viewport: { width: variant.width, height: HEIGHT },
        colorScheme: variant.scheme,
        locale,
        extraHTTPHeaders: { 'accept-language': locale },
      });
    }

    const panelUrl = (locale: Locale, path = ''): string => `${proxy.urls[LOCALES.indexOf(locale)]}${path}`;

    /** Opens the panel page and checks that it came in the wanted language. */
    async function openPanel(context: BrowserContext, locale: Locale, path = ''): Promise<Page> {
      const page = await context.newPage();
      const response = await page.goto(panelUrl(locale, path));
      expect(response?.status()).toBe(200);
      expect(await page.locator('html').getAttribute('lang')).toBe(locale);
      return page;
    }

    /** A link request as Alexa's browser starts it over HTTP; its session cookies let a context see its waiting page. */
    async function waitingRequest() {
      const browser = new Browser({ 'user-agent': UA.androidAlexaApp });
      const started = await startLink(browser, server.base, {
        client_id: CLIENT_ID,
        redirect_uri: REDIRECT_URI,
        response_type: 'code',
        state: 'languages',
        code_challenge: pkcePair().challenge,
        code_challenge_method: 'S256',
      });
      return { userCode: started.userCode, cookies: [...browser.cookies].map(([name, value]) => ({ name, value, url: server.base })) };
    }

    type Cookies = Awaited<ReturnType<typeof waitingRequest>>['cookies'];
    const waitingPage =
      (cookies: Cookies, state: string) =>
      async (context: BrowserContext): Promise<Page> => {
        await context.addCookies(cookies);
        const page = await context.newPage();
        await page.goto(`${server.base}/authorize/wait`);
        expect(await page.locator('#status').getAttribute('data-state')).toBe(state);
        return page;
      };

    /** The confirm page of a new pending request, reached by typing its code. */
    async function confirmPage(context: BrowserContext, locale: Locale): Promise<Page> {
      const code = pendingRequest(server, UA.androidAlexaApp);
      const page = await openPanel(context, locale);
      await page.locator('#code').fill(code);
      await page.locator('.code-form button[type="submit"]').click();
      await page.locator('button[value="approve"]').waitFor();
      return page;
    }

    const panelStates: Record<(typeof PANEL_STATES)[number], (context: BrowserContext, locale: Locale) => Promise<Page>> = {
      'panel-link': async (context, locale) => {
        const page = await openPanel(context, locale);
        await page.locator('#code').waitFor();
        return page;
      },
      'panel-confirm': confirmPage,
      'panel-done-approved': async (context, locale) => {
        const page = await confirmPage(context, locale);
        await page.locator('button[value="approve"]').click();
        await page.getByRole('heading', { level: 1, name: CATALOGUES[locale]['panel.done.approved'] }).waitFor();
        return page;
      },
      'panel-done-denied': async (context, locale) => {
        const page = await confirmPage(context, locale);
        await page.locator('button[value="deny"]').click();
        await page.getByRole('heading', { level: 1, name: CATALOGUES[locale]['panel.done.denied'] }).waitFor();
        return page;
      },
      'panel-links': async (context, locale) => {
        const page = await openPanel(context, locale, 'links');
        expect(await page.locator('li.link.active').count()).toBe(1);
        return page;
      },
      'panel-revoke': async (context, locale) => {
        const page = await openPanel(context, locale, 'links');
        await page.locator('li.link.active form button').click();
        await page.getByRole('heading', { level: 1, name: CATALOGUES[locale]['panel.revoke.heading'] }).waitFor();
        return page;
      },
      'panel-activity': async (context, locale) => {
        const page = await openPanel(context, locale, 'activity');
        expect(await page.locator('ol.activity > li').count()).toBeGreaterThan(0);
        return page;
      },
    };

    /**
     * A state in its own context, photographed at every width and scheme: the state is reached once
     * and the viewport and colour scheme then changed (a fresh page per shot costs a renderer each,
     * four times the run time). Writes test-output/screenshots/lang/<lang>/<state>-<width>[-dark].png;
     * `check` runs at each of them first; at 360 px light every state is audited by axe as well.
     */
    async function shoot(
      locale: Locale,
      state: State,
      open: (context: BrowserContext) => Promise<Page>,
      check?: (page: Page, variant: Variant) => Promise<void>,
    ): Promise<void> {
      const first = VARIANTS[0]!;
      const context = await newContext(locale, first);
      try {
        const page = await open(context);
        const dir = join(SCREENSHOT_DIR, 'lang', locale);
        mkdirSync(dir, { recursive: true });
        for (const variant of VARIANTS) {
          await page.setViewportSize({ width: variant.width, height: HEIGHT });
          await page.emulateMedia({ colorScheme: variant.scheme });
          await check?.(page, variant);
          const path = join(dir, `${state}-${variant.width}${variant.scheme === 'dark' ? '-dark' : ''}.png`);
          await page.screenshot({ path, fullPage: true, animations: 'disabled' });
          written.push(path);
          if (variant.width === AUDITED.width && variant.scheme === AUDITED.scheme) {
            const result = await runAxe(page);
            expect(result.passes, `${locale} ${state}: axe checked nothing`).toBeGreaterThan(0);
            audits.push({ locale, state, blocking: result.violations.filter(isBlocking) });
          }
        }
      } finally {
        await context.close();
      }
    }

    // The tab pages are measured where they are photographed: one page load serves both.
    for (const locale of LOCALES) {
      it(
        `${locale}: on each tab, every tab's whole label shows at ${WIDTHS.join(', ')} px`,
        async () => {
          const labels = TABS.map((tab) => CATALOGUES[locale][tab.key]);
          await pool(
            TABS.map(
              (tab) => () =>
                shoot(
                  locale,
                  tab.state,
                  (context) => panelStates[tab.state](context, locale),
                  async (page, variant) => {
                    expect(await page.locator('.toolbar nav a[aria-current="page"]').textContent()).toBe(CATALOGUES[locale][tab.key]);
                    expectWhole(await measureTabs(page), labels, `${locale} ${variant.width} px ${variant.scheme} on ${tab.state}`);
                  },
                ),
            ),
            PARALLEL,
          );
        },
        TIMEOUT,
      );
    }

    it('labels of up to 24 characters, one a single word, still show whole at 320 px', async () => {
      const context = await newContext('de', { width: 320, scheme: 'light' });
      try {
        const page = await openPanel(context, 'de');
        // As a catalogue rewording could make them; set in the page (the text is all that changes).
        await page.evaluate((labels) => {
          const tabs = document.querySelectorAll('.toolbar nav a');
          for (let i = 0; i < tabs.length; i++) tabs[i]!.textContent = labels[i] ?? '';
        }, LONG_LABELS);
        expectWhole(await measureTabs(page), LONG_LABELS, 'long labels at 320 px');
      } finally {
        await context.close();
      }
    });

    it(
      'screenshots of the expired waiting page, every language',
      async () => {
        const expired = await waitingRequest();
        time.advance(TUNABLES.oauth.pendingRequestTtlSeconds * 1000 + 1_000);
        try {
          await pool(
            LOCALES.map((locale) => () => shoot(locale, 'wait-expired', waitingPage(expired.cookies, 'expired'))),
            PARALLEL,
          );
        } finally {
          time.reset();
        }
      },
      TIMEOUT,
    );

    for (const locale of LOCALES) {
      it(
        `${locale}: screenshots of every other state`,
        async () => {
          const pending = await waitingRequest();
          const approved = await waitingRequest();
          decide(server.app.store, approved.userCode, USERS[0]!, 'approved');
          const denied = await waitingRequest();
          decide(server.app.store, denied.userCode, USERS[0]!, 'denied');
          const waitStates: Array<[State, (context: BrowserContext) => Promise<Page>]> = [
            ['wait-pending', waitingPage(pending.cookies, 'pending')],
            ['wait-approved', waitingPage(approved.cookies, 'approved')],
            ['wait-denied', waitingPage(denied.cookies, 'denied')],
          ];
          const others = PANEL_STATES.filter((state) => !TABS.some((tab) => tab.state === state));
          await pool(
            [
              ...waitStates.map(
                ([state, open]) =>
                  () =>
                    shoot(locale, state, open),
              ),
              ...others.map((state) => () => shoot(locale, state, (context) => panelStates[state](context, locale))),
            ],
            PARALLEL,
          );
        },
        TIMEOUT,
      );
    }

    it('axe: no serious or critical finding on any page state, in any language, at 360 px', () => {
      expect(audits.map(({ locale, state }) => `${locale} ${state}`).sort()).toEqual(
        LOCALES.flatMap((locale) => [...WAIT_STATES, ...PANEL_STATES].map((state) => `${locale} ${state}`)).sort(),
      );
      const findings = audits.flatMap(({ locale, state, blocking }) =>
        blocking.flatMap((finding) =>
          finding.nodes.map((node) => `[${finding.impact}] ${finding.id} (${locale} ${state}) ${node.target.join(' → ')}: ${node.summary}`),
        ),
      );
      expect(findings, 'serious or critical accessibility findings').toEqual([]);
    });

    it('wrote every screenshot as a PNG', () => {
      const states: readonly State[] = [...WAIT_STATES, ...PANEL_STATES];
      const expected = LOCALES.flatMap((locale) =>
        states.flatMap((state) => VARIANTS.map((v) => join(SCREENSHOT_DIR, 'lang', locale, `${state}-${v.width}${v.scheme === 'dark' ? '-dark' : ''}.png`))),
      );
      expect([...written].sort()).toEqual([...expected].sort());
      for (const path of expected) expect(isPng(path), `${path} is not a PNG`).toBe(true);
    });
  },
  { nginx: true },
);
