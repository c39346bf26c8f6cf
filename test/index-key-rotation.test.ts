/**
 * Changing the encryption key retires the index key and everything derived from it
 * (docs/decisions/0010-index-key-rotation.md): token MACs, blind indexes, the cookie and CSRF
 * secrets. The attacker of issue 19 holds the old encryption key and an old copy of the database
 * (every backup holds the snapshot): they decrypt the old index key and seal tokens with the real
 * token-format functions. After the rotation none of their tokens verifies, and every link still
 * refreshes.
 */
import { spawnSync } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type session from 'express-session';
import { afterEach, describe, expect, it } from 'vitest';
import { Fernet, generateFernetKey } from '../src/crypto/fernet.js';
import { KeyRing } from '../src/crypto/keyring.js';
import { DATABASE_FILE, type IssuedTokens, Store } from '../src/store/index.js';
import { INDEX_KEYED_COLUMNS, MIGRATIONS } from '../src/store/schema.js';
import { sealAccess, sealRefresh } from '../src/store/token-format.js';
import { introspect, link as linkOverHttp, refresh as refreshOverHttp } from './helpers/link.js';
import { CLIENT_ID, CLIENT_SECRET, RS_SECRET, startTestServer, VENDOR_ID } from './helpers/oauth-server.js';
import { clock, LIFETIMES, link, openStore } from './helpers/store.js';
import { tempDir } from './helpers/tmp.js';

const MINUTE = 60_000;
const TTL_MS = LIFETIMES.accessTokenTtlSeconds * 1000;
const YEAR_2100 = Date.UTC(2100, 0, 1);
const person = (i: number) => ({ id: `${String(i).padStart(4, '0')}${'e'.repeat(28)}`, name: `user${i}`, displayName: `User ${i}` });

const open: Store[] = [];
afterEach(() => {
  for (const store of open.splice(0)) if (store.db.open) store.close();
});
function track(store: Store): Store {
  open.push(store);
  return store;
}

/** What the attacker reads from a copy of the database with the encryption key of that time. */
function stolenIndexKey(dataDir: string, fernetKey: string): Buffer {
  const db = new Database(join(dataDir, DATABASE_FILE), { readonly: true });
  try {
    const row = db.prepare<[], { value: string }>("SELECT value FROM meta WHERE name = 'index_key'").get()!;
    return Buffer.from(new Fernet(fernetKey).decrypt(row.value).toString('utf8'), 'base64');
  } finally {
    db.close();
  }
}

/** The derivation the server uses (HMAC-SHA256 of `derived:<label>` under the index key), done by hand. */
const derive = (indexKey: Buffer, label: string): Buffer => createHmac('sha256', indexKey).update(`derived:${label}`).digest();
const subjectIndexUnder = (indexKey: Buffer, subjectId: string): Buffer => createHmac('sha256', indexKey).update(`subject:${subjectId}`).digest();

/** Every meta value, decrypted: where an index key could hide. */
function metaValues(dataDir: string, keys: string[]): string[] {
  const ring = new KeyRing(keys);
  const db = new Database(join(dataDir, DATABASE_FILE), { readonly: true });
  try {
    return db
      .prepare<[], { value: string }>('SELECT value FROM meta')
      .all()
      .map((row) => ring.decrypt(row.value));
  } finally {
    db.close();
  }
}

interface Client {
  name: string;
  grantId: string;
  /** The refresh token the client holds now. */
  holds: string;
}

/**
 * Links in every state a rotation can meet them: new; refreshed once (its successor unused);
 * refreshed twice (a token already retired); and a client whose answer got lost (it holds the used
 * parent while an unused successor exists).
 */
