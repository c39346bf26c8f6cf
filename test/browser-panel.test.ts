/**
 * The panel on a phone, in real Chromium behind a real nginx ingress proxy, inside a stand-in of
 * the Home Assistant app: its own 56 px header with the panel's name, the panel in an iframe below.
 * Every tab whole, no second title, the Code field above the fold with the relink notice shown
 * (turned on with the relink_notice option: a fresh install shows none);
 * text contrast of the error and the active tab at least 4.5:1 in light and dark; Revoke asks first.
 */
import { copyFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BrowserContext, Browser as Chromium, Frame, Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { COLOR_SCHEMES, describeBrowser, launch, SCREENSHOT_DIR, screenshots } from './helpers/chromium.js';
import { startIngressProxy } from './helpers/nginx.js';
import { startTestServer, type TestServer } from './helpers/oauth-server.js';
import { ALEXA_NA_REDIRECT_URI, linkFrom, pendingRequest, UA } from './helpers/panel.js';

const ALICE = { id: 'a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1', name: 'alice', displayName: 'Alice Example' };
const BOB = { id: 'b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2', name: 'bob', displayName: 'Bob Example' };
const CAROL = { id: 'c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3', name: 'carol', displayName: 'Carol Example' };

/** The HA app on a small phone: 360 × 640, HA's header 56 px, the panel's iframe the rest. */
const PHONE = { width: 360, height: 640 };
const HA_HEADER = 56;

type Rgba = [number, number, number, number];

/** The few DOM names the page functions use: they run in Chromium, and the test project has no DOM lib. */
interface PageElement {
  parentElement: PageElement | null;
  scrollWidth: number;
  clientWidth: number;
}
declare const getComputedStyle: (element: PageElement) => { color: string; backgroundColor: string };
declare const window: { scrollY: number };

/** "rgb(1, 2, 3)", "rgba(1, 2, 3, 0.5)" or "color(srgb 0.1 0.2 0.3 / 0.14)" (what color-mix computes to). */
function parseColor(text: string): Rgba {
  const rgb = /^rgba?\(([\d.]+),\s*([\d.]+),\s*([\d.]+)(?:,\s*([\d.]+))?\)$/.exec(text);
  if (rgb) return [Number(rgb[1]), Number(rgb[2]), Number(rgb[3]), rgb[4] === undefined ? 1 : Number(rgb[4])];
  const srgb = /^color\(srgb ([\d.e-]+) ([\d.e-]+) ([\d.e-]+)(?: \/ ([\d.e-]+))?\)$/.exec(text);
  if (srgb) return [Number(srgb[1]) * 255, Number(srgb[2]) * 255, Number(srgb[3]) * 255, srgb[4] === undefined ? 1 : Number(srgb[4])];
  throw new Error(`unparsed colour: ${text}`);
}

/** `top` painted over `bottom` (source-over). */
function over(top: Rgba, bottom: Rgba): Rgba {
  const a = top[3] + bottom[3] * (1 - top[3]);
  if (a === 0) return [0, 0, 0, 0];
  const channel = (i: number) => (top[i]! * top[3] + bottom[i]! * bottom[3] * (1 - top[3])) / a;
  return [channel(0), channel(1), channel(2), a];
}

function luminance([r, g, b]: Rgba): number {
  const lin = (c: number) => {
    const v = c / 255;
    return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
  };
  return 0.2126 * lin(r) + 0.7152 * lin(g) + 0.0722 * lin(b);
}

/** WCAG 2 contrast ratio of an element's text on the backgrounds painted under it. */
async function contrastOf(frame: Frame | Page, selector: string): Promise<number> {
  const { color, backgrounds } = await frame
    .locator(selector)
    .first()
    .evaluate((element) => {
      const backgrounds: string[] = [];
      for (let node: PageElement | null = element; node; node = node.parentElement) backgrounds.push(getComputedStyle(node).backgroundColor);
      return { color: getComputedStyle(element).color, backgrounds };
    });
  // From the root down: the canvas is opaque (white or, in dark, the page background paints it).
  let background: Rgba = [255, 255, 255, 1];
  for (const layer of backgrounds.reverse()) background = over(parseColor(layer), background);
  const text = over(parseColor(color), background);
  const [light, dark] = [luminance(text), luminance(background)].sort((a, b) => b - a) as [number, number];
  return (light + 0.05) / (dark + 0.05);
}

describeBrowser(
  'the panel on a phone in the Home Assistant app',
  () => {
    let server: TestServer;
    let proxy: Awaited<ReturnType<typeof startIngressProxy>>;
    let chromium: Chromium;
    const contexts: BrowserContext[] = [];

    beforeAll(async () => {
      // relink_notice on: the Code field must stay above the fold with the notice shown.
      server = await startTestServer({ relink_notice: true });
      proxy = await startIngressProxy({ upstreamPort: Number(new URL(server.app.ingressUrl).port), users: [ALICE, BOB, CAROL] });
      chromium = await launch();
    });
    afterAll(async () => {
      for (const context of contexts) await context.close();
      await chromium?.close();
      await proxy?.stop();
      await server?.close();
    });

    /**
     * The stand-in of the HA app's page, served on the proxy's own origin (the panel may only be
     * framed by its own origin, as in Home Assistant): header bar, then the panel's iframe.
     */
    async function inHomeAssistant(options: { user?: number; colorScheme?: 'light' | 'dark'; locale?: string } = {}): Promise<{ page: Page; panel: Frame }> {
      const context = await chromium.newContext({
        viewport: PHONE,
        colorScheme: options.colorScheme ?? 'light',
        ...(options.locale ? { locale: options.locale } : {}),
      });
      contexts.push(context);
      const panelUrl = proxy.urls[options.user ?? 0]!;
      const origin = new URL(panelUrl).origin;
      await context.route(`${origin}/ha-app`, (route) =>
        route.fulfill({
          status: 200,
          contentType: 'text/html; charset=utf-8',
          body: `<!doctype html><html><head><meta name="viewport" content="width=device-width, initial-scale=1">
<style>html,body{margin:0;height:100%;font:16px Roboto,sans-serif}
header{height:${HA_HEADER}px;display:flex;align-items:center;padding:0 16px;background:#03a9f4;color:#fff;font-size:20px;box-sizing:border-box}
iframe{display:block;width:100%;height:calc(100% - ${HA_HEADER}px);border:0}</style></head>
<body><header>Alexa Link</header><iframe title="Alexa Link" src="${panelUrl}"></iframe></body></html>`,
        }),
      );
      const page = await context.newPage();
      await page.goto(`${origin}/ha-app`);
      const panel = page.frames().find((frame) => frame.url().startsWith(panelUrl));
      if (!panel) throw new Error('the panel did not load in the frame');
      await panel.waitForLoadState();
      await panel.locator('#code').waitFor();
      return { page, panel };
    }

    it('in the narrow header: every tab whole (on a second row if need be), no second title, the Code field above the fold with the notice', async () => {
      for (const locale of ['en-US', 'de-DE']) {
        const { page, panel } = await inHomeAssistant({ locale });
        expect(await panel.locator('.notice').isVisible()).toBe(true);
        expect(await panel.locator('.toolbar-title').isVisible()).toBe(false);
        // German tab names are longer than a 360 px phone: the tabs wrap rather than scroll out of sight.
        const nav = await panel.locator('.toolbar nav').evaluate((element) => ({ scrollWidth: element.scrollWidth, clientWidth: element.clientWidth }));
        expect(nav.scrollWidth).toBeLessThanOrEqual(nav.clientWidth);
        const navBox = (await panel.locator('.toolbar nav').boundingBox())!;
        const tabs = panel.locator('.toolbar nav a');
        expect(await tabs.count()).toBe(3);
        for (const tab of await tabs.all()) {
          const whole = await tab.evaluate((element) => element.scrollWidth <= element.clientWidth);
          const box = (await tab.boundingBox())!;
          expect(whole, `${locale}: ${await tab.textContent()}`).toBe(true);
          expect(box.x).toBeGreaterThanOrEqual(navBox.x);
          expect(box.x + box.width).toBeLessThanOrEqual(Math.min(navBox.x + navBox.width, PHONE.width));
          expect(box.height).toBeGreaterThanOrEqual(24);
        }
        const box = await panel.locator('#code').boundingBox();
        expect(box).not.toBeNull();
        expect(box!.y).toBeGreaterThanOrEqual(HA_HEADER);
        expect(box!.y + box!.height).toBeLessThanOrEqual(PHONE.height);
        expect(await panel.evaluate(() => window.scrollY)).toBe(0);
        expect(await page.evaluate(() => window.scrollY)).toBe(0);
      }
    });

    it('the error text and the active tab have at least 4.5:1 contrast, light and dark', async () => {
      const ratios: Record<string, number> = {};
      for (const colorScheme of COLOR_SCHEMES) {
        const { panel } = await inHomeAssistant({ colorScheme, user: 2 });
        await panel.locator('#code').fill('BCDF-GHJK');
        await panel.getByRole('button', { name: 'Continue' }).click();
        await panel.locator('.error').waitFor();
        ratios[`error ${colorScheme}`] = await contrastOf(panel, '.error');
        ratios[`active tab ${colorScheme}`] = await contrastOf(panel, '.toolbar nav a[aria-current="page"]');
        ratios[`muted ${colorScheme}`] = await contrastOf(panel, '.signed-in');
      }
      console.info('[contrast]', JSON.stringify(ratios));
      for (const [what, ratio] of Object.entries(ratios)) expect(ratio, what).toBeGreaterThanOrEqual(4.5);
    });

    it('Revoke asks first, by clicking: Cancel keeps the link, the confirmation revokes it', async () => {
      await linkFrom(server, CAROL, UA.androidAlexaApp);
      const { panel } = await inHomeAssistant({ user: 2 });
      await panel.getByRole('link', { name: 'Linked accounts' }).click();
      await panel.getByRole('button', { name: 'Revoke' }).click();
      await panel.getByRole('heading', { name: 'Revoke this link?' }).waitFor();
      expect(await panel.getByText('Revoke the link with Alexa (Europe)?').count()).toBe(1);
      expect(await panel.getByText('Android phone · in-app browser').count()).toBe(1);
      await panel.getByRole('link', { name: 'Cancel' }).click();
      await panel.getByRole('heading', { name: 'Linked accounts' }).waitFor();
      expect(server.app.store.grants.listForSubject(CAROL.id)[0]?.revokedAt).toBeUndefined();
      await panel.getByRole('button', { name: 'Revoke' }).click();
      await panel.getByRole('button', { name: 'Revoke' }).click();
      await panel.getByText('The link was revoked').waitFor();
      expect(server.app.store.grants.listForSubject(CAROL.id)[0]?.revokedReason).toBe('user');
      expect(await panel.locator('details.ended summary').textContent()).toBe('Ended links (1)');
    });

    it('writes the panel screenshots', async () => {
      const files: string[] = [];
      mkdirSync(SCREENSHOT_DIR, { recursive: true });
      for (const colorScheme of COLOR_SCHEMES) {
        const { page } = await inHomeAssistant({ colorScheme });
        const path = join(SCREENSHOT_DIR, `panel-link-narrow-header-phone-${colorScheme}.png`);
        await page.screenshot({ path, animations: 'disabled' });
        files.push(path);
      }
      const confirm = (userAgent: string) => {
        const userCode = pendingRequest(server, userAgent);
        return async (page: Page) => {
          await page.getByLabel('Code').fill(userCode);
          await page.getByRole('button', { name: 'Continue' }).click();
          await page.getByRole('button', { name: 'Approve' }).waitFor();
        };
      };
      files.push(...(await screenshots(chromium, proxy.urls[0]!, 'panel-confirm-android', { prepare: confirm(UA.androidAlexaApp) })));
      files.push(...(await screenshots(chromium, proxy.urls[0]!, 'panel-confirm-iphone', { prepare: confirm(UA.iPhoneSafari) })));
      files.push(
        ...(await screenshots(chromium, proxy.urls[0]!, 'panel-done-approved', {
          prepare: async (page) => {
            await confirm(UA.androidAlexaApp)(page);
            await page.getByRole('button', { name: 'Approve' }).click();
            await page.getByRole('heading', { name: 'Approved' }).waitFor();
          },
        })),
      );
      await linkFrom(server, BOB, UA.androidAlexaApp);
      await linkFrom(server, BOB, UA.iPhoneSafari, ALEXA_NA_REDIRECT_URI);
      await linkFrom(server, BOB, UA.windowsEdge);
      await linkFrom(server, BOB, UA.samsung);
      const oldest = server.app.store.grants.listForSubject(BOB.id).at(-1)!;
      server.app.store.ops.revokeOwnLink(BOB.id, oldest.id);
      files.push(
        ...(await screenshots(chromium, `${proxy.urls[1]}links`, 'panel-links-several', {
          prepare: async (page) => {
            await page.locator('details.ended summary').click();
          },
        })),
      );
      files.push(
        ...(await screenshots(chromium, `${proxy.urls[1]}links`, 'panel-revoke-confirm', {
          prepare: async (page) => {
            await page.getByRole('button', { name: 'Revoke' }).first().click();
            await page.getByRole('heading', { name: 'Revoke this link?' }).waitFor();
          },
        })),
      );
      expect(files).toHaveLength(2 + 5 * 4);

      // The canonical set for the documentation, when asked for (UPDATE_DOCS_SCREENSHOTS=1).
      if (process.env.UPDATE_DOCS_SCREENSHOTS === '1') {
        const docs = fileURLToPath(new URL('../docs/screenshots/', import.meta.url));
        for (const name of [
          'panel-link-narrow-header-phone-light',
          'panel-link-narrow-header-phone-dark',
          'panel-confirm-android-phone-light',
          'panel-confirm-android-desktop-dark',
          'panel-confirm-iphone-phone-dark',
          'panel-done-approved-phone-light',
          'panel-links-several-phone-light',
          'panel-links-several-desktop-light',
          'panel-revoke-confirm-phone-dark',
        ]) {
          copyFileSync(join(SCREENSHOT_DIR, `${name}.png`), join(docs, `${name}.png`));
        }
      }
    }, 300_000);
  },
  { nginx: true },
);
