/**
 * Mutation fuzzing of every public and ingress endpoint: 20,000+ generated requests (fast-check,
 * seeded, so a failure replays). Malformed forms, repeated and huge parameters, wrong methods and
 * content types, broken Basic headers, invalid UTF-8, path tricks. No 5xx, no crash, every
 * response well-formed, memory stable. The skill guard's envelopes too: signed, then mutated;
 * nothing reaches the skill backend unless it was signed, for the skill, and linked.
 */

import { readFileSync } from 'node:fs';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Store } from '../src/store/index.js';
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
import { INGRESS_PATH } from './helpers/ingress.js';
import { CLIENT_ID, CLIENT_SECRET, freePort, REDIRECT_URI, RS_SECRET, writeOptions } from './helpers/oauth-server.js';
import { buildApps, routePaths } from './helpers/routes.js';
import { type ServerProcess, startServer } from './helpers/server-process.js';
import { tempDir } from './helpers/tmp.js';

const SEED = Number(process.env.FUZZ_SEED ?? 20261122);
const RUNS = 2 * Math.ceil(Number(process.env.FUZZ_RUNS ?? 2600) / 2);

// The server is a separate process, so its memory can be measured on its own.
let server: ServerProcess;
let publicBase: string;
let ingressBase: string;
// The skill guard's peers: a test PKI and its chain server, and a skill backend that records every body it gets.
let pki: TestPki;
let chains: ChainServer;
let backendServer: Server;
const forwarded: Buffer[] = [];
let linkedToken: string;
beforeAll(async () => {
  const dataDir = tempDir();
  const [port, ingressPort] = [await freePort(), await freePort()];
  pki = makeTestPki();
  chains = await serveChains(pki);
  backendServer = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      forwarded.push(Buffer.concat(chunks));
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"version":"1.0","response":{}}');
    });
  });
  await new Promise<void>((resolve) => backendServer.listen(0, '127.0.0.1', resolve));
  // Rate limits would answer 429 before the handlers are reached: fuzz from many "clients" by
  // trusting loopback as a proxy and varying X-Forwarded-For (the limits themselves are tested elsewhere).
  const options = await writeOptions(dataDir, port, {
    trusted_proxies: ['127.0.0.1'],
    log_level: 'info',
    alexa_skill_id: SKILL_ID,
    skill_backend_url: `http://127.0.0.1:${(backendServer.address() as AddressInfo).port}/`,
  });
  // One linked person, made in the database before the server starts.
  const store = Store.open({ dataDir, encryptionKeys: [options.encryption_key as string] });
  linkedToken = linkInStore(store, { id: 'fuzz-user', name: 'fuzz' }).tokens.accessToken;
  store.close();
  server = await startServer({
    DATA_DIR: dataDir,
    PUBLIC_PORT: String(port),
    INGRESS_PORT: String(ingressPort),
    INGRESS_TRUSTED_PROXIES: '127.0.0.1',
    ...trustEnv(pki, chains),
  });
  publicBase = server.url;
  ingressBase = `http://127.0.0.1:${ingressPort}`;
}, 120_000);
afterAll(async () => {
  expect(await server.stop()).toBe(0);
  await chains.close();
  await new Promise((resolve) => backendServer.close(resolve));
});

