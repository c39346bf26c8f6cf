/** Migrations carry existing data forward: a database of the previous schema opens and keeps its rows. */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { generateFernetKey } from '../src/crypto/fernet.js';
import { KeyRing } from '../src/crypto/keyring.js';
import { blindIndex, digest, newToken } from '../src/crypto/random.js';
import { DATABASE_FILE, Store } from '../src/store/index.js';
import { MIGRATIONS } from '../src/store/schema.js';
import { CLIENT_ID, clock, LIFETIMES } from './helpers/store.js';
import { tempDir } from './helpers/tmp.js';

const HOUR = 3_600_000;
const ALICE = { id: '8f14e45fceea167a5a36dedd4bea2543', name: 'alice', displayName: 'Alice Zoë Household' };
const BOB = { id: 'c9f0f895fb98ab9159f51fd0297e236d', name: 'bob', displayName: 'Bob Second' };
const CAROL = { id: '45c48cce2e2d7fbdea1afc51c7c6ad26', name: 'carol', displayName: 'Carol Third' };

/** A database as migration `version` left it, with its index key in `meta`; the caller adds rows and closes it. */
function databaseAt(version: number) {
  const dataDir = tempDir();
  const key = generateFernetKey();
  const ring = new KeyRing([key]);
  const indexKey = randomBytes(32);
  const db = new Database(join(dataDir, DATABASE_FILE));
  for (const migration of MIGRATIONS.slice(0, version)) db.exec(migration);
  db.pragma(`user_version = ${version}`);
  db.prepare("INSERT INTO meta (name, value) VALUES ('index_key', ?)").run(ring.encrypt(indexKey.toString('base64')));
  return { dataDir, key, ring, indexKey, db };
}

describe('migration 3: no code_challenge_method column', () => {
  it('a schema-2 database with a pending request opens at the current schema, the row intact and the column gone', () => {
    const { dataDir, key, db } = databaseAt(2);
    db.prepare(`INSERT INTO pending_requests (id_hash, user_code_index, client_id, redirect_uri, scope, code_challenge, code_challenge_method, requester_enc, created_at, expires_at)
                VALUES (?, ?, 'client', 'https://example.net/cb', 'music_assistant', 'challenge', 'S256', 'x', 1, 2)`).run(randomBytes(32), randomBytes(32));
    db.close();

    const store = Store.open({ dataDir, encryptionKeys: [key] });
    try {
      expect(store.db.pragma('user_version', { simple: true })).toBe(MIGRATIONS.length);
      const columns = (store.db.pragma('table_info(pending_requests)') as Array<{ name: string }>).map((column) => column.name);
      expect(columns).toContain('code_challenge');
      expect(columns).not.toContain('code_challenge_method');
      expect(store.db.prepare('SELECT client_id, code_challenge FROM pending_requests').all()).toEqual([{ client_id: 'client', code_challenge: 'challenge' }]);
    } finally {
      store.close();
    }
  });
});

