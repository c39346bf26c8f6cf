/**
 * The skill guard (POST /skill) end to end: an Alexa stand-in that signs envelopes with a test
 * PKI (Amazon's chain and S3 cannot be reached here: SKILL_TEST_TRUSTED_CA and
 * SKILL_TEST_CERT_ORIGIN point the unchanged verification code at it), the real server, and a
 * real `ask-sdk-core` skill as the backend on loopback.
 */
import { createPublicKey, verify, X509Certificate } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SkillBuilders } from 'ask-sdk-core';
import type { RequestEnvelope, ResponseEnvelope } from 'ask-sdk-model';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { sealAccess } from '../src/store/token-format.js';
import {
  type ChainServer,
  envelope,
  makeTestPki,
  OTHER_SKILL_ID,
  SKILL_ID,
  serveChains,
  signedHeaders,
  type TestPki,
  trustEnv,
} from './helpers/alexa-signing.js';
import { linkInStore } from './helpers/fixtures.js';
import { csrfOf, ingress } from './helpers/ingress.js';
import { link } from './helpers/link.js';
import { freePort, startTestServer, type TestServer } from './helpers/oauth-server.js';
import { clock } from './helpers/store.js';

interface Seen {
  headers: IncomingHttpHeaders;
  body: Buffer;
}

/** The skill backend: a real ask-sdk-core skill behind node:http, recording what reaches it. */
interface Backend {
  url: string;
  seen: Seen[];
  mode: 'skill' | 'slow' | 'garbage' | 'error';
  close(): Promise<void>;
}