/** Resident memory of the server process, in MiB. */
function serverRss(): number {
  const status = readFileSync(`/proc/${server.child.pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)![1]) / 1024;
}

const errorLines = (): string[] =>
  server
    .output()
    .split('\n')
    .filter((line) => / (ERROR|FATAL) /.test(line));

interface Sent {
  method: string;
  path: string;
  headers: Record<string, string>;
  body: Buffer;
}

interface Got {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

function send(base: string, sent: Sent): Promise<Got> {
  return new Promise((resolve, reject) => {
    const url = new URL(base);
    const req = request(
      { host: url.hostname, port: url.port, method: sent.method, path: sent.path, headers: { ...sent.headers, 'content-length': String(sent.body.length) } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(sent.body);
  });
}

const PARAMS = [
  'grant_type',
  'code',
  'redirect_uri',
  'code_verifier',
  'refresh_token',
  'client_id',
  'client_secret',
  'token',
  'token_type_hint',
  'scope',
  'state',
  'response_type',
  'code_challenge',
  'code_challenge_method',
  '_csrf',
  'handle',
  'decision',
  'grant',
  'notice',
  '__proto__',
  'constructor',
  'hasOwnProperty',
];
const VALUES = [
  'authorization_code',
  'refresh_token',
  'password',
  'client_credentials',
  CLIENT_ID,
  CLIENT_SECRET,
  RS_SECRET,
  'music_assistant',
  REDIRECT_URI,
  'S256',
  'plain',
  'code',
  'token',
  'approve',
  'deny',
  'relink',
  'music_assistant admin',
  '',
  '%',
  '%FF%FE',
  '%00',
  '%E0%A4%A',
  '+',
  '==',
  '[]',
  '{}',
  'a'.repeat(300),
];

const text = fc.oneof(
  fc.constantFrom(...VALUES),
  fc.string({ maxLength: 40 }),
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.string({ maxLength: 4000 }),
  fc.uint8Array({ maxLength: 60 }).map((bytes) => Buffer.from(bytes).toString('latin1')),
);
const encodedPair = fc
  .tuple(fc.oneof(fc.constantFrom(...PARAMS), fc.string({ maxLength: 12 })), text, fc.boolean())
  .map(([name, value, raw]) => (raw ? `${name}=${value}` : `${encodeURIComponent(name)}=${encodeURIComponent(value)}`));
// A form: well-formed pairs, sometimes repeated, sometimes with raw (unencoded) junk.
const form = fc
  .array(encodedPair, { maxLength: 40 })
  .chain((pairs) => fc.oneof(fc.constant(pairs.join('&')), fc.constant(pairs.concat(pairs.slice(0, 2)).join('&')), fc.constant(pairs.join(';'))));
const rawBody = fc.oneof(
  form.map((value) => Buffer.from(value, 'utf8')),
  fc.uint8Array({ maxLength: 200 }).map((bytes) => Buffer.from(bytes)),
  fc.constant(Buffer.from(`grant_type=refresh_token&refresh_token=${'x'.repeat(20_000)}`)),
  fc.constant(Buffer.from('{"grant_type":"refresh_token"}')),
  fc.constant(Buffer.alloc(0)),
);
const basicHeader = fc.oneof(
  fc.tuple(text, text).map(([id, secret]) => `Basic ${Buffer.from(`${id}:${secret}`, 'latin1').toString('base64')}`),
  fc.tuple(text, text).map(([id, secret]) => `Basic ${Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString('base64')}`),
  fc.constant(`Basic ${Buffer.from(`${CLIENT_ID}:${CLIENT_SECRET}`).toString('base64')}`),
  fc.constant(`Basic ${Buffer.from(`music_assistant:${RS_SECRET}`).toString('base64')}`),
  fc.string({ maxLength: 60 }).map((value) => `Basic ${value}`),
  fc.string({ maxLength: 60 }).map((value) => `Bearer ${value}`),
  fc.constantFrom('Basic', 'Basic ', 'Basic ====', 'basic Og==', 'Basic Og=='),
);
const contentType = fc.constantFrom(
  'application/x-www-form-urlencoded',
  'application/x-www-form-urlencoded; charset=utf-8',
  'application/x-www-form-urlencoded; charset=latin1',
  'application/x-www-form-urlencoded; charset="UTF-8"',
  'application/json',
  'text/plain',
  'multipart/form-data; boundary=x',
  '',
  'x/x; ;;=',
);
// Every path the two apps route, read from their routers (a new endpoint is fuzzed without anyone
// remembering to list it), and the static files they serve.
const apps = buildApps();
const PUBLIC_PATHS = [...routePaths(apps.publicApp), '/assets/style.css', '/assets/wait.js'];
const INGRESS_PATHS = [...routePaths(apps.ingressApp), '/assets/style.css'];
apps.close();
const pathTricks = fc.constantFrom(
  '',
  '/',
  '//',
  '/..',
  '/../..',
  '/%2e%2e/%2e%2e/etc/passwd',
  '/%00',
  '/%ZZ',
  '?',
  '?a=1&a=2',
  '/./',
  ';x=1',
  '%2F',
  '/\u00e9',
  '#frag',
  '/assets/..%2f..%2fpackage.json',
  '/assets/%2e%2e/%2e%2e/package.json',
);
// A valid authorization request with some of its parameters replaced or repeated: reaches the deep checks.
const authorizeQuery = fc
  .tuple(
    fc.array(encodedPair, { maxLength: 4 }),
    fc.subarray(['response_type=code', 'state=s%3D1', 'code_challenge_method=S256', `code_challenge=${'A'.repeat(43)}`, 'scope=music_assistant']),
  )
  .map(([extra, kept]) => `?client_id=${encodeURIComponent(CLIENT_ID)}&redirect_uri=${encodeURIComponent(REDIRECT_URI)}&${[...kept, ...extra].join('&')}`);
const query = fc.oneof(
  fc.array(encodedPair, { maxLength: 10 }).map((pairs) => (pairs.length ? `?${pairs.join('&')}` : '')),
  authorizeQuery,
);
const method = fc.constantFrom('GET', 'POST', 'POST', 'POST', 'PUT', 'DELETE', 'HEAD', 'OPTIONS', 'PATCH');

function requestFor(paths: string[]) {
  return fc.record({
    method,
    // Raw path tricks are kept; only what HTTP cannot carry on the request line is percent-encoded.
    path: fc
      .tuple(fc.constantFrom(...paths), fc.oneof({ arbitrary: fc.constant(''), weight: 5 }, { arbitrary: pathTricks, weight: 1 }), query)
      .map(([path, trick, q]) => `${path}${trick}${q}`.replace(/[^\x21-\x7e]/gu, percentBytes)),
    contentType,
    authorization: fc.option(basicHeader, { nil: undefined }),
    body: rawBody,
    forwardedFor: fc.ipV4(),
    extra: fc.dictionary(
      fc.constantFrom('cookie', 'origin', 'sec-fetch-site', 'x-remote-user-id', 'x-ingress-path', 'accept', 'content-encoding', 'x-remote-user-name'),
      fc.string({ maxLength: 60 }).map((value) => value.replace(/[^\x20-\x7e]/g, '')),
      { maxKeys: 3 },
    ),
  });
}

/** Percent-encodes the UTF-8 bytes of a character (a lone surrogate becomes U+FFFD's bytes). */
function percentBytes(char: string): string {
  return [...Buffer.from(char, 'utf8')].map((byte) => `%${byte.toString(16).padStart(2, '0').toUpperCase()}`).join('');
}

/** fast-check's report holds the whole counterexample (bodies of 20 kB): keep the first part. */
async function assertShort(run: Promise<void>): Promise<void> {
  try {
    await run;
  } catch (error) {
    throw new Error(String((error as Error).message).slice(0, 3000));
  }
}

/** Every answer must be a complete, well-formed HTTP response of a kind we expect. */
function checkResponse(got: Got, sent: Sent, where: 'public' | 'ingress'): void {
  const context = `${where} ${sent.method} ${sent.path} → ${got.status}: ${got.body.toString('utf8').slice(0, 200)}`;
  expect(got.status, context).toBeGreaterThanOrEqual(200);
  expect(got.status, context).toBeLessThan(500);
  const type = String(got.headers['content-type'] ?? '');
  if (sent.method === 'HEAD' || got.status === 204 || got.status === 304 || (got.status >= 300 && got.status < 400) || got.body.length === 0) return;
  if (type.startsWith('application/json')) {
    const parsed = JSON.parse(got.body.toString('utf8')) as Record<string, unknown>;
    if (got.status >= 400 && where === 'public') {
      expect(typeof parsed.error, context).toBe('string');
      expect(typeof parsed.error_description, context).toBe('string');
    }
  } else {
    expect(type, context).toMatch(/^(text\/html|text\/plain|text\/css|application\/javascript|text\/javascript)/);
  }
}

describe('fuzzing', () => {
  it(`public listener: ${RUNS * 4} generated requests, no 5xx, all well-formed, memory stable`, async () => {
    let count = 0;
    const statuses = new Map<number, number>();
    // Warm-up (code paths, caches, the rate limiter's tables), then the resident size to compare with.
    await assertShort(
      fc.assert(
        fc.asyncProperty(requestFor(PUBLIC_PATHS), async (generated) => {
          const sent: Sent = {
            method: generated.method,
            path: generated.path,
            headers: { 'x-forwarded-for': generated.forwardedFor, ...(generated.contentType ? { 'content-type': generated.contentType } : {}) },
            body: generated.method === 'GET' ? Buffer.alloc(0) : generated.body,
          };
          checkResponse(await send(publicBase, sent), sent, 'public');
        }),
        { seed: SEED + 7, numRuns: 1000, endOnFailure: true },
      ),
    );
    // Two halves, the resident size measured after each: a leak grows with every half, V8's heap settling does not.
    const rss = [serverRss()];
    for (const half of [0, 1]) {
      await assertShort(
        fc.assert(
          fc.asyncProperty(fc.array(requestFor(PUBLIC_PATHS), { minLength: 4, maxLength: 4 }), async (batch) => {
            await Promise.all(
              batch.map(async (generated) => {
                const sent: Sent = {
                  method: generated.method,
                  path: generated.path,
                  headers: {
                    ...generated.extra,
                    ...(generated.contentType ? { 'content-type': generated.contentType } : {}),
                    ...(generated.authorization ? { authorization: generated.authorization } : {}),
                    'x-forwarded-for': generated.forwardedFor,
                  },
                  body: generated.method === 'GET' || generated.method === 'HEAD' ? Buffer.alloc(0) : generated.body,
                };
                const got = await send(publicBase, sent);
                checkResponse(got, sent, 'public');
                statuses.set(got.status, (statuses.get(got.status) ?? 0) + 1);
                count++;
              }),
            );
          }),
          { seed: SEED + half, numRuns: RUNS / 2, endOnFailure: true },
        ),
      );
      rss.push(serverRss());
    }
    expect(count).toBe(RUNS * 4);
    // The generated requests reach the handlers, not just one refusal: many different answers.
    console.info('public listener statuses', Object.fromEntries(statuses));
    for (const status of [200, 303, 400, 401, 404, 405]) expect(statuses.get(status) ?? 0, `status ${status}`).toBeGreaterThan(0);
    expect((await fetch(`${publicBase}/healthz`)).status).toBe(200);
    console.info(`server RSS after warm-up, half, all: ${rss.map((mib) => mib.toFixed(1)).join(' → ')} MiB`);
    // The second half of the run adds little (a leak would add about as much as the first half), and the total stays bounded.
    expect(rss[2]! - rss[1]!).toBeLessThan(20);
    expect(rss[2]!).toBeLessThan(200);
    expect(errorLines()).toEqual([]);
  });

  it(`ingress listener: ${RUNS * 4} generated requests as signed-in users, no 5xx`, async () => {
    let count = 0;
    const statuses = new Map<number, number>();
    await assertShort(
      fc.assert(
        fc.asyncProperty(
          fc.array(requestFor(INGRESS_PATHS), { minLength: 4, maxLength: 4 }),
          fc.constantFrom('a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1', 'b2b2b2b2', 'x'),
          async (batch, userId) => {
            await Promise.all(
              batch.map(async (generated) => {
                const sent: Sent = {
                  method: generated.method,
                  path: generated.path,
                  headers: {
                    'x-remote-user-id': userId,
                    'x-remote-user-name': 'fuzz',
                    'x-ingress-path': INGRESS_PATH,
                    ...generated.extra,
                    ...(generated.contentType ? { 'content-type': generated.contentType } : {}),
                  },
                  body: generated.method === 'GET' || generated.method === 'HEAD' ? Buffer.alloc(0) : generated.body,
                };
                const got = await send(ingressBase, sent);
                checkResponse(got, sent, 'ingress');
                statuses.set(got.status, (statuses.get(got.status) ?? 0) + 1);
                count++;
              }),
            );
          },
        ),
        { seed: SEED + 1, numRuns: RUNS, endOnFailure: true },
      ),
    );
    expect(count).toBe(RUNS * 4);
    console.info('ingress listener statuses', Object.fromEntries(statuses));
    for (const status of [200, 401, 403, 404]) expect(statuses.get(status) ?? 0, `status ${status}`).toBeGreaterThan(0);
    expect(errorLines()).toEqual([]);
  });

  it(`skill guard: ${RUNS / 2} mutated envelopes, no 5xx, nothing forwarded unless signed, for the skill and linked`, async () => {
    const expected: Buffer[] = [];
    const statuses = new Map<number, number>();
    const requestTypes = [
      'LaunchRequest',
      'IntentRequest',
      'SessionEndedRequest',
      'AudioPlayer.PlaybackStarted',
      'System.ExceptionEncountered',
      'Other.Thing',
      '',
    ];
    const anEnvelope = fc
      .record({
        type: fc.constantFrom(...requestTypes),
        accessToken: fc.constantFrom(linkedToken, undefined, `${linkedToken}x`, linkedToken.slice(0, -1), '', 'a1.x', 'x'.repeat(5000)),
        skillId: fc.constantFrom(SKILL_ID, SKILL_ID, OTHER_SKILL_ID, '', SKILL_ID.toUpperCase()),
        locale: fc.constantFrom('en-US', 'de-DE', 'nl-NL', 'fr-FR', '', 'x'.repeat(300)),
        // Well inside or well outside the 150 s window (its edges are tested in skill-guard.test.ts).
        timestampOffset: fc.constantFrom(0, 0, 0, -100_000, 100_000, -200_000, 200_000, Number.NaN),
      })
      .map((e) => envelope({ ...e, timestamp: Number.isNaN(e.timestampOffset) ? 'now' : new Date(Date.now() + e.timestampOffset).toISOString() }));
    const mutation = fc.oneof(
      { arbitrary: fc.constant({ kind: 'none' as const }), weight: 4 },
      fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }),
      fc.record({ kind: fc.constant('append' as const), extra: fc.string({ maxLength: 20 }) }),
      fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
      fc.record({ kind: fc.constant('replace' as const), json: fc.json({ maxDepth: 4 }) }),
      fc.record({ kind: fc.constant('bytes' as const), bytes: fc.uint8Array({ maxLength: 300 }) }),
    );
    const headerMutation = fc.oneof(
      { arbitrary: fc.constant({ kind: 'none' as const }), weight: 4 },
      fc.record({ kind: fc.constant('drop' as const), name: fc.constantFrom('signature-256', 'signaturecertchainurl', 'signature') }),
      fc.record({
        kind: fc.constant('certUrl' as const),
        url: fc.constantFrom(
          'https://s3.amazonaws.com/echo.api/expired.pem',
          'https://s3.amazonaws.com/echo.api/untrusted-root.pem',
          'https://s3.amazonaws.com/echo.api/../good.pem',
          'https://s3.amazonaws.com:8443/echo.api/good.pem',
          'http://s3.amazonaws.com/echo.api/good.pem',
          'https://s3.amazonaws.com/echo.api/nothing-here.pem',
          '',
          '%',
          'https://[::1]/echo.api/good.pem',
        ),
      }),
      fc.record({ kind: fc.constant('signature' as const), value: fc.oneof(fc.base64String({ maxLength: 400 }), fc.string({ maxLength: 40 })) }),
      fc.record({ kind: fc.constant('spoof' as const), value: fc.string({ maxLength: 40 }).map((v) => v.replace(/[^\x20-\x7e]/g, '')) }),
    );
    await assertShort(
      fc.assert(
        fc.asyncProperty(anEnvelope, mutation, headerMutation, async (generated, bodyChange, headerChange) => {
          let body = Buffer.from(JSON.stringify(generated));
          if (bodyChange.kind === 'replace') body = Buffer.from(bodyChange.json);
          if (bodyChange.kind === 'bytes') body = Buffer.from(bodyChange.bytes);
          const headers: Record<string, string> = { ...signedHeaders(pki, body) };
          // What was signed is `body`; the mutations below happen after signing, as an attacker's would.
          let sentBody = body;
          if (bodyChange.kind === 'flip' && body.length > 0) {
            sentBody = Buffer.from(body);
            sentBody[bodyChange.at % body.length]! ^= 1 << bodyChange.bit;
          }
          if (bodyChange.kind === 'append') sentBody = Buffer.concat([body, Buffer.from(bodyChange.extra)]);
          if (bodyChange.kind === 'truncate' && body.length > 0) sentBody = body.subarray(0, bodyChange.at % body.length);
          if (headerChange.kind === 'drop') delete headers[headerChange.name];
          if (headerChange.kind === 'certUrl') headers.signaturecertchainurl = headerChange.url;
          if (headerChange.kind === 'signature') headers['signature-256'] = headerChange.value;
          if (headerChange.kind === 'spoof') headers['x-alexa-link-user-id'] = headerChange.value;
          // Dropping the SHA-1 `Signature` leaves a request Signature-256 verifies: still intact.
          const intact =
            sentBody.equals(body) &&
            !(headerChange.kind === 'drop' && headerChange.name !== 'signature') &&
            headerChange.kind !== 'certUrl' &&
            headerChange.kind !== 'signature';
          const parsed = (() => {
            try {
              return JSON.parse(sentBody.toString('utf8')) as ReturnType<typeof envelope>;
            } catch {
              return undefined;
            }
          })();
          const request = parsed?.request as { type?: unknown; timestamp?: unknown } | undefined;
          const timely = typeof request?.timestamp === 'string' && Math.abs(Date.parse(request.timestamp) - Date.now()) < 150_000;
          const system = (parsed?.context as { System?: { application?: { applicationId?: unknown }; user?: { accessToken?: unknown } } } | undefined)?.System;
          const linked =
            system?.user?.accessToken === linkedToken &&
            system.application?.applicationId === SKILL_ID &&
            typeof request?.type === 'string' &&
            request.type !== '';
          if (intact && timely && linked) expected.push(sentBody);
          const sent: Sent = { method: 'POST', path: '/skill', headers, body: sentBody };
          const got = await send(publicBase, sent);
          checkResponse(got, sent, 'public');
          statuses.set(got.status, (statuses.get(got.status) ?? 0) + 1);
        }),
        { seed: SEED + 3, numRuns: RUNS / 2, endOnFailure: true },
      ),
    );
    console.info('skill guard statuses', Object.fromEntries(statuses), `forwarded ${forwarded.length}`);
    // Every forwarded body is one that was signed, unaltered, for the skill, with the linked token.
    const key = (body: Buffer): string => body.toString('base64');
    const allowed = new Set(expected.map(key));
    for (const body of forwarded) expect(allowed.has(key(body)), body.toString('utf8').slice(0, 600)).toBe(true);
    expect(forwarded.length).toBe(expected.length);
    // The run reached both sides: verified-and-linked requests and refusals.
    expect(forwarded.length).toBeGreaterThan(0);
    expect(statuses.get(400) ?? 0).toBeGreaterThan(0);
    expect(errorLines()).toEqual([]);
  });
});
