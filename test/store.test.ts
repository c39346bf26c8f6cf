import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type session from 'express-session';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { TUNABLES } from '../src/config/tunables.js';
import { generateFernetKey } from '../src/crypto/fernet.js';
import { formatUserCode, USER_CODE_ALPHABET, USER_CODE_LENGTH } from '../src/crypto/user-code.js';
import { StartupError } from '../src/errors.js';
import { DATABASE_FILE, Store } from '../src/store/index.js';
import { MIGRATIONS } from '../src/store/schema.js';
import { keyThatOpens } from './helpers/audit.js';
import { grantFromCode, issueCode } from './helpers/fixtures.js';
import { race } from './helpers/race.js';
import { requestInput } from './helpers/requests.js';
import { CLIENT_ID, clock, LIFETIMES, link, openStore } from './helpers/store.js';
import { claimsOf, successorCount } from './helpers/tokens.js';

const ALICE = { id: '8f14e45fceea167a5a36dedd4bea2543', name: 'alice', displayName: 'Alice Zoë Household' };
const BOB = { id: 'c9f0f895fb98ab9159f51fd0297e236d', name: 'bob', displayName: 'Bob Second' };

const sha256 = (file: string): string => createHash('sha256').update(readFileSync(file)).digest('hex');

const open: Store[] = [];
afterEach(() => {
  for (const store of open.splice(0)) store.close();
});
function track<T extends { store: Store }>(opened: T): T {
  open.push(opened.store);
  return opened;
}

