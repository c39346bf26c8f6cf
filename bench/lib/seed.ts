/**
 * Talking to the server's database from the bench process, through the project's own Store (the
 * compiled one in dist/, the build the server runs), the way test/oauth-restart.test.ts does: a
 * second connection on the same file, WAL mode, while the server runs.
 */
import { createHash, randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type * as StoreModule from '../../src/store/index.js';
import type * as FernetModule from '../../src/crypto/fernet.js';
import type * as OptionsModule from '../../src/config/options.js';

const DIST = new URL('../../../dist/', import.meta.url);

export const { Store, DATABASE_FILE } = (await import(new URL('store/index.js', DIST).href)) as typeof StoreModule;
export const { generateFernetKey } = (await import(new URL('crypto/fernet.js', DIST).href)) as typeof FernetModule;
export const { PROTOCOL } = (await import(new URL('config/options.js', DIST).href)) as typeof OptionsModule;
export type Store = StoreModule.Store;
export type Subject = StoreModule.Subject;

export const VENDOR_ID = 'M2AB3CD4EF5GH6';
export const REDIRECT_URI = `https://layla.amazon.com/api/skill/link/${VENDOR_ID}`;
export const CLIENT_ID = 'amzn1.application-oa2-client.bench';
export const CLIENT_SECRET = 'alexa-client-secret-0123456789-abcdefghij';
export const RS_CLIENT_ID = 'music_assistant';
export const RS_SECRET = 'music-assistant-secret-0123456789-abcdefghij';
export const SCOPE = 'music_assistant';
/** The add-on's defaults (access_token_ttl_minutes 60, refresh_token_idle_days 180). */
export const LIFETIMES = { accessTokenTtlSeconds: 3600, refreshTokenIdleSeconds: 180 * 86400 };

export function basic(id: string, secret: string): string {
  const encode = (part: string): string => encodeURIComponent(part).replace(/%20/g, '+');
  return `Basic ${Buffer.from(`${encode(id)}:${encode(secret)}`).toString('base64')}`;
}

/** options.json for the add-on mode, as test/helpers/oauth-server.ts writeOptions writes it. */
export function writeOptions(dataDir: string, port: number, key: string): void {
  const options = {
    encryption_key: key,
    public_url: `http://127.0.0.1:${port}`,
    alexa_client_id: CLIENT_ID,
    alexa_client_secret: CLIENT_SECRET,
    alexa_vendor_id: VENDOR_ID,
    resource_server_secret: RS_SECRET,
    // The load comes from loopback through a "proxy": X-Forwarded-For spreads it over 4096
    // addresses so the per-IP limits (300 token calls a minute) measure as in production, where
    // every Alexa/Music Assistant caller has its own budget, instead of answering 429.
    trusted_proxies: ['127.0.0.1'],
    notify: false,
    log_level: 'warning',
  };
  writeFileSync(join(dataDir, 'options.json'), JSON.stringify(options));
}

export function openStore(dataDir: string, key: string, now?: () => number): Store {
  return Store.open({ dataDir, encryptionKeys: [key], ...(now ? { now } : {}) });
}

export function subject(i: number): Subject {
  return { id: `ha-user-${i.toString(16).padStart(8, '0')}`, name: `user${i}`, displayName: `Bench User ${i}` };
}

export interface Lineage {
  refreshToken: string;
  accessToken: string;
}

/** One complete link through the store: request, approval, release, redemption, grant, tokens. */
export function linkThroughStore(store: Store, who: Subject): Lineage {
  const verifier = randomBytes(32).toString('base64url');
  const challenge = createHash('sha256').update(verifier).digest('base64url');
  const request = store.requests.create({
    clientId: CLIENT_ID, redirectUri: REDIRECT_URI, scope: SCOPE, state: 'bench',
    codeChallenge: challenge, codeChallengeMethod: 'S256', requester: { ip: '198.18.255.1', userAgent: 'bench' }, ttlSeconds: 600,
  });
  const found = store.requests.findPendingByUserCode(request.userCode);
  if (!found || !store.requests.decide(found.handle, 'approved', who)) throw new Error('approval failed');
  const released = store.requests.release(request.requestId, 60);
  if (!released) throw new Error('release failed');
  const redeemed = store.codes.redeem(released.code);
  if (redeemed.status !== 'ok') throw new Error('redeem failed');
  const tokens = store.createGrantFromCode(redeemed.code, LIFETIMES, 0);
  return { refreshToken: tokens.refreshToken, accessToken: tokens.accessToken };
}

/** `count` linked accounts the way a real link leaves them (see linkThroughStore). */
export function linkMany(store: Store, count: number, firstSubject: number): Lineage[] {
  return store.transaction(() => Array.from({ length: count }, (_, i) => linkThroughStore(store, subject(firstSubject + i))));
}

/**
 * Bulk: `count` grants, each with its first access and refresh token, in ONE transaction (no
 * request/code rows: those are pruned within a day in a real database anyway).
 */
export function seedGrants(store: Store, count: number, firstSubject: number): void {
  // A larger page cache on this (the bench's) connection only: random-key inserts into four
  // indexes thrash the default 2 MiB cache. The server's own connection is not affected.
  const cacheSize = store.db.pragma('cache_size', { simple: true }) as number;
  store.db.pragma('cache_size = -262144');
  try {
    store.transaction(() => {
      for (let i = 0; i < count; i++) {
        const grant = store.grants.create({ subject: subject(firstSubject + i), clientId: CLIENT_ID, scope: SCOPE, maxSeconds: 0 });
        store.tokens.issue(grant, LIFETIMES);
      }
    });
  } finally {
    store.db.pragma(`cache_size = ${cacheSize}`);
  }
}

export function countRows(store: Store, table: string): number {
  return (store.db.prepare(`SELECT count(*) AS n FROM ${table}`).get() as { n: number }).n;
}

/** PKCE pair shared by every seeded code (the server still hashes the verifier on each exchange). */
export const CODE_VERIFIER = randomBytes(32).toString('base64url');
const CODE_CHALLENGE = createHash('sha256').update(CODE_VERIFIER).digest('base64url');

/**
 * `count` fresh authorization codes, as a released request would leave them, valid `ttlSeconds`
 * (codes live 60 s in the server; the bench needs them for a whole run). One transaction.
 */
export function seedCodes(store: Store, count: number, firstSubject: number, ttlSeconds: number): string[] {
  return store.transaction(() =>
    Array.from({ length: count }, (_, i) =>
      store.codes.issue({ clientId: CLIENT_ID, redirectUri: REDIRECT_URI, scope: SCOPE, codeChallenge: CODE_CHALLENGE, subject: subject(firstSubject + i) }, ttlSeconds),
    ),
  );
}