function linksInEveryState(store: Store, advance: (ms: number) => void) {
  const refreshOk = (token: string): IssuedTokens => {
    const outcome = store.tokens.refresh(token, CLIENT_ID, LIFETIMES);
    if (outcome.status !== 'ok') throw new Error(`refresh failed: ${outcome.status}`);
    advance(MINUTE);
    return outcome.tokens;
  };
  const fresh = link(store, person(1)).tokens;
  const once = link(store, person(2)).tokens;
  const onceNext = refreshOk(once.refreshToken);
  const twice = link(store, person(3)).tokens;
  const twiceFirst = refreshOk(twice.refreshToken);
  const twiceSecond = refreshOk(twiceFirst.refreshToken);
  const lost = link(store, person(4)).tokens;
  refreshOk(lost.refreshToken); // the answer never arrived: the client still holds the first token
  const clients: Client[] = [
    { name: 'new', grantId: fresh.grant.id, holds: fresh.refreshToken },
    { name: 'refreshed once', grantId: once.grant.id, holds: onceNext.refreshToken },
    { name: 'refreshed twice', grantId: twice.grant.id, holds: twiceSecond.refreshToken },
    { name: 'lost answer', grantId: lost.grant.id, holds: lost.refreshToken },
  ];
  return {
    clients,
    accessTokens: [fresh.accessToken, onceNext.accessToken, twiceSecond.accessToken],
    /** Live at the rotation: the parent of `refreshed once`, retired by the successor's first use after it. */
    liveThenRetired: { grantId: once.grant.id, token: once.refreshToken },
    /** Retired before the rotation. */
    retiredBefore: { grantId: twice.grant.id, token: twice.refreshToken },
  };
}