describe('migration 4: token generations', () => {
  it('migration 4 keeps links made before the upgrade: their tokens refresh, introspect, and a retired one is still reuse', () => {
    const time = clock();
    const now = time.now();
    const idle = LIFETIMES.refreshTokenIdleSeconds * 1000;
    const { dataDir, key, ring, indexKey, db } = databaseAt(3);
    db.pragma('journal_mode = WAL');
    const addGrant = (subject: typeof ALICE): string => {
      const id = randomBytes(16).toString('hex');
      db.prepare(
        `INSERT INTO grants (id, subject_index, subject_enc, client_id, scope, created_at, last_used_at)
        VALUES (?, ?, ?, ?, 'music_assistant', ?, ?)`,
      ).run(id, blindIndex(indexKey, `subject:${subject.id}`), ring.encrypt(JSON.stringify(subject)), CLIENT_ID, now - HOUR, now - HOUR);
      return id;
    };
    const addToken = (grantId: string, kind: 'access' | 'refresh', fields: { parent?: string; used?: boolean; retired?: boolean } = {}): string => {
      const token = newToken();
      db.prepare('INSERT INTO tokens (digest, kind, grant_id, parent, created_at, expires_at, used_at, retired_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)').run(
        digest(token),
        kind,
        grantId,
        fields.parent ? digest(fields.parent) : null,
        // An access token lived an hour (access_token_ttl_minutes); this one has half of it left.
        kind === 'access' ? now - HOUR / 2 : now - HOUR,
        now + (kind === 'access' ? HOUR / 2 : idle),
        fields.used ? now - HOUR : null,
        fields.retired ? now - HOUR : null,
      );
      return token;
    };
    // Alice and Carol: rotated lineages. `old` retired, `parent` used (confirmed), `child` its unused successor.
    const lineage = (grantId: string) => {
      const old = addToken(grantId, 'refresh', { used: true, retired: true });
      const parent = addToken(grantId, 'refresh', { parent: old, used: true });
      const child = addToken(grantId, 'refresh', { parent });
      return { old, parent, child, access: addToken(grantId, 'access', { parent: child }) };
    };
    const alice = addGrant(ALICE);
    const aliceTokens = lineage(alice);
    const carol = addGrant(CAROL);
    const carolTokens = lineage(carol);
    // Bob: linked, never refreshed.
    const bob = addGrant(BOB);
    const bobFirst = addToken(bob, 'refresh');
    db.close();

    const store = Store.open({ dataDir, encryptionKeys: [key], now: time.now });
    try {
      expect(store.db.pragma('user_version', { simple: true })).toBe(MIGRATIONS.length);
      // Old access tokens stay readable until they expire.
      expect(store.tokens.introspect(aliceTokens.access, LIFETIMES)?.grant.subject).toEqual(ALICE);
      // The unused successor refreshes (and is confirmed): the link carries on with tokens of the new format.
      const rotated = store.tokens.refresh(aliceTokens.child, CLIENT_ID, LIFETIMES);
      if (rotated.status !== 'ok') throw new Error(`pre-upgrade token did not refresh: ${rotated.status}`);
      expect(rotated.tokens.refreshToken.startsWith('r1.')).toBe(true);
      // A first token never used refreshes too; presented again at once it is a repeat, as any token.
      expect(store.tokens.refresh(bobFirst, CLIENT_ID, LIFETIMES).status).toBe('ok');
      expect(store.tokens.refresh(bobFirst, CLIENT_ID, LIFETIMES).status).toBe('repeat');
      // The used parent, presented again an hour later, gets another successor (a retry after a lost answer).
      time.advance(HOUR);
      expect(store.tokens.refresh(carolTokens.parent, CLIENT_ID, LIFETIMES).status).toBe('ok');
      // Carol's token retired before the upgrade is reuse.
      expect(store.tokens.refresh(carolTokens.old, CLIENT_ID, LIFETIMES).status).toBe('reuse');
      expect(store.grants.get(carol)?.revokedReason).toBe('refresh_reuse');

      // Alice's lineage goes on for 200 days (beyond the old tokens' expiry), pruned each time.
      let current = rotated.tokens.refreshToken;
      for (let day = 0; day < 200; day += 20) {
        time.advance(20 * 24 * HOUR);
        const next = store.tokens.refresh(current, CLIENT_ID, LIFETIMES);
        if (next.status !== 'ok') throw new Error(`refresh failed on day ${day}`);
        current = next.tokens.refreshToken;
        store.prune();
      }
      expect(store.tokens.introspect(aliceTokens.access, LIFETIMES)).toBeUndefined();
      // The pre-upgrade token retired after the upgrade (when its successor was confirmed) is still reuse.
      expect(store.tokens.refresh(aliceTokens.parent, CLIENT_ID, LIFETIMES).status).toBe('reuse');
      expect(store.grants.get(alice)?.revokedReason).toBe('refresh_reuse');
      expect(store.tokens.refresh(current, CLIENT_ID, LIFETIMES)).toEqual({ status: 'invalid', reason: 'revoked' });
      // Bob's link, not used for 200 days, ended when its refresh token's idle time ran out.
      expect(store.grants.get(bob)?.revokedReason).toBe('expired');
      expect(store.tokens.refresh(bobFirst, CLIENT_ID, LIFETIMES)).toEqual({ status: 'invalid', reason: 'revoked' });
    } finally {
      store.close();
    }
  });
});

