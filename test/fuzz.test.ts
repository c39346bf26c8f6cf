/**
 * Mutation fuzzing of every public and ingress endpoint: 20,000+ generated requests (fast-check,
 * seeded, so a failure replays). Malformed forms, repeated and huge parameters, wrong methods and
 * content types, broken Basic headers, invalid UTF-8, path tricks. No 5xx, no crash, every
 * response well-formed, memory stable.
 */

import { readFileSync } from 'node:fs';
import { request } from 'node:http';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { INGRESS_PATH } from './helpers/ingress.js';
import { CLIENT_ID, CLIENT_SECRET, freePort, REDIRECT_URI, RS_SECRET, writeOptions } from './helpers/oauth-server.js';
import { type ServerProcess, startServer } from './helpers/server-process.js';
import { tempDir } from './helpers/tmp.js';

const SEED = Number(process.env.FUZZ_SEED ?? 20261122);
const RUNS = 2 * Math.ceil(Number(process.env.FUZZ_RUNS ?? 2600) / 2);

// The server is a separate process, so its memory can be measured on its own.
let server: ServerProcess;
let publicBase: string;
let ingressBase: string;
beforeAll(async () => {
  const dataDir = tempDir();
  const [port, ingressPort] = [await freePort(), await freePort()];
  // Rate limits would answer 429 before the handlers are reached: fuzz from many "clients" by
  // trusting loopback as a proxy and varying X-Forwarded-For (the limits themselves are tested elsewhere).
  await writeOptions(dataDir, port, { trusted_proxies: ['127.0.0.1'], log_level: 'info' });
  server = await startServer({ DATA_DIR: dataDir, PUBLIC_PORT: String(port), INGRESS_PORT: String(ingressPort), INGRESS_TRUSTED_PROXIES: '127.0.0.1' });
  publicBase = server.url;
  ingressBase = `http://127.0.0.1:${ingressPort}`;
});
afterAll(async () => {
  expect(await server.stop()).toBe(0);
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
const PUBLIC_PATHS = [
  '/token',
  '/revoke',
  '/introspect',
  '/authorize',
  '/authorize/wait',
  '/authorize/status',
  '/authorize/continue',
  '/.well-known/oauth-authorization-server',
  '/healthz',
  '/assets/style.css',
  '/assets/wait.js',
];
const INGRESS_PATHS = ['/', '/code', '/decide', '/links', '/links/revoke', '/activity', '/notices/dismiss', '/assets/style.css'];
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
});