describe('rotation of the index key when the encryption key changes', () => {
  it('refuses every token sealed with the pre-rotation key, while every link still refreshes', () => {
    const time = clock();
    const keyA = generateFernetKey();
    const keyB = generateFernetKey();
    const { store, dataDir } = openStore({ keys: [keyA], clock: time });
    const { clients, liveThenRetired, retiredBefore } = linksInEveryState(store, time.advance);
    const alice = clients[0]!;

    // The attacker's copy: old index key, old MAC keys. Before the rotation their forgery works (so the forging is right).
    const oldIndexKey = stolenIndexKey(dataDir, keyA);
    const oldAccessKey = derive(oldIndexKey, 'access-token-mac');
    const oldRefreshKey = derive(oldIndexKey, 'refresh-token-mac');
    const plausible = sealAccess(oldAccessKey, { grantId: alice.grantId, issuedAt: time.now(), expiresAt: time.now() + TTL_MS });
    expect(store.tokens.introspect(plausible, LIFETIMES)?.grant.subject.id).toBe(person(1).id);
    store.close();

    time.advance(MINUTE);
    const rotatedAt = time.now();
    const rotated = track(Store.open({ dataDir, encryptionKeys: [keyB, keyA], now: time.now }));
    time.advance(MINUTE);

    // Access tokens sealed after the rotation with the old key: refused at once, whatever their times.
    const now = time.now();
    const forgedAccess = [
      sealAccess(oldAccessKey, { grantId: alice.grantId, issuedAt: now, expiresAt: now + TTL_MS }),
      sealAccess(oldAccessKey, { grantId: alice.grantId, issuedAt: now - MINUTE, expiresAt: YEAR_2100 }),
      sealAccess(oldAccessKey, { grantId: alice.grantId, issuedAt: rotatedAt + 1, expiresAt: rotatedAt + 1 + TTL_MS }),
    ];
    for (const token of forgedAccess) expect(rotated.tokens.introspect(token, LIFETIMES)).toBeUndefined();
    // The price of the grace (decision 0010): one sealed before the rotation lives out its own hour, no more.
    expect(rotated.tokens.introspect(plausible, LIFETIMES)).toBeDefined();
    // Refresh tokens sealed with the old key, of any generation: unknown, and they revoke nothing.
    for (const client of clients) {
      for (let gen = 0; gen <= 3; gen++) {
        const forged = sealRefresh(oldRefreshKey, { grantId: client.grantId, gen });
        expect(rotated.tokens.refresh(forged, CLIENT_ID, LIFETIMES)).toEqual({ status: 'invalid', reason: 'unknown' });
        expect(rotated.tokens.revoke(forged, CLIENT_ID)).toBeUndefined();
      }
      expect(rotated.grants.get(client.grantId)?.revokedAt).toBeUndefined();
    }

    // Every link refreshes with the token its client holds, and goes on under the new key.
    for (const client of clients) {
      const next = rotated.tokens.refresh(client.holds, CLIENT_ID, LIFETIMES);
      expect(next.status, client.name).toBe('ok');
      if (next.status !== 'ok') continue;
      expect(rotated.tokens.introspect(next.tokens.accessToken, LIFETIMES)?.grant.subject.id).toBe(rotated.grants.get(client.grantId)?.subject.id);
      time.advance(MINUTE);
      expect(rotated.tokens.refresh(next.tokens.refreshToken, CLIENT_ID, LIFETIMES).status, client.name).toBe('ok');
      time.advance(MINUTE);
    }

    // The old plausible token (issued before the rotation) had its grace and lost it with its hour.
    time.advance(TTL_MS);
    expect(rotated.tokens.introspect(plausible, LIFETIMES)).toBeUndefined();

    // Reuse: a token live at the rotation and retired after it is still recognised (its digest);
    // one retired before the rotation can no longer be told from a forgery, so it is refused and revokes nothing.
    expect(rotated.tokens.refresh(retiredBefore.token, CLIENT_ID, LIFETIMES)).toEqual({ status: 'invalid', reason: 'unknown' });
    expect(rotated.grants.get(retiredBefore.grantId)?.revokedAt).toBeUndefined();
    expect(rotated.tokens.refresh(liveThenRetired.token, CLIENT_ID, LIFETIMES).status).toBe('reuse');
    expect(rotated.grants.get(liveThenRetired.grantId)?.revokedReason).toBe('refresh_reuse');
  });

  it('recomputes every blind index under the new key, drops what cannot be recomputed, and leaves no old key behind', () => {
    const time = clock();
    const keyA = generateFernetKey();
    const keyB = generateFernetKey();
    const { store, dataDir } = openStore({ keys: [keyA], clock: time });
    const alice = link(store, person(1)).tokens;
    link(store, person(2));
    store.audit.record('link_denied', { subjectId: person(1).id, details: { name: 'User 1' } });
    // Someone who never linked dismissed the relink notice and denied a request long gone: nothing names them any more.
    store.notices.dismiss('relink', person(9).id);
    store.audit.record('link_denied', { subjectId: person(9).id, details: { name: 'User 9' } });
    store.notices.dismiss('relink', person(1).id);
    const pending = store.requests.create({
      clientId: CLIENT_ID,
      redirectUri: 'https://layla.amazon.com/api/skill/link/M2AB3CD4EF5GH6',
      scope: 'music_assistant',
      state: 's',
      codeChallenge: undefined,
      requester: { ip: '192.0.2.1', userAgent: 'UA' },
      ttlSeconds: 600,
    });
    store.sessions.set('sid-1', { cookie: { originalMaxAge: 60_000, expires: new Date(time.now() + 60_000) } as session.Cookie } as session.SessionData);
    const oldCheckRow = (store.db.prepare("SELECT value FROM meta WHERE name = 'index_key'").get() as { value: string }).value;
    const aliceEvents = store.audit.listForSubject(person(1).id, { limit: 50 }).length;
    store.close();
    const oldIndexKey = stolenIndexKey(dataDir, keyA);

    const rotated = track(Store.open({ dataDir, encryptionKeys: [keyB, keyA], now: time.now }));
    const newIndexKey = stolenIndexKey(dataDir, keyB);
    expect(newIndexKey.equals(oldIndexKey)).toBe(false);
    // Dropped: the waiting request and the two links' completed ones, the session, the unknown person's dismissal.
    expect(rotated.rotation).toMatchObject({ dropped: { pending_requests: 3, sessions: 1, notice_dismissals: 1 }, unattributed: 1 });

    // Every blind index is under the new key: the repositories find each person's rows.
    expect(rotated.grants.listForSubject(person(1).id).map((grant) => grant.id)).toEqual([alice.grant.id]);
    expect(rotated.audit.listForSubject(person(1).id, { limit: 50 })).toHaveLength(aliceEvents);
    expect(rotated.notices.forSubject(person(1).id, { relink: true })).toEqual([]);
    const db = rotated.db;
    for (const { table, column } of INDEX_KEYED_COLUMNS) {
      const values = db.prepare(`SELECT ${column} AS v FROM ${table} WHERE ${column} IS NOT NULL`).all() as Array<{ v: Buffer }>;
      for (const i of [1, 2, 9]) {
        expect(
          values.some(({ v }) => v.equals(subjectIndexUnder(oldIndexKey, person(i).id))),
          `${table}.${column}`,
        ).toBe(false);
      }
    }
    expect(db.prepare('SELECT count(*) AS n FROM grants WHERE subject_index = ?').get(subjectIndexUnder(newIndexKey, person(2).id))).toEqual({ n: 1 });
    // Rows that named someone no row names any more: the audit row stays without a person, the dismissal goes.
    expect(db.prepare("SELECT count(*) AS n FROM audit_events WHERE event = 'link_denied' AND subject_index IS NULL").get()).toEqual({ n: 1 });
    expect(db.prepare('SELECT count(*) AS n FROM notice_dismissals').get()).toEqual({ n: 1 });
    // Pending requests (their user code's HMAC cannot be recomputed) and sessions (signed with the old secret) are gone.
    expect(rotated.requests.findPendingByUserCode(pending.userCode)).toBeUndefined();
    expect(db.prepare('SELECT (SELECT count(*) FROM pending_requests) + (SELECT count(*) FROM sessions) AS n').get()).toEqual({ n: 0 });
    // The cookie and CSRF secrets changed with it.
    expect(rotated.deriveSecret('session-cookie').equals(derive(oldIndexKey, 'session-cookie'))).toBe(false);
    rotated.close();

    // The old index key is in no meta value and its old row nowhere in the file; the derived keys
    // that outlive it are only the access-token MAC key, until the longest access-token grace ends.
    const file = readFileSync(join(dataDir, DATABASE_FILE));
    expect(file.includes(Buffer.from(oldCheckRow))).toBe(false);
    const values = metaValues(dataDir, [keyB, keyA]);
    const oldSecrets = [oldIndexKey, derive(oldIndexKey, 'refresh-token-mac'), derive(oldIndexKey, 'session-cookie'), derive(oldIndexKey, 'csrf')];
    for (const secret of oldSecrets) expect(values.some((value) => value.includes(secret.toString('base64')))).toBe(false);
    expect(values.some((value) => value.includes(derive(oldIndexKey, 'access-token-mac').toString('base64')))).toBe(true);

    time.advance(24 * 60 * MINUTE);
    const later = track(Store.open({ dataDir, encryptionKeys: [keyB, keyA], now: time.now }));
    expect(later.rotation).toBeUndefined();
    later.prune();
    later.close();
    const remaining = metaValues(dataDir, [keyB, keyA]);
    expect(remaining.some((value) => value.includes(derive(oldIndexKey, 'access-token-mac').toString('base64')))).toBe(false);
    expect(stolenIndexKey(dataDir, keyB).equals(newIndexKey)).toBe(true);
  });

  it('gives access tokens issued before the rotation the rest of their lifetime, and nothing more', () => {
    const time = clock();
    const keyA = generateFernetKey();
    const keyB = generateFernetKey();
    const { store, dataDir } = openStore({ keys: [keyA], clock: time });
    const [alice, carol, dave] = [1, 3, 4].map((i) => link(store, person(i)).tokens);
    store.close();
    time.advance(10 * MINUTE);
    const rotated = track(Store.open({ dataDir, encryptionKeys: [keyB, keyA], now: time.now }));
    // Alexa's access token of before the rotation works for the rest of its hour: nobody is asked to link again meanwhile.
    expect(rotated.tokens.introspect(alice!.accessToken, LIFETIMES)?.grant.subject.id).toBe(person(1).id);
    // Revoking its link ends it, as any other token; so does revoking it on its own (RFC 7009).
    expect(rotated.ops.revokeAllLinks(person(3).id)).toHaveLength(1);
    expect(rotated.tokens.introspect(carol!.accessToken, LIFETIMES)).toBeUndefined();
    expect(rotated.tokens.revoke(dave!.accessToken, CLIENT_ID)).toMatchObject({ kind: 'access' });
    expect(rotated.tokens.introspect(dave!.accessToken, LIFETIMES)).toBeUndefined();
    // The grace is the token's own lifetime, bounded by access_token_ttl_minutes as it is set now.
    time.advance(TTL_MS - 10 * MINUTE - 1);
    expect(rotated.tokens.introspect(alice!.accessToken, LIFETIMES)).toBeDefined();
    expect(rotated.tokens.introspect(alice!.accessToken, { accessTokenTtlSeconds: LIFETIMES.accessTokenTtlSeconds / 2 })).toBeUndefined();
    time.advance(1);
    expect(rotated.tokens.introspect(alice!.accessToken, LIFETIMES)).toBeUndefined();
  });

  it('a second open with the same keys rotates nothing, and the first key alone opens it afterwards', () => {
    const keyA = generateFernetKey();
    const keyB = generateFernetKey();
    const { store, dataDir } = openStore({ keys: [keyA] });
    link(store, person(1));
    store.close();
    const first = track(Store.open({ dataDir, encryptionKeys: [keyB, keyA] }));
    const second = track(Store.open({ dataDir, encryptionKeys: [keyB, keyA] }));
    expect(first.rotation).toBeDefined();
    expect(second.rotation).toBeUndefined();
    expect(second.deriveSecret('access-token-mac').equals(first.deriveSecret('access-token-mac'))).toBe(true);
    first.reencrypt();
    first.close();
    second.close();
    const onlyB = track(Store.open({ dataDir, encryptionKeys: [keyB] }));
    expect(onlyB.rotation).toBeUndefined();
    expect(onlyB.grants.listForSubject(person(1).id)).toHaveLength(1);
  });

  it('every keyed column of the schema is listed for the rotation', () => {
    const db = new Database(':memory:');
    for (const migration of MIGRATIONS) db.exec(migration);
    const tables = db.prepare<[], { name: string }>("SELECT name FROM sqlite_master WHERE type = 'table'").all();
    const keyed = tables.flatMap(({ name }) =>
      (db.pragma(`table_info(${name})`) as Array<{ name: string }>)
        .filter((column) => /_(index|key)$/.test(column.name))
        .map((column) => `${name}.${column.name}`),
    );
    db.close();
    expect(keyed.length).toBeGreaterThan(0);
    expect(INDEX_KEYED_COLUMNS.map(({ table, column }) => `${table}.${column}`).sort()).toEqual(keyed.sort());
  });
});