describe('store: durability', () => {
  it('finds every row again after close and reopen', () => {
    const { store, dataDir, keys } = openStore();
    const linked = link(store, ALICE);
    const pending = store.requests.create(requestInput({ state: 'abc=', requester: { ip: '198.51.100.1', userAgent: 'UA' } }));
    store.audit.record('link_approved', { grantId: linked.tokens.grant.id, subjectId: ALICE.id, details: { ip: '192.0.2.10' } });
    store.sessions.set('sid-1', {
      cookie: { originalMaxAge: 60_000, expires: new Date(Date.now() + 60_000) } as session.Cookie,
      requestId: pending.requestId,
    } as session.SessionData);
    store.close();

    const reopened = track(openStore({ dataDir, keys })).store;
    expect(reopened.grants.listForSubject(ALICE.id).map((grant) => grant.id)).toEqual([linked.tokens.grant.id]);
    expect(reopened.tokens.introspect(linked.tokens.accessToken, LIFETIMES)?.grant.subject).toEqual(ALICE);
    expect(reopened.tokens.refresh(linked.tokens.refreshToken, CLIENT_ID, LIFETIMES).status).toBe('ok');
    expect(reopened.requests.findPendingByUserCode(pending.userCode)?.state).toBe('abc=');
    expect(reopened.audit.listForSubject(ALICE.id, { limit: 10 })[0]).toMatchObject({ event: 'link_approved', details: { ip: '192.0.2.10' } });
    let sessionData: unknown;
    reopened.sessions.get('sid-1', (_error, data) => (sessionData = data));
    expect(sessionData).toMatchObject({ requestId: pending.requestId });
  });

  it('uses WAL, synchronous=FULL, a busy timeout, foreign keys, and records the schema version', () => {
    const { store } = track(openStore());
    expect(store.db.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(store.db.pragma('synchronous', { simple: true })).toBe(2);
    expect(store.db.pragma('busy_timeout', { simple: true })).toBe(5000);
    expect(store.db.pragma('foreign_keys', { simple: true })).toBe(1);
    expect(store.db.pragma('user_version', { simple: true })).toBe(MIGRATIONS.length);
    expect(store.integrityCheck()).toEqual(['ok']);
  });

  it('closes cleanly: the WAL is checkpointed away', () => {
    const { store, dataDir } = openStore();
    link(store, ALICE);
    store.close();
    expect(existsSync(join(dataDir, `${DATABASE_FILE}-wal`))).toBe(false);
  });
});

describe('store: keys', () => {
  it('refuses a database no configured key opens, with a clear error, leaving the file byte-for-byte unchanged', () => {
    const { store, dataDir } = openStore();
    link(store, ALICE);
    store.close();
    const file = join(dataDir, DATABASE_FILE);
    const before = sha256(file);

    let error: unknown;
    try {
      Store.open({ dataDir, encryptionKeys: [generateFernetKey(), generateFernetKey()] });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(StartupError);
    expect((error as Error).message).toMatch(/None of the 2 configured encryption key\(s\) opens the database .*previous_encryption_keys.*Nothing was changed/);
    expect(sha256(file)).toBe(before);
    // Nothing was written beside it either: a -wal SQLite may have created is empty.
    const wal = join(dataDir, `${DATABASE_FILE}-wal`);
    expect(existsSync(wal) ? readFileSync(wal).length : 0).toBe(0);
  });

  it('opens with the old key kept as a previous key, and re-encrypts every value under the new one', () => {
    const oldKey = generateFernetKey();
    const { store, dataDir } = openStore({ keys: [oldKey] });
    const linked = link(store, ALICE);
    store.audit.record('grant_created', { subjectId: ALICE.id, details: { name: 'alice' } });
    store.close();

    const newKey = generateFernetKey();
    expect(keyThatOpens(dataDir, [newKey, oldKey])).toBe(1);
    const rotated = Store.open({ dataDir, encryptionKeys: [newKey, oldKey] });
    const before = rotated.keyUsage();
    expect(before.perKey[1]).toBeGreaterThan(0);
    const progress: string[] = [];
    const result = rotated.reencrypt({ batchSize: 1, onProgress: (p) => progress.push(p.table) });
    expect(result.reencrypted).toBe(before.perKey[1]);
    expect(progress).toContain('grants');
    expect(rotated.keyUsage()).toEqual({ perKey: [before.perKey[0]! + before.perKey[1]!, 0], unreadable: 0 });
    // A second pass finds nothing left to move.
    expect(rotated.reencrypt().reencrypted).toBe(0);
    rotated.close();

    const newOnly = track({ store: Store.open({ dataDir, encryptionKeys: [newKey] }) }).store;
    expect(newOnly.tokens.introspect(linked.tokens.accessToken, LIFETIMES)?.grant.subject).toEqual(ALICE);
    expect(newOnly.grants.listForSubject(ALICE.id)).toHaveLength(1);
  });

  it('refuses a database from a newer schema without touching it', () => {
    const { store, dataDir, keys } = openStore();
    store.db.pragma('user_version = 99');
    store.close();
    const before = sha256(join(dataDir, DATABASE_FILE));
    expect(() => Store.open({ dataDir, encryptionKeys: keys })).toThrow(/newer version/);
    expect(sha256(join(dataDir, DATABASE_FILE))).toBe(before);
  });
});

describe('store: nothing identifying or secret in clear on disk', () => {
  it('shows no token, code, user name, id, IP, user agent, state or session secret in the database file or its WAL', () => {
    const { store, dataDir } = openStore();
    const ua = 'Mozilla/5.0 (AlexaApp; SecretPhone 12)';
    const linked = link(store, ALICE, { ip: '203.0.113.77', userAgent: ua });
    const refreshed = store.tokens.refresh(linked.tokens.refreshToken, CLIENT_ID, LIFETIMES);
    if (refreshed.status !== 'ok') throw new Error('refresh failed');
    const bobLink = link(store, BOB, { ip: '2001:db8::beef', userAgent: ua });
    const waiting = store.requests.create(requestInput({ state: 'alexa-state-VALUE-123', requester: { ip: '198.51.100.23', userAgent: ua } }));
    store.audit.record('client_auth_failed', { details: { ip: '198.51.100.99', userAgent: ua, displayName: ALICE.displayName } });
    const sessionSecret = 'session-marker-3f9a1c';
    store.sessions.set('the-session-id-value-abcdef0123456789', {
      cookie: { originalMaxAge: 1000, expires: new Date(Date.now() + 60_000) } as session.Cookie,
      marker: sessionSecret,
    } as unknown as session.SessionData);

    const secrets = [
      linked.tokens.accessToken,
      linked.tokens.refreshToken,
      linked.code,
      refreshed.tokens.accessToken,
      refreshed.tokens.refreshToken,
      bobLink.tokens.accessToken,
      bobLink.tokens.refreshToken,
      bobLink.code,
      waiting.requestId,
      waiting.userCode,
      formatUserCode(waiting.userCode),
      ALICE.id,
      ALICE.name === 'alice' ? 'alice' : '',
      ALICE.displayName,
      BOB.id,
      BOB.displayName,
      '203.0.113.77',
      '2001:db8::beef',
      '198.51.100.23',
      '198.51.100.99',
      'SecretPhone',
      'alexa-state-VALUE-123',
      sessionSecret,
      'the-session-id-value-abcdef0123456789',
    ];
    const files = [DATABASE_FILE, `${DATABASE_FILE}-wal`].map((name) => join(dataDir, name));
    expect(existsSync(files[1]!)).toBe(true);
    const scan = (): string[] => {
      const bytes = Buffer.concat(files.filter(existsSync).map((file) => readFileSync(file)));
      return secrets.filter((secret) => bytes.includes(Buffer.from(secret, 'utf8')) || bytes.includes(Buffer.from(secret, 'utf16le')));
    };
    // The scanner itself works: the client id, stored in clear by design, is found.
    expect(Buffer.concat(files.map((file) => readFileSync(file))).includes(Buffer.from(CLIENT_ID))).toBe(true);
    expect(scan()).toEqual([]);
    store.close();
    expect(scan()).toEqual([]);
  });
});

describe('store: single-use operations under real concurrency (separate processes)', () => {
  it('of 8 processes redeeming one code at the same moment, exactly one succeeds and the rest see a replay', async () => {
    const { store, dataDir, keys } = openStore();
    const { code } = issueCode(store, ALICE, { codeChallenge: undefined });
    store.close();
    const outcomes = await race(8, [dataDir, keys[0]!, 'redeem', code]);
    expect(outcomes.filter((outcome) => outcome === 'ok')).toHaveLength(1);
    expect(outcomes.filter((outcome) => outcome === 'replayed')).toHaveLength(7);
  });

  it('of 8 processes releasing one approved request, exactly one gets a code', async () => {
    const { store, dataDir, keys } = openStore();
    const request = store.requests.create(requestInput());
    store.requests.decide(store.requests.findPendingByUserCode(request.userCode)!.handle, 'approved', ALICE);
    store.close();
    const outcomes = await race(8, [dataDir, keys[0]!, 'release', request.requestId]);
    expect(outcomes.filter((outcome) => outcome === 'ok')).toHaveLength(1);
    expect(outcomes.filter((outcome) => outcome === 'none')).toHaveLength(7);
  });

  it('a refresh token raced after its successor was used: every racer is refused and the grant is revoked, never a second lineage', async () => {
    const { store, dataDir, keys } = openStore();
    const linked = link(store, ALICE);
    const first = store.tokens.refresh(linked.tokens.refreshToken, CLIENT_ID, LIFETIMES);
    if (first.status !== 'ok') throw new Error('refresh failed');
    expect(store.tokens.refresh(first.tokens.refreshToken, CLIENT_ID, LIFETIMES).status).toBe('ok');
    store.close();
    const outcomes = await race(8, [dataDir, keys[0]!, 'refresh', linked.tokens.refreshToken, CLIENT_ID]);
    expect(outcomes.filter((outcome) => outcome === 'ok')).toHaveLength(0);
    expect(outcomes.filter((outcome) => outcome === 'reuse').length).toBeGreaterThanOrEqual(1);
    const reopened = track(openStore({ dataDir, keys })).store;
    expect(reopened.grants.get(linked.tokens.grant.id)?.revokedReason).toBe('refresh_reuse');
  });

  it('racing one unconfirmed refresh token (8 processes at one moment): exactly one rotates it, the others are told to try again', async () => {
    const time = clock();
    const { store, dataDir, keys } = openStore({ clock: time });
    const linked = link(store, ALICE);
    store.close();
    // Every racer's clock stands at the same moment: all of them are within the repeat window of the winner.
    const outcomes = await race(8, [dataDir, keys[0]!, 'refresh', linked.tokens.refreshToken, CLIENT_ID, String(time.now())]);
    expect(outcomes.filter((outcome) => outcome === 'ok')).toHaveLength(1);
    expect(outcomes.filter((outcome) => outcome === 'repeat')).toHaveLength(7);
    const reopened = track(openStore({ dataDir, keys, clock: time })).store;
    expect(successorCount(reopened.db, linked.tokens.refreshToken)).toBe(1);
    // Nothing was revoked: the token still rotates once the window has passed (a retry after a lost answer).
    time.advance(TUNABLES.oauth.refreshRepeatSeconds * 1000);
    expect(reopened.tokens.refresh(linked.tokens.refreshToken, CLIENT_ID, LIFETIMES).status).toBe('ok');
  });

  it('racing the confirmation (8 processes, each with another successor of one token): exactly one succeeds, and the grant is revoked', async () => {
    const time = clock();
    const { store, dataDir, keys } = openStore({ clock: time });
    const linked = link(store, ALICE);
    // Eight presentations of the unconfirmed token, each after the repeat window: eight sibling successors.
    const successors = Array.from({ length: 8 }, () => {
      time.advance(TUNABLES.oauth.refreshRepeatSeconds * 1000);
      const outcome = store.tokens.refresh(linked.tokens.refreshToken, CLIENT_ID, LIFETIMES);
      if (outcome.status !== 'ok') throw new Error('setup refresh failed');
      return outcome.tokens.refreshToken;
    });
    store.close();
    const outcomes = await race(8, (racer) => [dataDir, keys[0]!, 'refresh', successors[racer]!, CLIENT_ID, String(time.now())]);
    // The first use of any successor retires the parent and every sibling in the same transaction.
    expect(outcomes.filter((outcome) => outcome === 'ok')).toHaveLength(1);
    // A second lineage presented afterwards is reuse: the grant is revoked, so the rest are refused.
    expect(outcomes.filter((outcome) => outcome === 'reuse')).toHaveLength(1);
    expect(outcomes.filter((outcome) => outcome === 'invalid')).toHaveLength(6);
    const reopened = track(openStore({ dataDir, keys })).store;
    expect(reopened.grants.get(linked.tokens.grant.id)?.revokedReason).toBe('refresh_reuse');
  });
});

describe('store: refresh rotation with successor confirmation', () => {
  it('keeps the old token valid until its successor is used, then treats it as reuse and revokes the grant', () => {
    const time = clock();
    const { store } = track(openStore({ clock: time }));
    const { tokens } = link(store, ALICE);
    const r1 = store.tokens.refresh(tokens.refreshToken, CLIENT_ID, LIFETIMES);
    // Lost response: the client retries with the token it still has (after the repeat window).
    time.advance(TUNABLES.oauth.refreshRepeatSeconds * 1000);
    const r1again = store.tokens.refresh(tokens.refreshToken, CLIENT_ID, LIFETIMES);
    expect([r1.status, r1again.status]).toEqual(['ok', 'ok']);
    if (r1again.status !== 'ok' || r1.status !== 'ok') throw new Error('unreachable: both were asserted ok above');
    // The successor the client did receive is used: that confirms it and retires the parent and the other successor.
    const r2 = store.tokens.refresh(r1again.tokens.refreshToken, CLIENT_ID, LIFETIMES);
    expect(r2.status).toBe('ok');
    // Confirmed: the other successor of the same parent is now retired, so presenting it is reuse.
    expect(store.tokens.refresh(r1.tokens.refreshToken, CLIENT_ID, LIFETIMES).status).toBe('reuse');
    expect(store.grants.get(tokens.grant.id)?.revokedReason).toBe('refresh_reuse');
    if (r2.status !== 'ok') throw new Error('unreachable: asserted ok above');
    expect(store.tokens.refresh(r2.tokens.refreshToken, CLIENT_ID, LIFETIMES)).toEqual({ status: 'invalid', reason: 'revoked' });
    expect(store.tokens.introspect(r2.tokens.accessToken, LIFETIMES)).toBeUndefined();
  });

  it('a token presented again within the repeat window is not rotated: repeat, with the time left; nothing changes', () => {
    const time = clock();
    const { store } = track(openStore({ clock: time }));
    const { tokens } = link(store, ALICE);
    const window = TUNABLES.oauth.refreshRepeatSeconds * 1000;
    expect(store.tokens.refresh(tokens.refreshToken, CLIENT_ID, LIFETIMES).status).toBe('ok');
    const childCount = () => successorCount(store.db, tokens.refreshToken);
    expect(store.tokens.refresh(tokens.refreshToken, CLIENT_ID, LIFETIMES)).toMatchObject({ status: 'repeat', retryAfterMs: window });
    time.advance(window - 500);
    expect(store.tokens.refresh(tokens.refreshToken, CLIENT_ID, LIFETIMES)).toMatchObject({ status: 'repeat', retryAfterMs: 500 });
    expect(childCount()).toBe(1);
    time.advance(500);
    expect(store.tokens.refresh(tokens.refreshToken, CLIENT_ID, LIFETIMES).status).toBe('ok');
    expect(childCount()).toBe(2);
    // A clock set back must not hold the token for the length of the jump.
    time.advance(-3_600_000);
    expect(store.tokens.refresh(tokens.refreshToken, CLIENT_ID, LIFETIMES).status).toBe('ok');
    expect(store.grants.get(tokens.grant.id)?.revokedAt).toBeUndefined();
  });

  it('a retired token is reuse even inside the repeat window', () => {
    const { store } = track(openStore({ clock: clock() }));
    const { tokens } = link(store, ALICE);
    const first = store.tokens.refresh(tokens.refreshToken, CLIENT_ID, LIFETIMES);
    if (first.status !== 'ok') throw new Error('refresh failed');
    expect(store.tokens.refresh(first.tokens.refreshToken, CLIENT_ID, LIFETIMES).status).toBe('ok');
    expect(store.tokens.refresh(tokens.refreshToken, CLIENT_ID, LIFETIMES).status).toBe('reuse');
    expect(store.grants.get(tokens.grant.id)?.revokedReason).toBe('refresh_reuse');
  });

  it('refuses a refresh token presented by another client', () => {
    const { store } = track(openStore());
    const { tokens } = link(store, ALICE);
    expect(store.tokens.refresh(tokens.refreshToken, 'other-client', LIFETIMES)).toEqual({ status: 'invalid', reason: 'unknown' });
  });

  it('expires refresh tokens after the idle time, and access tokens after their TTL', () => {
    const time = clock();
    const { store } = track(openStore({ clock: time }));
    const { tokens } = link(store, ALICE);
    time.advance(LIFETIMES.accessTokenTtlSeconds * 1000);
    expect(store.tokens.introspect(tokens.accessToken, LIFETIMES)).toBeUndefined();
    time.advance(LIFETIMES.refreshTokenIdleSeconds * 1000);
    expect(store.tokens.refresh(tokens.refreshToken, CLIENT_ID, LIFETIMES)).toEqual({ status: 'invalid', reason: 'expired' });
  });

  it('a code expires after its lifetime', () => {
    const time = clock();
    const { store } = track(openStore({ clock: time }));
    const { code } = issueCode(store, ALICE, { codeChallenge: undefined });
    time.advance(60_000);
    expect(store.codes.redeem(code)).toEqual({ status: 'invalid' });
  });

  it('an absolute lifetime ends the grant however recently it was used', () => {
    const time = clock();
    const { store } = track(openStore({ clock: time }));
    const { code } = issueCode(store, ALICE, { codeChallenge: undefined });
    const redeemed = store.codes.redeem(code);
    if (redeemed.status !== 'ok') throw new Error('redeem failed');
    let tokens = grantFromCode(store, redeemed.code, LIFETIMES, 2 * 86_400);
    for (let hour = 0; hour < 47; hour++) {
      time.advance(3_600_000);
      const next = store.tokens.refresh(tokens.refreshToken, CLIENT_ID, LIFETIMES);
      if (next.status !== 'ok') throw new Error(`refresh failed at hour ${hour}`);
      tokens = next.tokens;
      // Nothing issued outlives the grant.
      expect(tokens.refreshExpiresAt).toBeLessThanOrEqual(tokens.grant.expiresAt!);
    }
    time.advance(3_600_000);
    expect(store.tokens.refresh(tokens.refreshToken, CLIENT_ID, LIFETIMES)).toEqual({ status: 'invalid', reason: 'expired' });
  });

  it('a replayed code reports the grant it produced, so that grant can be revoked', () => {
    const { store } = track(openStore());
    const { code, tokens } = link(store, ALICE);
    expect(store.codes.redeem(code)).toEqual({ status: 'replayed', grantId: tokens.grant.id });
    expect(store.codes.redeem('no-such-code')).toEqual({ status: 'invalid' });
  });

  it('gives two HA users two different subjects', () => {
    const { store } = track(openStore());
    const a = link(store, ALICE);
    const b = link(store, BOB);
    expect(store.tokens.introspect(a.tokens.accessToken, LIFETIMES)?.grant.subject.id).toBe(ALICE.id);
    expect(store.tokens.introspect(b.tokens.accessToken, LIFETIMES)?.grant.subject.id).toBe(BOB.id);
    expect(store.grants.listForSubject(ALICE.id).map((grant) => grant.id)).toEqual([a.tokens.grant.id]);
  });
});

describe('store: pending requests', () => {
  it('is decided once, by code, only while pending and unexpired', () => {
    const time = clock();
    const { store } = track(openStore({ clock: time }));
    const create = () => store.requests.create(requestInput());
    const request = create();
    expect(request.userCode).toMatch(new RegExp(`^[${USER_CODE_ALPHABET}]{${USER_CODE_LENGTH}}$`));
    const handle = store.requests.findPendingByUserCode(request.userCode)!.handle;
    expect(store.requests.release(request.requestId, 60)).toBeUndefined();
    expect(store.requests.decide(handle, 'denied', ALICE)).toBe(true);
    expect(store.requests.decide(handle, 'approved', ALICE)).toBe(false);
    expect(store.requests.get(request.requestId)?.status).toBe('denied');
    expect(store.requests.release(request.requestId, 60)).toBeUndefined();
    expect(store.requests.decide('not-a-handle', 'approved', ALICE)).toBe(false);

    const late = create();
    time.advance(600_000);
    expect(store.requests.findPendingByUserCode(late.userCode)).toBeUndefined();
  });
});

describe('store: pruning', () => {
  it('deletes expired rows and keeps live ones; runs on a timer', () => {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
    try {
      const time = clock();
      const { store } = track(openStore({ clock: time }));
      const old = link(store, ALICE);
      store.sessions.set('old-session', { cookie: { originalMaxAge: 1000, expires: new Date(time.now() + 1000) } as session.Cookie } as session.SessionData);
      time.advance(181 * 86_400_000);
      const fresh = link(store, BOB);
      store.startPruning(600, (error) => {
        throw error;
      });
      // One live refresh token per link (access tokens are no rows).
      const countTokens = () => (store.db.prepare('SELECT count(*) AS n FROM refresh_tokens').get() as { n: number }).n;
      expect(countTokens()).toBe(2);
      vi.advanceTimersByTime(600_000);
      expect(countTokens()).toBe(1);
      expect(store.tokens.introspect(fresh.tokens.accessToken, LIFETIMES)).toBeDefined();
      expect(store.db.prepare('SELECT count(*) AS n FROM sessions').get()).toEqual({ n: 0 });
      expect(store.requests.get(old.request.requestId)).toBeUndefined();
      expect(store.requests.get(fresh.request.requestId)).toBeDefined();
      // A grant whose tokens all expired is marked ended and stays visible (history) until the retention period ends.
      expect(store.grants.get(old.tokens.grant.id)?.revokedReason).toBe('expired');
      expect(store.grants.get(fresh.tokens.grant.id)?.revokedAt).toBeUndefined();
      time.advance(91 * 86_400_000);
      vi.advanceTimersByTime(600_000);
      expect(store.grants.get(old.tokens.grant.id)).toBeUndefined();
    } finally {
      vi.useRealTimers();
    }
  });
});

describe('store: the database grows with links, not with refreshes (token generations)', () => {
  const HOUR = 3_600_000;
  const person = (i: number) => ({ id: i.toString(16).padStart(32, 'f'), name: `person${i}` });
  /**
   * What the database takes on disk after a clean stop: the main file, which after the checkpoint
   * is page_count × page_size, and the WAL if one were left (close() removes it).
   */
  const bytesOnDisk = (dataDir: string): number => {
    const file = join(dataDir, DATABASE_FILE);
    const wal = `${file}-wal`;
    return statSync(file).size + (existsSync(wal) ? statSync(wal).size : 0);
  };

  it('1,000 refreshes (10 links × 100, an hour apart) keep at most 64 bytes each, measured after a clean stop', async () => {
    const time = clock();
    const { store, dataDir, keys } = openStore({ clock: time });
    const lineages = Array.from({ length: 10 }, (_, i) => link(store, person(i)).tokens.refreshToken);
    store.close();
    const before = bytesOnDisk(dataDir);

    const reopened = openStore({ dataDir, keys, clock: time }).store;
    try {
      for (let round = 1; round <= 100; round++) {
        time.advance(HOUR);
        for (const [i, token] of lineages.entries()) {
          // As the /token handler does: the rotation and its audit (one summary row per link and day).
          const outcome = await reopened.ops.refresh({ token, clientId: CLIENT_ID, lifetimes: LIFETIMES, origin: { ip: '192.0.2.1' } });
          if (outcome.status !== 'ok') throw new Error(`refresh failed in round ${round}: ${outcome.status}`);
          lineages[i] = outcome.tokens.refreshToken;
        }
        if (round % 24 === 0) reopened.prune();
      }
      // Live rows per link: the newest used token and its one successor.
      expect(reopened.db.prepare('SELECT count(*) AS n FROM refresh_tokens').get()).toEqual({ n: 20 });
    } finally {
      reopened.close();
    }
    const perRefresh = (bytesOnDisk(dataDir) - before) / 1000;
    expect(existsSync(join(dataDir, `${DATABASE_FILE}-wal`))).toBe(false);
    expect(perRefresh, `${perRefresh.toFixed(1)} bytes kept per refresh`).toBeLessThanOrEqual(64);
  });

  it('a refresh token retired in the first month of a year of hourly rotations and daily prunes is still recognised: reuse, and the grant is revoked', () => {
    const time = clock();
    const { store } = track(openStore({ clock: time }));
    // As the bench's simulated year: only when bytes reach the disk changes, not which.
    store.db.pragma('synchronous = OFF');
    const linked = link(store, ALICE);
    const other = link(store, BOB);
    let current = linked.tokens.refreshToken;
    let otherCurrent = other.tokens.refreshToken;
    let monthOne: string | undefined;
    for (let hour = 1; hour <= 365 * 24; hour++) {
      time.advance(HOUR);
      const outcome = store.tokens.refresh(current, CLIENT_ID, LIFETIMES);
      const otherOutcome = store.tokens.refresh(otherCurrent, CLIENT_ID, LIFETIMES);
      if (outcome.status !== 'ok' || otherOutcome.status !== 'ok') throw new Error(`refresh failed at hour ${hour}`);
      // A token handed out on day 15, retired an hour later when its successor was used.
      if (hour === 15 * 24) monthOne = outcome.tokens.refreshToken;
      current = outcome.tokens.refreshToken;
      otherCurrent = otherOutcome.tokens.refreshToken;
      if (hour % 24 === 0) store.prune();
    }
    // Two live rows per link after 8,760 rotations each.
    expect(store.db.prepare('SELECT count(*) AS n FROM refresh_tokens WHERE grant_id = ?').get(linked.tokens.grant.id)).toEqual({ n: 2 });
    const outcome = store.tokens.refresh(monthOne!, CLIENT_ID, LIFETIMES);
    expect(outcome.status).toBe('reuse');
    expect(store.grants.get(linked.tokens.grant.id)?.revokedReason).toBe('refresh_reuse');
    // The whole grant: its newest tokens too. The other link is untouched.
    expect(store.tokens.refresh(current, CLIENT_ID, LIFETIMES)).toEqual({ status: 'invalid', reason: 'revoked' });
    expect(store.tokens.refresh(otherCurrent, CLIENT_ID, LIFETIMES).status).toBe('ok');
  });

  it('a forged token in the right format but with a wrong MAC is unknown, never reuse, and revokes nothing', () => {
    const time = clock();
    const { store } = track(openStore({ clock: time }));
    const { tokens } = link(store, ALICE);
    const first = store.tokens.refresh(tokens.refreshToken, CLIENT_ID, LIFETIMES);
    if (first.status !== 'ok') throw new Error('refresh failed');
    const second = store.tokens.refresh(first.tokens.refreshToken, CLIENT_ID, LIFETIMES);
    if (second.status !== 'ok') throw new Error('refresh failed');
    // Generation 1 is confirmed: a real generation-0 token now is reuse. Forgeries of one must not be.
    const claims = claimsOf(tokens.refreshToken);
    expect(claims).toEqual({ grantId: tokens.grant.id, gen: 0 });
    const bytes = Buffer.from(tokens.refreshToken.slice(3), 'base64url');
    const forged = (mutate: (copy: Buffer) => void): string => {
      const copy = Buffer.from(bytes);
      mutate(copy);
      return `r1.${copy.toString('base64url')}`;
    };
    const forgeries = [
      // The retired token with one bit of its MAC flipped.
      forged((copy) => {
        copy[copy.length - 1]! ^= 1;
      }),
      // Its grant and an old generation, new random bytes, a guessed MAC.
      forged((copy) => {
        randomBytes(48).copy(copy, 20);
      }),
      // The retired token itself, re-encoded with different unused low bits (not the canonical encoding).
      `r1.${tokens.refreshToken.slice(3, -1)}${String.fromCharCode(tokens.refreshToken.at(-1)!.charCodeAt(0) ^ 1)}`,
    ];
    for (const token of forgeries) {
      expect(token).not.toBe(tokens.refreshToken);
      expect(store.tokens.refresh(token, CLIENT_ID, LIFETIMES)).toEqual({ status: 'invalid', reason: 'unknown' });
    }
    expect(store.grants.get(tokens.grant.id)?.revokedAt).toBeUndefined();
    // A forged access token is not active, a forged refresh token revokes nothing either.
    const access = Buffer.from(second.tokens.accessToken.slice(3), 'base64url');
    access[access.length - 1]! ^= 1;
    expect(store.tokens.introspect(`a1.${access.toString('base64url')}`, LIFETIMES)).toBeUndefined();
    expect(store.tokens.revoke(forgeries[0]!, CLIENT_ID)).toBeUndefined();
    expect(store.tokens.refresh(second.tokens.refreshToken, CLIENT_ID, LIFETIMES).status).toBe('ok');
    // The real retired token still is reuse.
    expect(store.tokens.refresh(tokens.refreshToken, CLIENT_ID, LIFETIMES).status).toBe('reuse');
  });

  it('an access token revoked on its own stays inactive until it expires; the list forgets it after that', () => {
    const time = clock();
    const { store } = track(openStore({ clock: time }));
    const { tokens } = link(store, ALICE);
    expect(store.tokens.revoke(tokens.accessToken, CLIENT_ID)).toMatchObject({ kind: 'access', grantId: tokens.grant.id });
    expect(store.tokens.introspect(tokens.accessToken, LIFETIMES)).toBeUndefined();
    expect(store.tokens.refresh(tokens.refreshToken, CLIENT_ID, LIFETIMES).status).toBe('ok');
    expect(store.db.prepare('SELECT count(*) AS n FROM revoked_access_tokens').get()).toEqual({ n: 1 });
    time.advance(LIFETIMES.accessTokenTtlSeconds * 1000);
    expect(store.prune().tokens).toBe(1);
    expect(store.db.prepare('SELECT count(*) AS n FROM revoked_access_tokens').get()).toEqual({ n: 0 });
    expect(store.tokens.introspect(tokens.accessToken, LIFETIMES)).toBeUndefined();
  });
});