describe('migration 5: renewals of a pending request', () => {
  it('a schema-4 database with a pending request opens at the current schema; the request has no renewals and can be renewed', () => {
    const time = clock();
    const { dataDir, key, ring, indexKey, db } = databaseAt(4);
    const requestId = newToken();
    db.prepare(
      `INSERT INTO pending_requests (id_hash, user_code_index, client_id, redirect_uri, scope, code_challenge, requester_enc, created_at, expires_at)
       VALUES (?, ?, ?, 'https://example.net/cb', 'music_assistant', 'challenge', ?, ?, ?)`,
    ).run(digest(requestId), blindIndex(indexKey, 'user_code:BCDFGHJK'), CLIENT_ID, ring.encrypt('{}'), time.now(), time.now() + 600_000);
    db.close();

    const store = Store.open({ dataDir, encryptionKeys: [key], now: time.now });
    try {
      expect(store.db.pragma('user_version', { simple: true })).toBe(MIGRATIONS.length);
      expect(store.requests.get(requestId)).toMatchObject({ status: 'pending', renewals: 0, codeChallenge: 'challenge' });
      expect(store.requests.findPendingByUserCode('BCDFGHJK')).toBeDefined();
      const renewed = store.requests.renew(requestId, { ttlSeconds: 600, maxRenewals: 3, windowSeconds: 1800, minSeconds: 120 });
      expect(renewed).toMatchObject({ status: 'renewed', renewals: 1 });
      expect(store.requests.findPendingByUserCode('BCDFGHJK')).toBeUndefined();
    } finally {
      store.close();
    }
  });
});

describe('migration 6: where a link was made', () => {
  it('a schema-5 database opens; its link has no origin, and its unredeemed code makes a link without one', () => {
    const time = clock();
    const { dataDir, key, ring, indexKey, db } = databaseAt(5);
    const grantId = randomBytes(16).toString('hex');
    db.prepare(
      `INSERT INTO grants (id, subject_index, subject_enc, client_id, scope, created_at, last_used_at)
       VALUES (?, ?, ?, ?, 'music_assistant', ?, ?)`,
    ).run(grantId, blindIndex(indexKey, `subject:${ALICE.id}`), ring.encrypt(JSON.stringify(ALICE)), CLIENT_ID, time.now(), time.now());
    const code = newToken();
    db.prepare(
      `INSERT INTO authorization_codes (code_hash, client_id, redirect_uri, scope, subject_index, subject_enc, created_at, expires_at)
       VALUES (?, ?, 'https://layla.amazon.com/api/skill/link/M123', 'music_assistant', ?, ?, ?, ?)`,
    ).run(digest(code), CLIENT_ID, blindIndex(indexKey, `subject:${ALICE.id}`), ring.encrypt(JSON.stringify(ALICE)), time.now(), time.now() + 60_000);
    db.close();

    const store = Store.open({ dataDir, encryptionKeys: [key], now: time.now });
    try {
      expect(store.db.pragma('user_version', { simple: true })).toBe(MIGRATIONS.length);
      expect(store.grants.get(grantId)?.subject).toEqual(ALICE);
      expect(store.grants.listForSubject(ALICE.id)).toMatchObject([{ id: grantId, madeBy: undefined }]);
      const redeemed = store.codes.redeem(code);
      expect(redeemed).toMatchObject({ status: 'ok', code: { madeBy: undefined, redirectUri: 'https://layla.amazon.com/api/skill/link/M123' } });
    } finally {
      store.close();
    }
  });
});