async function startBackend(): Promise<Backend> {
  const skill = SkillBuilders.custom()
    .addRequestHandlers({
      canHandle: () => true,
      handle: (input) => {
        const headers = input.context as IncomingHttpHeaders;
        const name = decodeURIComponent(String(headers['x-alexa-link-user-name'] ?? 'nobody'));
        const type = input.requestEnvelope.request.type;
        if (type.startsWith('AudioPlayer.')) return input.responseBuilder.getResponse();
        return input.responseBuilder.speak(`Hello ${name}, ${type} handled`).getResponse();
      },
    })
    .create();
  const backend: Backend = { url: '', seen: [], mode: 'skill', close: async () => undefined };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      backend.seen.push({ headers: req.headers, body });
      if (backend.mode === 'slow') return; // never answers: the guard's deadline must answer for it
      if (backend.mode === 'garbage') return void res.writeHead(200, { 'content-type': 'text/html' }).end('<h1>Music Assistant</h1>');
      if (backend.mode === 'error') return void res.writeHead(500).end('{"error":"boom"}');
      skill.invoke(JSON.parse(body.toString('utf8')) as RequestEnvelope, req.headers).then(
        (response: ResponseEnvelope) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(response)),
        () => res.writeHead(500).end(),
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  backend.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/alexa`;
  backend.close = () =>
    new Promise((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return backend;
}

let pki: TestPki;
let chains: ChainServer;
let backend: Backend;
let server: TestServer;
const ALICE = { id: 'ha-user-alice', name: 'alice', displayName: 'Jannik Müller-Lüdenscheidt' };

beforeAll(async () => {
  pki = makeTestPki();
  chains = await serveChains(pki);
  backend = await startBackend();
  server = await startTestServer({ alexa_skill_id: SKILL_ID, skill_backend_url: backend.url, log_level: 'info' }, undefined, trustEnv(pki, chains));
}, 120_000);

afterAll(async () => {
  await server?.close();
  await backend?.close();
  await chains?.close();
});

beforeEach(() => {
  backend.seen.length = 0;
  backend.mode = 'skill';
});

interface Answer {
  status: number;
  json: Record<string, unknown>;
}

async function post(base: string, body: Buffer, headers: Record<string, string>): Promise<Answer> {
  const response = await fetch(`${base}/skill`, { method: 'POST', headers, body });
  const text = await response.text();
  return { status: response.status, json: JSON.parse(text) as Record<string, unknown> };
}

/** Signs and sends an envelope as Alexa does. */
function send(
  options: Parameters<typeof envelope>[0] = {},
  sign: Parameters<typeof signedHeaders>[2] = {},
  extra: Record<string, string> = {},
  base = server.base,
) {
  const body = Buffer.from(JSON.stringify(envelope(options)));
  return post(base, body, { ...signedHeaders(pki, body, sign), ...extra });
}

/** What Alexa would say: plain text (the guard's own answers) or SSML (ask-sdk-core's `speak`). */
const speech = (answer: Answer): string | undefined => {
  const output = (answer.json.response as Record<string, unknown> | undefined)?.outputSpeech as { text?: string; ssml?: string } | undefined;
  return output?.text ?? output?.ssml;
};
const card = (answer: Answer): unknown => (answer.json.response as Record<string, unknown> | undefined)?.card;

describe('the skill guard in front of a real ask-sdk-core skill', () => {
  it('forwards linked requests unchanged, names the user, and stops the moment the link is revoked in the panel', async () => {
    const linked = await link(server, ALICE);

    // LaunchRequest: the skill sees the Home Assistant user and answers through the guard.
    const launchBody = Buffer.from(JSON.stringify(envelope({ accessToken: linked.accessToken })));
    const launchHeaders = signedHeaders(pki, launchBody);
    const launch = await post(server.base, launchBody, launchHeaders);
    expect(launch.status).toBe(200);
    expect(speech(launch)).toContain('Hello Jannik Müller-Lüdenscheidt, LaunchRequest handled');
    expect(backend.seen).toHaveLength(1);
    const seen = backend.seen[0]!;
    expect(seen.body.equals(launchBody)).toBe(true);
    expect(seen.headers['x-alexa-link-user-id']).toBe(ALICE.id);
    expect(decodeURIComponent(String(seen.headers['x-alexa-link-user-name']))).toBe(ALICE.displayName);
    expect(seen.headers['x-alexa-link-link-id']).toMatch(/^[0-9a-f]{32}$/);
    // A backend that verifies Amazon's signature itself still can: same bytes, same headers.
    expect(seen.headers['signature-256']).toBe(launchHeaders['signature-256']);
    expect(seen.headers.signaturecertchainurl).toBe(launchHeaders.signaturecertchainurl);
    const signing = new X509Certificate(pki.chains.good.split(/(?<=-----END CERTIFICATE-----\n)/)[0]!);
    expect(
      verify(
        'sha256',
        seen.body,
        createPublicKey(signing.publicKey.export({ format: 'pem', type: 'spki' })),
        Buffer.from(String(seen.headers['signature-256']), 'base64'),
      ),
    ).toBe(true);

    const intent = await send({ type: 'IntentRequest', accessToken: linked.accessToken });
    expect(speech(intent)).toContain('IntentRequest handled');
    const playback = await send({ type: 'AudioPlayer.PlaybackStarted', accessToken: linked.accessToken });
    expect(playback.status).toBe(200);
    expect(playback.json).toMatchObject({ version: '1.0', response: {} });
    expect(backend.seen.map((s) => (JSON.parse(s.body.toString()) as { request: { type: string } }).request.type)).toEqual([
      'LaunchRequest',
      'IntentRequest',
      'AudioPlayer.PlaybackStarted',
    ]);

    // Revoke in the panel (through the ingress listener, as the Supervisor's proxy sends it).
    const grantId = String(seen.headers['x-alexa-link-link-id']);
    const page = await ingress(server.app.ingressUrl, '/links', { user: ALICE });
    const revoked = await ingress(server.app.ingressUrl, '/links/revoke', { user: ALICE, form: { grant: grantId, confirm: '1', _csrf: csrfOf(page.body) } });
    expect(revoked.status).toBe(303);
    backend.seen.length = 0;

    const after = await send({ accessToken: linked.accessToken });
    expect(after.status).toBe(200);
    expect(card(after)).toEqual({ type: 'LinkAccount' });
    expect(speech(after)).toMatch(/link your account/);
    expect(backend.seen).toHaveLength(0);
  });

  it('answers an unlinked person with a LinkAccount card in their language, and AudioPlayer events with an empty response', async () => {
    const english = await send({ accessToken: undefined });
    expect(card(english)).toEqual({ type: 'LinkAccount' });
    expect(english.json).toMatchObject({ version: '1.0', response: { shouldEndSession: true } });
    const languages: Array<[string, RegExp]> = [
      ['de-DE', /verknüpfe bitte dein Konto/],
      ['nl-NL', /Koppel eerst je account/],
      ['fr-FR', /associez d’abord votre compte/],
      ['fr-CA', /associez d’abord votre compte/],
      ['ja-JP', /link your account/],
    ];
    for (const [locale, words] of languages) expect(speech(await send({ accessToken: 'not-a-token', locale, type: 'IntentRequest' }))).toMatch(words);
    for (const type of ['AudioPlayer.PlaybackStarted', 'PlaybackController.PlayCommandIssued', 'System.ExceptionEncountered', 'SessionEndedRequest']) {
      const quiet = await send({ type, accessToken: undefined });
      expect(quiet.status).toBe(200);
      expect(quiet.json).toEqual({ version: '1.0', response: {} });
    }
    expect(backend.seen).toHaveLength(0);
  });

  it('answers a token of another client with a LinkAccount card, as the introspection contract says', async () => {
    const other = linkInStore(server.app.store, { id: 'ha-user-other', name: 'other' }, undefined, 'some-other-client');
    const answer = await send({ type: 'IntentRequest', accessToken: other.tokens.accessToken });
    expect(card(answer)).toEqual({ type: 'LinkAccount' });
    expect(backend.seen).toHaveLength(0);
  });

  it('answers an expired access token with a LinkAccount card', async () => {
    const time = clock(Date.now());
    const clocked = await startTestServer(
      { alexa_skill_id: SKILL_ID, skill_backend_url: backend.url, log_level: 'info' },
      undefined,
      trustEnv(pki, chains),
      time,
    );
    try {
      const { accessToken } = await link(clocked, { id: 'ha-user-frank', name: 'frank' });
      expect(speech(await send({ accessToken }, {}, {}, clocked.base))).toContain('Hello frank');
      // The store's clock passes the token's hour; Amazon's timestamp check uses the real clock.
      time.advance(61 * 60_000);
      backend.seen.length = 0;
      const expired = await send({ accessToken }, {}, {}, clocked.base);
      expect(card(expired)).toEqual({ type: 'LinkAccount' });
      expect(backend.seen).toHaveLength(0);
    } finally {
      await clocked.close();
    }
  });

  it('answers a token that outlives access_token_ttl_minutes, or predates its link, with a LinkAccount card', async () => {
    await link(server, { id: 'ha-user-grace', name: 'grace' });
    const grant = server.app.store.grants.listForSubject('ha-user-grace')[0]!;
    const key = server.app.store.deriveSecret('access-token-mac');
    const now = Date.now();
    const genuine = sealAccess(key, { grantId: grant.id, issuedAt: now, expiresAt: now + 3_600_000 });
    expect(speech(await send({ accessToken: genuine }))).toContain('Hello grace');
    backend.seen.length = 0;
    for (const accessToken of [
      sealAccess(key, { grantId: grant.id, issuedAt: now, expiresAt: Date.UTC(2100, 0, 1) }),
      sealAccess(key, { grantId: grant.id, issuedAt: grant.createdAt - 1, expiresAt: now + 60_000 }),
      sealAccess(key, { grantId: grant.id, issuedAt: now + 600_000, expiresAt: now + 1_200_000 }),
    ]) {
      expect(card(await send({ accessToken }))).toEqual({ type: 'LinkAccount' });
    }
    expect(backend.seen).toHaveLength(0);
  });

  it('downloads a chain once and serves later requests from the cache', async () => {
    const before = chains.hits.get('/echo.api/good.pem') ?? 0;
    for (let i = 0; i < 5; i++) await send({ accessToken: undefined });
    expect(chains.hits.get('/echo.api/good.pem') ?? 0).toBe(Math.max(before, 1));
  });
});

describe('every unverified request is refused and reaches nobody', () => {
  let token: string;
  beforeAll(async () => {
    token = (await link(server, { id: 'ha-user-bob', name: 'bob' })).accessToken;
  });

  const cases: Array<[string, () => Promise<Answer>, RegExp]> = [
    [
      'no signature headers',
      () => {
        const body = Buffer.from(JSON.stringify(envelope({ accessToken: token })));
        return post(server.base, body, { 'content-type': 'application/json' });
      },
      /no Signature-256 header/,
    ],
    [
      'a signature over other bytes',
      () => {
        const body = Buffer.from(JSON.stringify(envelope({ accessToken: token })));
        const other = Buffer.from(JSON.stringify(envelope({ accessToken: token, intent: 'x' })));
        return post(server.base, body, signedHeaders(pki, other));
      },
      /signature does not match the body/,
    ],
    ['a SHA-1 signature only', () => send({ accessToken: token }, { sha1Only: true }), /only a SHA-1 signature/],
    ['an http certificate URL', () => send({ accessToken: token }, { certUrl: 'http://s3.amazonaws.com/echo.api/good.pem' }), /not https/],
    [
      'a certificate URL on another host',
      () => send({ accessToken: token }, { certUrl: 'https://notamazon.com/echo.api/good.pem' }),
      /host is not s3.amazonaws.com/,
    ],
    [
      'a certificate URL that climbs out of /echo.api/',
      () => send({ accessToken: token }, { certUrl: 'https://s3.amazonaws.com/echo.api/../good.pem' }),
      /path does not start with \/echo.api\//,
    ],
    [
      'a certificate URL with %2e%2e',
      () => send({ accessToken: token }, { certUrl: 'https://s3.amazonaws.com/echo.api/%2e%2e/good.pem' }),
      /path does not start with \/echo.api\//,
    ],
    [
      'a certificate URL on port 8443',
      () => send({ accessToken: token }, { certUrl: 'https://s3.amazonaws.com:8443/echo.api/good.pem' }),
      /port other than 443/,
    ],
    [
      'a certificate URL with another case in the path',
      () => send({ accessToken: token }, { certUrl: 'https://s3.amazonaws.com/EcHo.aPi/good.pem' }),
      /path does not start with \/echo.api\//,
    ],
    ['an expired certificate', () => send({ accessToken: token }, { chain: 'expired' }), /expired or not yet valid/],
    ['a certificate not yet valid', () => send({ accessToken: token }, { chain: 'not-yet-valid' }), /expired or not yet valid/],
    ['a certificate without echo-api.amazon.com', () => send({ accessToken: token }, { chain: 'wrong-san' }), /not for echo-api.amazon.com/],
    ['a chain to an untrusted root', () => send({ accessToken: token }, { chain: 'untrusted-root' }), /trusted root/],
    ['a signing certificate without an RSA key', () => send({ accessToken: token }, { chain: 'ec-key' }), /no RSA key/],
    ['a chain URL that does not exist', () => send({ accessToken: token }, { chain: 'missing' }), /could not be downloaded \(answered 404\)/],
    ['a timestamp 151 s old', () => send({ accessToken: token, timestamp: new Date(Date.now() - 151_000).toISOString() }), /timestamp/],
    ['a timestamp 151 s ahead', () => send({ accessToken: token, timestamp: new Date(Date.now() + 151_000).toISOString() }), /timestamp/],
    ['a timestamp that is no date', () => send({ accessToken: token, timestamp: 'yesterday' }), /timestamp/],
    ['another skill id', () => send({ accessToken: token, skillId: OTHER_SKILL_ID }), /another skill/],
    [
      'a body that is not JSON',
      () => {
        const body = Buffer.from('not json at all');
        return post(server.base, body, signedHeaders(pki, body));
      },
      /not an Alexa request/,
    ],
  ];

  for (const [name, request, reason] of cases) {
    it(`refuses ${name} with 400`, async () => {
      const answer = await request();
      expect(answer.status).toBe(400);
      expect(answer.json.error).toBe('invalid_request');
      expect(String(answer.json.error_description)).toMatch(/^the request was not verified: /);
      // Refused by the check the case is about, not by an earlier one.
      expect(String(answer.json.error_description)).toMatch(reason);
      expect(backend.seen).toHaveLength(0);
    });
  }

  it('refuses an oversized body with 413 before reading it as an envelope', async () => {
    const big = envelope({ accessToken: token }) as { request: Record<string, unknown> };
    big.request.padding = 'x'.repeat(300 * 1024);
    const body = Buffer.from(JSON.stringify(big));
    const answer = await post(server.base, body, signedHeaders(pki, body));
    expect(answer.status).toBe(413);
    expect(backend.seen).toHaveLength(0);
  });

  it('passes on none of the X-Alexa-Link-* headers a sender sets, linked or not', async () => {
    const spoofed = {
      'x-alexa-link-user-id': 'ha-user-admin',
      'x-alexa-link-user-name': 'Admin',
      'x-alexa-link-link-id': 'f'.repeat(32),
      'x-alexa-link-extra': '1',
    };
    const unlinked = await send({ accessToken: undefined }, {}, spoofed);
    expect(card(unlinked)).toEqual({ type: 'LinkAccount' });
    expect(backend.seen).toHaveLength(0);
    const linked = await send({ accessToken: token }, {}, spoofed);
    expect(linked.status).toBe(200);
    expect(backend.seen).toHaveLength(1);
    const headers = backend.seen[0]!.headers;
    expect(headers['x-alexa-link-user-id']).toBe('ha-user-bob');
    expect(headers['x-alexa-link-user-name']).toBe('bob');
    expect(headers['x-alexa-link-link-id']).not.toBe('f'.repeat(32));
    expect(headers['x-alexa-link-extra']).toBeUndefined();
  });

  it('refuses GET and other methods with 405', async () => {
    const response = await fetch(`${server.base}/skill`);
    expect(response.status).toBe(405);
    expect(backend.seen).toHaveLength(0);
  });
});

describe('a backend that is down, slow or answers garbage', () => {
  let token: string;
  beforeAll(async () => {
    token = (await link(server, { id: 'ha-user-carol', name: 'carol' })).accessToken;
  });

  it('answers "can’t be reached" in the request’s language when the backend answers garbage or an error', async () => {
    backend.mode = 'garbage';
    expect(speech(await send({ accessToken: token, locale: 'de-DE' }))).toMatch(/ist gerade nicht erreichbar/);
    backend.mode = 'error';
    const error = await send({ accessToken: token });
    expect(error.status).toBe(200);
    expect(speech(error)).toMatch(/can’t be reached right now/);
    expect(card(error)).toBeUndefined();
    // An AudioPlayer event may not speak: an empty response.
    expect((await send({ type: 'AudioPlayer.PlaybackStarted', accessToken: token })).json).toEqual({ version: '1.0', response: {} });
  });

  it('answers within its deadline, inside Alexa’s 8 s, when the backend never answers', async () => {
    backend.mode = 'slow';
    const started = performance.now();
    const answer = await send({ type: 'IntentRequest', accessToken: token });
    const elapsed = performance.now() - started;
    expect(speech(answer)).toMatch(/can’t be reached right now/);
    // The guard's own deadline (6 s) ended it, not the client: well inside Alexa's 8 s.
    expect(elapsed).toBeGreaterThanOrEqual(5_900);
    expect(elapsed).toBeLessThan(8_000);
  }, 30_000);

  it('answers "can’t be reached" when nothing listens at the backend address', async () => {
    const closedPort = await freePort();
    const down = await startTestServer(
      { alexa_skill_id: SKILL_ID, skill_backend_url: `http://127.0.0.1:${closedPort}/`, log_level: 'info' },
      undefined,
      trustEnv(pki, chains),
    );
    try {
      const linked = await link(down, { id: 'ha-user-dan', name: 'dan' });
      const answer = await send({ accessToken: linked.accessToken }, {}, {}, down.base);
      expect(answer.status).toBe(200);
      expect(speech(answer)).toMatch(/can’t be reached right now/);
    } finally {
      await down.close();
    }
  });
});

