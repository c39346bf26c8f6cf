/**
 * Talking to the server's database from the bench process, through the project's own Store (the
 * compiled one in dist/, the build the server runs), the way test/oauth-restart.test.ts does: a
 * second connection on the same file, WAL mode, while the server runs.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type * as TunablesModule from '../../src/config/tunables.js';
import type * as FernetModule from '../../src/crypto/fernet.js';
import type * as StoreModule from '../../src/store/index.js';
import { CLIENT_ID, CLIENT_SECRET, CODE_CHALLENGE, issueCode, LIFETIMES, linkInStore, RS_SECRET, SCOPE, VENDOR_ID } from '../../test/helpers/fixtures.js';

const DIST = new URL('../../../dist/', import.meta.url);

export const { Store, DATABASE_FILE } = (await import(new URL('store/index.js', DIST).href)) as typeof StoreModule;
export const { generateFernetKey } = (await import(new URL('crypto/fernet.js', DIST).href)) as typeof FernetModule;
export const { TUNABLES } = (await import(new URL('config/tunables.js', DIST).href)) as typeof TunablesModule;
export type Store = StoreModule.Store;
export type Subject = StoreModule.Subject;

// The tests' credentials (test/helpers/fixtures.ts): the bench configures and links as they do.
export { CLIENT_ID, CLIENT_SECRET, CODE_VERIFIER, LIFETIMES, REDIRECT_URI, RS_CLIENT_ID, RS_SECRET } from '../../test/helpers/fixtures.js';

export function basic(id: string, secret: string): string {
  const encode = (part: string): string => encodeURIComponent(part).replace(/%20/g, '+');
  return `Basic ${Buffer.from(`${encode(id)}:${encode(secret)}`).toString('base64')}`;
}

/** options.json for the add-on mode, as test/helpers/oauth-server.ts writeOptions writes it; `extra` adds or overrides options. */
export function writeOptions(dataDir: string, port: number, key: string, extra: Record<string, unknown> = {}): void {
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
    ...extra,
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

/** The bench's own requester, from the 198.18.0.0/15 benchmarking range its load comes from. */
const REQUESTER = { ip: '198.18.255.1', userAgent: 'bench' };

/** `count` linked accounts the way a real link leaves them: each walked through the store (linkInStore). */
export function linkMany(store: Store, count: number, firstSubject: number): Lineage[] {
  return store.transaction(() =>
    Array.from({ length: count }, (_, i) => {
      const { tokens } = linkInStore(store, subject(firstSubject + i), REQUESTER);
      return { refreshToken: tokens.refreshToken, accessToken: tokens.accessToken };
    }),
  );
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

/**
 * `count` fresh authorization codes, as a released request would leave them, valid `ttlSeconds`
 * (codes live 60 s in the server; the bench needs them for a whole run). One transaction. They all
 * share the fixtures' PKCE pair: the server still hashes CODE_VERIFIER on each exchange.
 */
export function seedCodes(store: Store, count: number, firstSubject: number, ttlSeconds: number): string[] {
  return store.transaction(() =>
    Array.from({ length: count }, (_, i) => issueCode(store, subject(firstSubject + i), { codeChallenge: CODE_CHALLENGE, codeTtlSeconds: ttlSeconds }).code),
  );
}
