/**
 * Self-test of the real-browser infrastructure: nginx as Home Assistant's ingress in front of a
 * tiny echo server, and Chromium through it (screenshots, Alexa redirect capture).
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { createServer, request as httpRequest, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { connect } from 'node:net';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { ALEXA_REDIRECT_HOSTS } from '../src/config/options.js';
import { describeBrowser, interceptRedirects, launch, screenshots } from './helpers/chromium.js';
import { type IngressProxy, startIngressProxy } from './helpers/nginx.js';

const USERS = [
  { id: 'a1b2c3d4e5f60718293a4b5c6d7e8f90', name: 'alice', displayName: 'Alice Owner' },
  { id: 'f0e1d2c3b4a5968778695a4b3c2d1e0f', name: 'bob', displayName: 'Bob "$HOME" \\ <b>O\'Brien</b>' },
];
const REDIRECT = 'https://layla.amazon.com/api/skill/link/X?code=abc&state=s-1';

interface Echo {
  path: string;
  method: string;
  headers: IncomingHttpHeaders;
}

const PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark"><title>infra self-test</title>
<style>
  body { font: 16px system-ui, sans-serif; margin: 0; padding: 1.5rem; background: #fafafa; color: #111; }
  @media (prefers-color-scheme: dark) { body { background: #111; color: #eee; } }
  .card { max-width: 40rem; margin: auto; padding: 1rem; border-radius: .5rem; border: 1px solid currentColor; }
</style></head>
<body><main class="card"><h1>Alexa Link</h1><p>Browser infrastructure self-test.</p>
<p><a id="direct" href="${REDIRECT.replace('abc', 'direct')}">Link straight to Amazon</a></p></main></body></html>`;

let upstream: Server;
let upstreamPort: number;
const seen: Echo[] = [];
let proxy: IngressProxy;

function get(url: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { headers }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

function refused(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', () => resolve(true));
  });
}

describeBrowser(
  'browser infrastructure (nginx ingress + Chromium)',
  () => {
    beforeAll(async () => {
      upstream = createServer((req, res) => {
        const echo: Echo = { path: req.url ?? '', method: req.method ?? '', headers: req.headers };
        seen.push(echo);
        if (req.url === '/page') {
          res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(PAGE);
        } else if (req.url === '/redirect') {
          res.writeHead(303, { location: REDIRECT }).end();
        } else {
          res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(echo));
        }
      });
      await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
      upstreamPort = (upstream.address() as AddressInfo).port;
      proxy = await startIngressProxy({ upstreamPort, users: USERS });
    });

    afterAll(async () => {
      await proxy?.stop();
      await new Promise((resolve) => upstream?.close(resolve));
    });

    it('strips the ingress prefix and sets the user headers, whatever the client sent', async () => {
      expect(proxy.ingressPath).toMatch(/^\/api\/hassio_ingress\/[0-9a-f]{32}$/);
      expect(proxy.urls).toHaveLength(2);
      expect(proxy.urls[0]).toMatch(new RegExp(`^http://127\\.0\\.0\\.1:\\d+${proxy.ingressPath}/$`));
      const { status, body } = await get(proxy.urls[0]!, {
        'X-Remote-User-Id': 'forged-admin',
        'X-Remote-User-Name': 'forged',
        'X-Remote-User-Display-Name': 'Forged',
        'X-Ingress-Path': '/evil',
        'X-Forwarded-For': '203.0.113.9',
        'X-Remote_User_Id': 'underscore-forged',
        Origin: 'http://homeassistant.local:8123',
        'Sec-Fetch-Site': 'same-origin',
        'Sec-Fetch-Mode': 'navigate',
        Cookie: 'sid=1',
      });
      expect(status).toBe(200);
      const echo = JSON.parse(body) as Echo;
      expect(echo.path).toBe('/');
      expect(echo.headers['x-ingress-path']).toBe(proxy.ingressPath);
      expect(echo.headers['x-remote-user-id']).toBe(USERS[0]!.id);
      expect(echo.headers['x-remote-user-name']).toBe(USERS[0]!.name);
      expect(echo.headers['x-remote-user-display-name']).toBe(USERS[0]!.displayName);
      expect(echo.headers['x-remote_user_id']).toBeUndefined();
      expect(echo.headers['x-forwarded-for']).toBe('127.0.0.1');
      expect(echo.headers.origin).toBe('http://homeassistant.local:8123');
      expect(echo.headers['sec-fetch-site']).toBe('same-origin');
      expect(echo.headers['sec-fetch-mode']).toBe('navigate');
      expect(echo.headers.cookie).toBe('sid=1');
      expect(echo.headers.host).toBe(new URL(proxy.urls[0]!).host);
    });

    it('keeps the rest of the path and the query', async () => {
      const echo = JSON.parse((await get(`${proxy.urls[0]}authorize/wait?x=1&y=%2F`)).body) as Echo;
      expect(echo.path).toBe('/authorize/wait?x=1&y=%2F');
    });

    it('gives each user their own port and identity (quotes, backslash and $ kept literally)', async () => {
      const echo = JSON.parse((await get(proxy.urls[1]!)).body) as Echo;
      expect(echo.headers['x-remote-user-id']).toBe(USERS[1]!.id);
      expect(echo.headers['x-remote-user-name']).toBe(USERS[1]!.name);
      expect(echo.headers['x-remote-user-display-name']).toBe(USERS[1]!.displayName);
    });

    it('answers 404 outside the ingress prefix without reaching the upstream', async () => {
      const before = seen.length;
      const origin = new URL(proxy.urls[0]!).origin;
      expect((await get(`${origin}/`)).status).toBe(404);
      expect((await get(`${origin}/authorize`)).status).toBe(404);
      expect((await get(`${origin}/api/hassio_ingress/${'0'.repeat(32)}/`)).status).toBe(404);
      expect(seen.length).toBe(before);
    });

    it('does not rewrite Location headers (as the Supervisor does not)', async () => {
      const res = await new Promise<{ status: number; location: string | undefined }>((resolve, reject) => {
        httpRequest(`${proxy.urls[0]}redirect`, (r) => {
          r.resume();
          resolve({ status: r.statusCode ?? 0, location: r.headers.location });
        })
          .on('error', reject)
          .end();
      });
      expect(res).toEqual({ status: 303, location: REDIRECT });
    });

    describeBrowser('Chromium', () => {
      let browser: Browser;
      beforeAll(async () => {
        browser = await launch();
      });
      afterAll(async () => {
        await browser?.close();
      });

      it('takes a full-page screenshot per viewport and colour scheme', async () => {
        const paths = await screenshots(browser, `${proxy.urls[0]}page`, 'infra-selftest', {
          extraHTTPHeaders: { 'X-Remote-User-Id': 'forged-admin' },
          prepare: async (page) => {
            await page.getByRole('heading', { name: 'Alexa Link' }).waitFor();
          },
        });
        expect(paths.map((p) => p.replace(/^.*\//, ''))).toEqual([
          'infra-selftest-phone-light.png',
          'infra-selftest-phone-dark.png',
          'infra-selftest-desktop-light.png',
          'infra-selftest-desktop-dark.png',
        ]);
        for (const path of paths) {
          expect(existsSync(path)).toBe(true);
          expect(statSync(path).size).toBeGreaterThan(1000);
          expect(readFileSync(path).subarray(0, 8).toString('hex')).toBe('89504e470d0a1a0a');
        }
        expect(readFileSync(paths[0]!).equals(readFileSync(paths[1]!))).toBe(false); // dark differs
        // The browser's forged identity header was replaced by the proxy's.
        const fromBrowser = seen.filter((e) => e.path === '/page');
        expect(fromBrowser.length).toBeGreaterThanOrEqual(4);
        for (const e of fromBrowser) expect(e.headers['x-remote-user-id']).toBe(USERS[0]!.id);
        expect(fromBrowser.at(-1)!.headers['sec-fetch-site']).toBe('none');
      });

      it("captures Alexa's redirect_uri?code=… from a 303 and from a direct navigation, offline", async () => {
        const context = await browser.newContext();
        try {
          const redirects = await interceptRedirects(context, [...ALEXA_REDIRECT_HOSTS]);
          const page = await context.newPage();

          // 303 from the server: not routable, seen as a request, then fails offline.
          const viaRedirect = redirects.next();
          const navigation = page.goto(`${proxy.urls[0]}redirect`).then(
            () => 'loaded',
            (error: Error) => error.message,
          );
          const captured = await viaRedirect;
          expect(await navigation).toMatch(/ERR_NAME_NOT_RESOLVED/);
          expect(captured.origin).toBe('https://layla.amazon.com');
          expect(captured.pathname).toBe('/api/skill/link/X');
          expect(captured.searchParams.get('code')).toBe('abc');
          expect(captured.searchParams.get('state')).toBe('s-1');

          // A link straight to Amazon: routed and answered by the fake 200 page. (A fresh page: the
          // failed one is still committing its error page.)
          await page.close();
          const page2 = await context.newPage();
          await page2.goto(`${proxy.urls[0]}page`);
          const viaLink = redirects.next();
          await page2.click('#direct');
          expect((await viaLink).searchParams.get('code')).toBe('direct');
          await page2.waitForURL('https://layla.amazon.com/**');
          await expect(page2.textContent('body')).resolves.toContain('Intercepted: layla.amazon.com');

          await expect(redirects.next(200)).rejects.toThrow(/no navigation/);
        } finally {
          await context.close();
        }
      });
    });

    it('stops nginx and frees its ports', async () => {
      const ports = proxy.urls.map((url) => Number(new URL(url).port));
      await proxy.stop();
      await proxy.stop(); // idempotent
      for (const port of ports) expect(await refused(port)).toBe(true);
    });
  },
  { nginx: true },
);