describe('the start-up log', () => {
  it('names the backend by origin and path only: no query string reaches the log', async () => {
    const closedPort = await freePort();
    const started = await startTestServer(
      { alexa_skill_id: SKILL_ID, skill_backend_url: `http://127.0.0.1:${closedPort}/alexa/skill?key=s3cr3t-query`, log_level: 'trace' },
      undefined,
      trustEnv(pki, chains),
    );
    try {
      const log = started.lines.join('\n');
      expect(log).toContain(`http://127.0.0.1:${closedPort}/alexa/skill`);
      expect(log).not.toContain('s3cr3t');
    } finally {
      await started.close();
    }
  });
});

describe('the person sees that it works', () => {
  it('shows "last used by Alexa" on Linked accounts and one line a day in Activity', async () => {
    const erin = { id: 'ha-user-erin', name: 'erin', displayName: 'Erin' };
    const { accessToken } = await link(server, erin);
    for (let i = 0; i < 3; i++) await send({ type: 'IntentRequest', accessToken });
    // Not yet written (at most once a minute), already shown.
    const links = await ingress(server.app.ingressUrl, '/links', { user: erin });
    expect(links.body).toContain('Last used by Alexa: just now');
    server.app.store.skillUsage.flush();
    await send({ type: 'IntentRequest', accessToken });
    server.app.store.skillUsage.flush();
    const activity = await ingress(server.app.ingressUrl, '/activity', { user: erin });
    expect(activity.body).toContain('Alexa used Music Assistant 4 times');
    const rows = server.app.store.audit.listForSubject(erin.id, { limit: 50 }).filter((entry) => entry.event === 'skill_used');
    expect(rows).toHaveLength(1);
    // Stored encrypted: the grant's column is a Fernet token, not a time in clear.
    const stored = server.app.store.db.prepare('SELECT skill_used_enc FROM grants WHERE skill_used_enc IS NOT NULL').all() as Array<{ skill_used_enc: string }>;
    expect(stored.length).toBeGreaterThan(0);
    for (const row of stored) expect(row.skill_used_enc).toMatch(/^gAAAAA/);
  });

  it('counts refused requests for the admin as one log line per kind, not one per request', async () => {
    for (let i = 0; i < 3; i++) await send({ accessToken: undefined, skillId: OTHER_SKILL_ID });
    await server.close();
    const lines = server.lines.filter((line) => line.includes('Skill endpoint:') && line.includes('for another skill'));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/Skill endpoint: \d+ requests for another skill/);
  });
});

describe('without the skill options', () => {
  it('answers a clear 503 and forwards nothing', async () => {
    const plain = await startTestServer();
    try {
      const body = Buffer.from(JSON.stringify(envelope()));
      const answer = await post(plain.base, body, signedHeaders(pki, body));
      expect(answer.status).toBe(503);
      expect(String(answer.json.error_description)).toMatch(/alexa_skill_id and skill_backend_url/);
      expect(backend.seen).toHaveLength(0);
    } finally {
      await plain.close();
    }
  });
});
