/**
 * The notice "links made with the earlier Alexa OAuth server must be made again" (issue 20):
 * never on a fresh install; shown when the admin turns on `relink_notice`, or once Alexa has
 * presented a refresh token this server could not have issued (the earlier server's); cleared on
 * upgrade from databases that set it on every new install.
 */

import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { KeyRing } from '../src/crypto/keyring.js';
import { DATABASE_FILE } from '../src/store/index.js';
import { basic, postForm } from './helpers/http.js';
import { csrfOf, ingress } from './helpers/ingress.js';
import { CLIENT_ID, CLIENT_SECRET, startTestServer, type TestServer } from './helpers/oauth-server.js';
import { linkFrom, UA } from './helpers/panel.js';
import { tempDir } from './helpers/tmp.js';

const NOTICE = 'must be made again';
const ANNA = { id: 'a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0', name: 'anna', displayName: 'Anna' };
const BEN = { id: 'b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0', name: 'ben', displayName: 'Ben' };
/** What the earlier server handed Alexa: an opaque URL-safe random string (no `r1.` prefix). */
const EARLIER_TOKEN = 'q3Xk9Vt2mR7pL0aZcB4nW8yE1uHsJ6dGfT5oIvK2xQw';

const servers: TestServer[] = [];
async function start(options: Record<string, unknown> = {}, dataDir = tempDir()): Promise<TestServer> {
  const server = await startTestServer(options, dataDir);
  servers.push(server);
  return server;
}
afterEach(async () => {
  for (const server of servers.splice(0)) await server.close();
});

const page = async (server: TestServer, user = ANNA) => (await ingress(server.app.ingressUrl, '/', { user })).body;
const refresh = (server: TestServer, token: string, authorization = basic(CLIENT_ID, CLIENT_SECRET)) =>
  postForm(`${server.base}/token`, { grant_type: 'refresh_token', refresh_token: token }, authorization ? { authorization } : {});

describe('the relink notice', () => {
  it('is not shown on a fresh install', async () => {
    const server = await start();
    expect(await page(server)).not.toContain(NOTICE);
    expect(await page(server, BEN)).not.toContain(NOTICE);
  });

  it('is shown when the relink_notice option is on, until dismissed or the person has linked', async () => {
    const server = await start({ relink_notice: true });
    expect(await page(server)).toContain(NOTICE);
    const form = { notice: 'relink', _csrf: csrfOf(await page(server)) };
    expect((await ingress(server.app.ingressUrl, '/notices/dismiss', { user: ANNA, form })).status).toBe(303);
    expect(await page(server)).not.toContain(NOTICE);
    expect(await page(server, BEN)).toContain(NOTICE);
    await linkFrom(server, BEN, UA.androidAlexaApp);
    expect(await page(server, BEN)).not.toContain(NOTICE);
  });

  it('is shown once Alexa presents a refresh token of the earlier server, also after a restart', async () => {
    const dataDir = tempDir();
    const server = await start({}, dataDir);
    const key = server.options.encryption_key as string;
    // Without the client's credentials nothing is noted, and a token of our own shape is not evidence.
    expect((await refresh(server, EARLIER_TOKEN, '')).status).toBe(401);
    expect((await refresh(server, `r1.${'A'.repeat(91)}`)).status).toBe(400);
    expect(await page(server)).not.toContain(NOTICE);

    const answer = await refresh(server, EARLIER_TOKEN);
    expect(answer.status).toBe(400);
    expect(answer.json?.error).toBe('invalid_grant');
    expect(await page(server)).toContain(NOTICE);
    expect(server.lines.join('\n')).not.toContain(EARLIER_TOKEN);
    await servers.pop()!.close();

    const again = await start({ encryption_key: key }, dataDir);
    expect(await page(again, BEN)).toContain(NOTICE);
  });

  it('is cleared on upgrade from a database that set it at creation, and stays off with the option off', async () => {
    const dataDir = tempDir();
    const server = await start({}, dataDir);
    const key = server.options.encryption_key as string;
    await servers.pop()!.close();
    // As every database created before this change: the notice row, set at creation, at schema 8.
    const db = new Database(join(dataDir, DATABASE_FILE));
    db.prepare('INSERT OR REPLACE INTO meta (name, value) VALUES (?, ?)').run('notice:relink', new KeyRing([key]).encrypt(String(Date.now())));
    db.pragma('user_version = 8');
    db.close();
    const upgraded = await start({ encryption_key: key }, dataDir);
    expect(await page(upgraded)).not.toContain(NOTICE);
  });
});
