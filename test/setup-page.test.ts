/**
 * The Setup page (GET /setup in the panel): for Home Assistant administrators only (everyone else
 * a 404 and no tab); every value the Alexa developer console asks for, computed from the options,
 * with no secret in the HTML; the live checks; the start-up summary in the log.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config/load.js';
import { ALEXA_REDIRECT_HOSTS } from '../src/config/options.js';
import type { Roles } from '../src/panel/roles.js';
import { envelope, makeTestPki, SKILL_ID, serveChains, signedHeaders, trustEnv } from './helpers/alexa-signing.js';
import { basic, postForm } from './helpers/http.js';
import { INGRESS_PATH, ingress } from './helpers/ingress.js';
import { CLIENT_ID, CLIENT_SECRET, RS_SECRET, startTestServer, type TestServer, VENDOR_ID } from './helpers/oauth-server.js';
import { tempDir } from './helpers/tmp.js';

const ADMIN = { id: 'a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1', name: 'admin', displayName: 'Ada Admin' };
const PERSON = { id: 'b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2', name: 'bob', displayName: 'Bob Example' };
const BROKEN = { id: 'c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3', name: 'carol', displayName: 'Carol Example' };
const roles: Roles = {
  isAdmin: async (id) => {
    if (id === BROKEN.id) throw new Error('Home Assistant did not answer');
    return id === ADMIN.id;
  },
};
const BACKEND = 'http://127.0.0.1:9/skill';

describe('the Setup page', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer(
      { alexa_skill_id: SKILL_ID, skill_backend_url: BACKEND, extra_redirect_uris: ['https://skills.example.test/callback'] },
      undefined,
      {},
      undefined,
      roles,
    );
  });
  afterAll(() => server.close());
  const get = (path: string, user: typeof ADMIN, headers: Record<string, string> = {}) => ingress(server.app.ingressUrl, path, { user, headers });

  it('shows every console value, computed from the options, each with a Copy button', async () => {
    const page = await get('/setup', ADMIN);
    expect(page.status).toBe(200);
    expect(page.headers['cache-control']).toBe('no-store');
    const html = page.body;
    const value = (id: string) => new RegExp(`<code class="copy-text" id="value-${id}">([^<]*)</code>`).exec(html)?.[1];
    expect(value('authorizationUri')).toBe(`${server.base}/authorize`);
    expect(value('accessTokenUri')).toBe(`${server.base}/token`);
    expect(value('clientId')).toBe(CLIENT_ID);
    expect(value('scheme')).toBe('HTTP Basic (Recommended)');
    expect(value('scope')).toBe('music_assistant');
    expect(value('skillEndpoint')).toBe(`${server.base}/skill`);
    for (const [index, host] of ALEXA_REDIRECT_HOSTS.entries()) {
      expect(value(`redirectUrls-${index}`)).toBe(`https://${host}/api/skill/link/${VENDOR_ID}`);
    }
    expect(html).toContain(`Each ends in your vendor id ${VENDOR_ID} (option alexa_vendor_id). The console must show exactly these.`);
    expect(html).toContain('https://skills.example.test/callback');
    // The console's own labels, so that a person finds the same words there.
    for (const label of [
      'Your Web Authorization URI',
      'Access Token URI',
      'Your Client ID',
      'Your Secret',
      'Your Authentication Scheme',
      'Scope',
      'Alexa Redirect URLs',
    ]) {
      expect(html).toContain(`<dt>${label}</dt>`);
    }
    // One Copy button per copyable value (six, and one per redirect URL), hidden until setup.js shows it; the script is external (CSP).
    expect(html.match(/<button type="button" class="button secondary copy" data-copy="value-[\w-]+" data-label="[^"]+" hidden>Copy<\/button>/g)).toHaveLength(
      6 + ALEXA_REDIRECT_HOSTS.length,
    );
    expect(html).toContain(`<script src="${INGRESS_PATH}/assets/setup.js"></script>`);
    expect(html).not.toMatch(/<script>|\son[a-z]+="/);
  });

  it('never shows a secret: only whether it is set', async () => {
    const html = (await get('/setup', ADMIN)).body;
    expect(html).toMatch(/<span data-secret="set">Set \(never shown\)<\/span>/);
    for (const secret of [CLIENT_SECRET, RS_SECRET, String(server.options.encryption_key)]) {
      expect(html).not.toContain(secret);
      // Nor a recognisable piece of it.
      expect(html).not.toContain(secret.slice(0, 12));
    }
    expect(server.lines.join('\n')).not.toContain(CLIENT_SECRET);
  });

  it('runs the live checks: the http test URL fails the port check, in words', async () => {
    const html = (await get('/setup', ADMIN)).body;
    const checks = [...html.matchAll(/<li class="check" data-check="(\w+)" data-verdict="(\w+)">/g)].map((match) => [match[1], match[2]]);
    expect(checks.map(([id]) => id)).toEqual(['port', 'address', 'certificate', 'metadata', 'clock', 'proxies', 'alexaToken', 'alexaSkill', 'introspect']);
    expect(checks[0]).toEqual(['port', 'fail']);
    expect(html).toContain(`${server.base} is not https: Alexa only calls https addresses on port 443.`);
    expect(html).toContain(`Checked just now, from this machine. <a href="${INGRESS_PATH}/setup">Check again</a>`);
  });

  it('reports the last calls of Alexa (token endpoint) and Music Assistant (/introspect), and a proxy not listed', async () => {
    const before = (await get('/setup', ADMIN)).body;
    expect(before).toMatch(/data-check="alexaToken" data-verdict="unknown">[\s\S]*?No call since the add-on started\./);
    // Alexa's client authenticates (the grant itself is wrong: the call still counts).
    const token = await postForm(
      `${server.base}/token`,
      { grant_type: 'refresh_token', refresh_token: 'nope' },
      { authorization: basic(CLIENT_ID, CLIENT_SECRET) },
    );
    expect(token.status).toBe(400);
    // A wrong secret is not Alexa.
    const introspect = await postForm(`${server.base}/introspect`, { token: 'nope' }, { authorization: basic('music_assistant', RS_SECRET) });
    expect(introspect.status).toBe(200);
    await postForm(`${server.base}/token`, { grant_type: 'refresh_token', refresh_token: 'x' }, { 'x-forwarded-for': '198.51.100.7' });
    const after = (await get('/setup', ADMIN)).body;
    expect(after).toMatch(/data-check="alexaToken" data-verdict="ok">[\s\S]*?Last call just now\./);
    expect(after).toMatch(/data-check="introspect" data-verdict="ok">[\s\S]*?Last call just now\./);
    expect(after).toMatch(/data-check="alexaSkill" data-verdict="unknown">[\s\S]*?No call since the add-on started\./);
    expect(after).toMatch(
      /data-check="proxies" data-verdict="warn">[\s\S]*?Requests arrive through a proxy that trusted_proxies does not list: 127\.0\.0\.1 sends X-Forwarded-For\./,
    );
  });

  it('speaks the reader’s language', async () => {
    const de = (await get('/setup', ADMIN, { 'accept-language': 'de' })).body;
    expect(de).toContain('<html lang="de">');
    expect(de).toContain('>Einrichtung</a>');
    expect(de).toContain('Gesetzt (wird nie angezeigt)');
    expect(de).toContain('ist kein https');
  });

  it('is 404 for anyone else, who gets no Setup tab either; "could not tell" is not an administrator', async () => {
    for (const user of [PERSON, BROKEN]) {
      const page = await get('/setup', user);
      expect(page.status).toBe(404);
      expect(page.body).toBe('Not found\n');
      const links = await get('/links', user);
      expect(links.status).toBe(200);
      expect(links.body).not.toContain(`${INGRESS_PATH}/setup`);
    }
    const adminLinks = (await get('/links', ADMIN)).body;
    expect(adminLinks).toContain(`<a href="${INGRESS_PATH}/setup" >Setup</a>`);
    expect((await get('/setup', ADMIN)).body).toContain(`<a href="${INGRESS_PATH}/setup" aria-current="page">Setup</a>`);
  });

  it('prints one summary block to the log at start, one line per check', async () => {
    await expect.poll(() => server.lines.filter((line) => line.includes('Setup check: ')).length, { timeout: 15_000 }).toBe(9);
    const block = server.lines.filter((line) => /Setup checks?[ :]/.test(line));
    expect(block[0]).toMatch(/WARNING Setup checks \(the same as on the Setup page in the panel\):$/);
    expect(block[1]).toMatch(/WARNING Setup check: Port … fail: http:\/\/127\.0\.0\.1:\d+ is not https: Alexa only calls https addresses on port 443\./);
    expect(block.slice(1).map((line) => /Setup check: (.+?) … /.exec(line)?.[1])).toEqual([
      'Port',
      'Public address',
      'Certificate',
      'Metadata document',
      'Clock',
      'Reverse proxy (trusted_proxies)',
      'Alexa at the token endpoint',
      'Alexa at the skill endpoint',
      'Music Assistant at /introspect',
    ]);
  });
});

describe('SETUP_TEST_TRUSTED_CA', () => {
  it('is refused inside the add-on (with a Supervisor token)', async () => {
    const dataDir = tempDir();
    const server = await startTestServer({}, dataDir);
    await server.close();
    const env = { DATA_DIR: dataDir, SETUP_TEST_TRUSTED_CA: '/tmp/ca.pem' };
    expect(loadConfig(env).setupTestCaFile).toBe('/tmp/ca.pem');
    expect(() => loadConfig({ ...env, SUPERVISOR_TOKEN: 'token' })).toThrow(/test harnesses only/);
  });
});

describe('the last verified request from Alexa at /skill', () => {
  it('is noted once a request passes verification; an unsigned one is not', async () => {
    const pki = makeTestPki();
    const chains = await serveChains(pki);
    const server = await startTestServer({ alexa_skill_id: SKILL_ID, skill_backend_url: BACKEND }, undefined, trustEnv(pki, chains), undefined, roles);
    try {
      const skillCheck = async () =>
        /data-check="alexaSkill" data-verdict="(\w+)">[\s\S]*?<p>([^<]*)<\/p>/
          .exec((await ingress(server.app.ingressUrl, '/setup', { user: ADMIN })).body)
          ?.slice(1);
      const body = Buffer.from(JSON.stringify(envelope()));
      const unsigned = await fetch(`${server.base}/skill`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
      expect(unsigned.status).toBe(400);
      expect(await skillCheck()).toEqual(['unknown', 'No call since the add-on started.']);
      // Not linked (no access token): verified, then answered with the link-account card.
      const signed = await fetch(`${server.base}/skill`, { method: 'POST', headers: signedHeaders(pki, body), body });
      expect(signed.status).toBe(200);
      expect(await skillCheck()).toEqual(['ok', 'Last call just now.']);
    } finally {
      await server.close();
      await chains.close();
    }
  });
});