describe('over HTTP, as the add-on runs it', () => {
  it('after the change of key, the 2100 token is inactive, links refresh, and rotate-key finishes the move', async () => {
    const keyA = generateFernetKey();
    const keyB = generateFernetKey();
    const dataDir = tempDir();
    const first = await startTestServer({ encryption_key: keyA }, dataDir);
    const linked = [await linkOverHttp(first, person(1)), await linkOverHttp(first, person(2))];
    const grantId = first.app.store.grants.listForSubject(person(1).id)[0]!.id;
    await first.close();

    const oldAccessKey = derive(stolenIndexKey(dataDir, keyA), 'access-token-mac');
    const rotating = await startTestServer({ encryption_key: keyB, previous_encryption_keys: [keyA] }, dataDir);
    try {
      expect(rotating.lines.some((line) => line.includes('new index key'))).toBe(true);
      const forged = sealAccess(oldAccessKey, { grantId, issuedAt: Date.now(), expiresAt: YEAR_2100 });
      expect((await introspect(rotating, forged, RS_SECRET)).json).toEqual({ active: false });
      const current = sealAccess(oldAccessKey, { grantId, issuedAt: Date.now(), expiresAt: Date.now() + TTL_MS });
      expect((await introspect(rotating, current, RS_SECRET)).json).toEqual({ active: false });
      for (const [i, tokens] of linked.entries()) {
        const answer = await refreshOverHttp(rotating, tokens.refreshToken);
        expect(answer.status).toBe(200);
        expect((await introspect(rotating, answer.json!.access_token as string, RS_SECRET)).json).toMatchObject({ active: true, sub: person(i + 1).id });
      }
      await rotating.app.reencryption;
    } finally {
      await rotating.close();
    }

    // The CLI on the stopped add-on: nothing left to rotate, nothing left to move.
    writeFileSync(
      join(dataDir, 'options.json'),
      JSON.stringify({
        encryption_key: keyB,
        previous_encryption_keys: [keyA],
        public_url: 'https://alexa.example.net',
        alexa_client_id: CLIENT_ID,
        alexa_client_secret: CLIENT_SECRET,
        alexa_vendor_id: VENDOR_ID,
      }),
    );
    const cli = spawnSync(process.execPath, [new URL('../dist/cli.js', import.meta.url).pathname, 'rotate-key'], {
      env: { PATH: process.env.PATH ?? '', DATA_DIR: dataDir },
      encoding: 'utf8',
    });
    expect(cli.status).toBe(0);
    expect(cli.stdout).toContain('0 values re-encrypted');
    expect(cli.stdout).not.toContain('new index key');
    // The snapshot written after the move holds nothing the old key opens.
    const snapshot = new Database(join(dataDir, 'alexa-link-backup.db'), { readonly: true });
    try {
      const row = snapshot.prepare<[], { value: string }>("SELECT value FROM meta WHERE name = 'index_key'").get()!;
      expect(new KeyRing([keyB, keyA]).open(row.value).keyIndex).toBe(0);
    } finally {
      snapshot.close();
    }
  });

  it('rotate-key on a stopped add-on makes the new index key itself and says so', () => {
    const keyA = generateFernetKey();
    const keyB = generateFernetKey();
    const { store, dataDir } = openStore({ keys: [keyA] });
    const tokens = link(store, person(1)).tokens;
    store.close();
    const oldIndexKey = stolenIndexKey(dataDir, keyA);
    writeFileSync(
      join(dataDir, 'options.json'),
      JSON.stringify({
        encryption_key: keyB,
        previous_encryption_keys: [keyA],
        public_url: 'https://alexa.example.net',
        alexa_client_id: CLIENT_ID,
        alexa_client_secret: CLIENT_SECRET,
        alexa_vendor_id: VENDOR_ID,
      }),
    );
    const cli = spawnSync(process.execPath, [new URL('../dist/cli.js', import.meta.url).pathname, 'rotate-key'], {
      env: { PATH: process.env.PATH ?? '', DATA_DIR: dataDir },
      encoding: 'utf8',
    });
    expect(cli.status).toBe(0);
    expect(cli.stdout).toContain('new index key');
    expect(stolenIndexKey(dataDir, keyB).equals(oldIndexKey)).toBe(false);
    const after = track(Store.open({ dataDir, encryptionKeys: [keyB] }));
    expect(after.tokens.refresh(tokens.refreshToken, CLIENT_ID, LIFETIMES).status).toBe('ok');
  });
});
