/**
 * A simulated year, in-process, with the store and an injected clock: 10 linked accounts, each
 * refreshing once an hour with the successor it got last time (what Alexa does while in use),
 * the refresh recorded in the audit log as the /token handler records it, and store.prune() once
 * a simulated day (the server prunes every 10 minutes; for what is kept that is the same).
 *
 * synchronous=OFF on this connection only, so that 87,600 commits take seconds rather than
 * minutes of fsync; it changes when bytes reach the disk, not which bytes or how many.
 */
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { CLIENT_ID, countRows, DATABASE_FILE, generateFernetKey, LIFETIMES, linkMany, openStore, type Store } from './seed.js';

export interface SizeSnapshot {
  day: number;
  dbBytes: number;
  walBytes: number;
  pages: number;
  freePages: number;
  rows: Record<string, number>;
}

export interface YearResult {
  accounts: number;
  refreshes: number;
  seconds: number;
  afterDay1: SizeSnapshot;
  afterYear: SizeSnapshot;
  /** Days 1, 90, 180, 270 and the last. */
  snapshots: SizeSnapshot[];
  /** Main file size after close (WAL checkpointed and removed). */
  closedBytes: number;
  /** Refresh tokens by state at the end: live ones are rows; retired ones need none (store/tokens.ts), so `retired` counts rows left from before migration 4. */
  refreshTokens: { live: number; retired: number };
}

const HOUR = 3_600_000;
const TABLES = ['grants', 'refresh_tokens', 'revoked_access_tokens', 'tokens', 'audit_events', 'authorization_codes', 'pending_requests', 'sessions'];

function snapshot(store: Store, file: string, day: number): SizeSnapshot {
  const wal = `${file}-wal`;
  return {
    day,
    dbBytes: statSync(file).size,
    walBytes: existsSync(wal) ? statSync(wal).size : 0,
    pages: store.db.pragma('page_count', { simple: true }) as number,
    freePages: store.db.pragma('freelist_count', { simple: true }) as number,
    rows: Object.fromEntries(TABLES.map((table) => [table, countRows(store, table)])),
  };
}

export async function simulateYear(dataDir: string, accounts = 10, days = 365): Promise<YearResult> {
  let now = Date.UTC(2026, 0, 1, 12);
  const store = openStore(dataDir, generateFernetKey(), () => now);
  const file = join(dataDir, DATABASE_FILE);
  const started = performance.now();
  store.db.pragma('synchronous = OFF');
  const lineages = linkMany(store, accounts, 0).map((lineage) => lineage.refreshToken);
  let refreshes = 0;
  let afterDay1: SizeSnapshot | undefined;
  const snapshots: SizeSnapshot[] = [];
  for (let hour = 1; hour <= days * 24; hour++) {
    now += HOUR;
    for (let a = 0; a < accounts; a++) {
      // The /token handler's own operation: the rotation and its daily audit summary.
      const result = await store.ops.refresh({ token: lineages[a]!, clientId: CLIENT_ID, lifetimes: LIFETIMES, origin: { ip: '198.18.0.1' } });
      if (result.status !== 'ok') throw new Error(`simulated refresh failed at hour ${hour}: ${JSON.stringify(result)}`);
      lineages[a] = result.tokens.refreshToken;
      refreshes++;
    }
    if (hour % 24 === 0) {
      store.prune();
      const day = hour / 24;
      if (day === 1 || (day % 90 === 0 && day < days)) snapshots.push(snapshot(store, file, day));
      if (day === 1) afterDay1 = snapshots[0];
    }
  }
  const afterYear = snapshot(store, file, days);
  snapshots.push(afterYear);
  const refreshTokens = {
    live: countRows(store, 'refresh_tokens'),
    retired: (store.db.prepare("SELECT count(*) AS n FROM tokens WHERE kind = 'refresh' AND retired_at IS NOT NULL").get() as { n: number }).n,
  };
  store.close();
  return {
    accounts,
    refreshes,
    seconds: (performance.now() - started) / 1000,
    afterDay1: afterDay1!,
    afterYear,
    snapshots,
    closedBytes: statSync(file).size,
    refreshTokens,
  };
}
