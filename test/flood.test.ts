/**
 * What strangers can make the database keep is bounded. A simulated flood through the store's own
 * operations (what the endpoints call once a request has passed the per-address limits), with a
 * stepped clock: 10,000 addresses each at its /authorize limit (30 per 10 minutes) with a session
 * per request, a renewal and a wrong client secret each, then 24 simulated hours in which the
 * bound on unseen requests keeps turning over, the audit summaries roll hourly and pruning runs
 * every 10 minutes as the server does. Every request of every address for a day would be 43
 * million inserts; the database cannot tell the hour of 300,000 from the hour of 1,000 once the
 * bound is full, so the first window carries the full volume and the rest keeps the bound churning.
 *
 * synchronous=OFF on this connection only (as the bench's simulated year): it changes when bytes
 * reach the disk, not which bytes or how many.
 */
import { statSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { TUNABLES } from '../src/config/tunables.js';
import { addressKey } from '../src/http/client-key.js';
import type { Store } from '../src/store/index.js';
import { CLIENT_ID, CODE_CHALLENGE, REDIRECT_URI, SCOPE } from './helpers/fixtures.js';
import { clock, openStore } from './helpers/store.js';

const MINUTE = 60_000;
const WINDOW = TUNABLES.limits.authorize.windowMs;

function sizeOf(store: Store): number {
  store.db.pragma('wal_checkpoint(TRUNCATE)');
  return statSync(store.file).size;
}

function address(n: number): string {
  // Half IPv4, half IPv6 /56 prefixes (each a different client to the limits).
  return n % 2 === 0 ? `198.18.${(n >> 8) & 0xff}.${n & 0xff}` : `2001:db8:${(n >> 8).toString(16)}:${((n & 0xff) << 8).toString(16)}::1`;
}

/** One /authorize as authorize.ts makes it: the request, its audit count and its session. */
function authorize(store: Store, ip: string, sid: string, userAgent = 'flood/1.0'): { requestId: string; userCode: string } {
  const created = store.ops.startLink({
    clientId: CLIENT_ID,
    redirectUri: REDIRECT_URI,
    scope: SCOPE,
    state: 'x'.repeat(64),
    codeChallenge: CODE_CHALLENGE,
    requester: { ip, userAgent },
    requesterKey: addressKey(ip),
    ttlSeconds: TUNABLES.oauth.pendingRequestTtlSeconds,
  });
  const expires = new Date(store.now() + TUNABLES.oauth.renewalWindowSeconds * 1000);
  store.sessions.set(sid, { cookie: { originalMaxAge: 1800_000, expires }, link: { requestId: created.requestId, userCode: created.userCode } } as never);
  return created;
}

describe('a flood of anonymous requests', () => {
  it('grows the database by at most 2 MiB over 24 simulated hours from 10,000 addresses, and a person still links', () => {
    const time = clock(Date.UTC(2026, 11, 1, 0, 0));
    const { store } = openStore({ clock: time });
    store.db.pragma('synchronous = OFF');
    const before = sizeOf(store);
    const ADDRESSES = 10_000;
    let sid = 0;

    // The first window at full volume: every address at its limit, one renewal and one wrong secret each.
    for (let round = 0; round < TUNABLES.limits.authorize.limit; round++) {
      store.transaction(() => {
        for (let n = 0; n < ADDRESSES; n++) {
          const created = authorize(store, address(n), `s${sid++}`);
          if (round === 0) {
            store.ops.renewLink(created.requestId, { ttlSeconds: 600, maxRenewals: 3, windowSeconds: 1800, minSeconds: 0 }, { ip: address(n) });
            store.audit.recordAnonymous('client_auth_failed', { ip: address(n), clientId: 'guess', path: '/token' });
          }
        }
      });
      time.advance(WINDOW / TUNABLES.limits.authorize.limit);
    }

    // A person asks in the middle of the flood; the flood goes on while they walk to Home Assistant.
    const person = authorize(store, '203.0.113.77', 'person', 'Mozilla/5.0 (Linux; Android 14; wv)');
    store.transaction(() => {
      for (let n = 0; n < 2 * TUNABLES.limits.maxUnseenRequests; n++) authorize(store, address(n), `s${sid++}`);
    });
    time.advance(3 * MINUTE);
    const seen = store.requests.findPendingByUserCode(person.userCode);
    expect(seen, 'the person’s request outlived the flood').toBeDefined();
    store.requests.markShown(seen!.handle);
    // Seen in the panel: the flood can no longer push it out.
    store.transaction(() => {
      for (let n = 0; n < 4 * TUNABLES.limits.maxUnseenRequests; n++) authorize(store, address(n), `s${sid++}`);
    });
    expect(store.ops.decideLink(seen!.handle, 'approved', { id: 'ha-person', name: 'person' })).toBe(true);
    const released = store.ops.releaseCode(person.requestId, 60, { ip: '203.0.113.77' });
    expect(released?.code).toBeDefined();
    let sessionData: unknown;
    store.sessions.get('person', (_error, data) => {
      sessionData = data;
    });
    expect(sessionData, 'the person’s session is kept with their request').toBeTruthy();

    // 24 hours: every 10 minutes the unseen requests turn over, and pruning runs.
    for (let window = 0; window < (24 * 60) / 10; window++) {
      store.transaction(() => {
        for (let n = 0; n < 1.2 * TUNABLES.limits.maxUnseenRequests; n++) {
          authorize(store, address((window * 997 + n) % ADDRESSES), `s${sid++}`);
          if (n % 10 === 0) store.audit.recordAnonymous('client_auth_failed', { ip: address(n), clientId: 'guess', path: '/token' });
        }
      });
      time.advance(WINDOW);
      store.prune();
    }

    const unseen = store.db.prepare("SELECT count(*) AS n FROM pending_requests WHERE status = 'pending' AND shown_at IS NULL").get() as { n: number };
    const sessions = store.db.prepare('SELECT count(*) AS n FROM sessions').get() as { n: number };
    const audit = store.db.prepare('SELECT count(*) AS n FROM audit_events').get() as { n: number };
    const grown = sizeOf(store) - before;
    console.info(`flood: ${sid} requests; database +${(grown / 1024).toFixed(0)} KiB; unseen ${unseen.n}, sessions ${sessions.n}, audit rows ${audit.n}`);
    expect(unseen.n).toBeLessThanOrEqual(TUNABLES.limits.maxUnseenRequests);
    expect(sessions.n).toBeLessThanOrEqual(TUNABLES.limits.maxUnseenRequests + 10);
    // Two anonymous events, one row each per hour, over 25 hours.
    expect(audit.n).toBeLessThanOrEqual(2 * 26 + 5);
    expect(grown).toBeLessThanOrEqual(2 * 1024 * 1024);
    store.close();
  }, 600_000);
});
