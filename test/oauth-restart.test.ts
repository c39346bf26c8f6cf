/**
 * Durability across a restart of the real server process: links and pending requests live in
 * SQLite, not in memory.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { Store } from '../src/store/index.js';
import { Browser } from './helpers/browser.js';
import { basic, postForm } from './helpers/http.js';
import { pkcePair } from './helpers/link.js';
import { CLIENT_ID, CLIENT_SECRET, decide, freePort, REDIRECT_URI, RS_SECRET, startLink, writeOptions } from './helpers/oauth-server.js';
import { type ServerProcess, startServer } from './helpers/server-process.js';
import { tempDir } from './helpers/tmp.js';

const ALICE = { id: 'a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1', name: 'alice', displayName: 'Alice' };
const running: ServerProcess[] = [];
afterEach(async () => {
  for (const server of running.splice(0)) if (server.child.exitCode === null) await server.stop();
});

async function boot(dataDir: string, port: number): Promise<ServerProcess> {
  const server = await startServer({ DATA_DIR: dataDir, PUBLIC_PORT: String(port) });
  running.push(server);
  return server;
}

/** The test's stand-in for the HA panel: a second connection to the same database file. */
function approve(dataDir: string, key: string, userCode: string): void {
  const store = Store.open({ dataDir, encryptionKeys: [key] });
  try {
    decide(store, userCode, ALICE);
  } finally {
    store.close();
  }
}

describe('restart', () => {
  it('links, refreshes and introspects across a restart; a request started before it completes after it', async () => {
    const dataDir = tempDir();
    const port = await freePort();
    const options = await writeOptions(dataDir, port, { log_level: 'info' });
    const base = `http://127.0.0.1:${port}`;
    const key = options.encryption_key as string;
    const auth = { authorization: basic(CLIENT_ID, CLIENT_SECRET) };

    let server = await boot(dataDir, port);
    const browser = new Browser();
    const { verifier, challenge } = pkcePair();
    const { userCode } = await startLink(browser, base, {
      client_id: CLIENT_ID,
      redirect_uri: REDIRECT_URI,
      response_type: 'code',
      state: 'r=1',
      code_challenge: challenge,
      code_challenge_method: 'S256',
    });
    approve(dataDir, key, userCode);
    const code = Browser.location(await browser.get(`${base}/authorize/continue`), base).searchParams.get('code')!;
    const tokens = await postForm(`${base}/token`, { grant_type: 'authorization_code', code, redirect_uri: REDIRECT_URI, code_verifier: verifier }, auth);
    expect(tokens.status).toBe(200);

    // A second link is started, but not yet approved, when the add-on restarts.
    const pendingBrowser = new Browser();
    const second = pkcePair();
    const pending = await startLink(pendingBrowser, base, {
      client_id: CLIENT_ID,
      redirect_uri: REDIRECT_URI,
      response_type: 'code',
      state: 'r=2',
      code_challenge: second.challenge,
      code_challenge_method: 'S256',
    });

    expect(await server.stop('SIGTERM')).toBe(0);
    server = await boot(dataDir, port);

    const refreshed = await postForm(`${base}/token`, { grant_type: 'refresh_token', refresh_token: tokens.json!.refresh_token as string }, auth);
    expect(refreshed.status).toBe(200);
    const info = await postForm(
      `${base}/introspect`,
      { token: refreshed.json!.access_token as string },
      { authorization: basic('music_assistant', RS_SECRET) },
    );
    expect(info.json).toMatchObject({ active: true, sub: ALICE.id });

    approve(dataDir, key, pending.userCode);
    const resumed = await pendingBrowser.get(`${base}/authorize/continue`);
    const callback = Browser.location(resumed, base);
    expect(callback.searchParams.get('state')).toBe('r=2');
    const secondTokens = await postForm(
      `${base}/token`,
      { grant_type: 'authorization_code', code: callback.searchParams.get('code')!, redirect_uri: REDIRECT_URI, code_verifier: second.verifier },
      auth,
    );
    expect(secondTokens.status).toBe(200);
  });
});
