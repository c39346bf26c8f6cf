/**
 * A simulated year on a small always-on machine: 10 links refreshing hourly for 365 days with the
 * store's injectable clock, pruning every 10 simulated minutes as the server does. The database
 * stays small, every link keeps refreshing, and a token retired in month one is still reuse.
 */
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { TUNABLES } from '../src/config/tunables.js';
import { DATABASE_FILE } from '../src/store/index.js';
import { CLIENT_ID, LIFETIMES } from './helpers/fixtures.js';
import { clock, link, openStore } from './helpers/store.js';

const LINKS = 10;
const DAYS = 365;
const MINUTE = 60_000;

describe('a year of hourly refreshes', () => {
  it(`${LINKS} links for ${DAYS} days: at most 2 MiB, every link refreshing, a month-one token still reuse`, { timeout: 300_000 }, async () => {
    const time = clock();
    const { store, dataDir, keys } = openStore({ clock: time });
    // The commits' fsyncs would only slow the simulation: which bytes are kept does not depend on them.
    store.db.pragma('synchronous = OFF');
    const lineages = Array.from(
      { length: LINKS },
      (_, i) => link(store, { id: `${String(i).padStart(4, '0')}${'9'.repeat(28)}`, name: `p${i}` }).tokens.refreshToken,
    );
    const retiredInMonthOne: string[] = [];
    const pruneEvery = TUNABLES.store.pruneIntervalSeconds * 1000;
    const steps = (DAYS * 24 * 60 * MINUTE) / pruneEvery;
    const stepsPerHour = (60 * MINUTE) / pruneEvery;
    for (let step = 1; step <= steps; step++) {
      time.advance(pruneEvery);
      store.prune();
      if (step % stepsPerHour !== 0) continue;
      for (let i = 0; i < LINKS; i++) {
        const outcome = await store.ops.refresh({ token: lineages[i]!, clientId: CLIENT_ID, lifetimes: LIFETIMES, origin: { ip: '198.18.0.1' } });
        if (outcome.status !== 'ok') throw new Error(`link ${i} stopped refreshing at step ${step}: ${JSON.stringify(outcome)}`);
        // Two rotations later, the token given up in the first week is retired: keep one of link 0's.
        if (i === 0 && step === 7 * 24 * stepsPerHour) retiredInMonthOne.push(lineages[i]!);
        lineages[i] = outcome.tokens.refreshToken;
      }
    }
    store.close();
    const bytes = statSync(join(dataDir, DATABASE_FILE)).size;
    expect(bytes, `database after a year: ${(bytes / 2 ** 20).toFixed(2)} MiB`).toBeLessThanOrEqual(2 * 2 ** 20);

    // After a restart: every link still refreshes; then the token link 0 gave up in week one is reuse.
    const { store: reopened } = openStore({ dataDir, keys, clock: time });
    try {
      time.advance(60 * MINUTE);
      for (const [i, token] of lineages.entries()) {
        expect((await reopened.ops.refresh({ token, clientId: CLIENT_ID, lifetimes: LIFETIMES, origin: { ip: '198.18.0.1' } })).status, `link ${i}`).toBe('ok');
      }
      expect(retiredInMonthOne).toHaveLength(1);
      const reuse = await reopened.ops.refresh({ token: retiredInMonthOne[0]!, clientId: CLIENT_ID, lifetimes: LIFETIMES, origin: { ip: '203.0.113.1' } });
      expect(reuse.status).toBe('reuse');
    } finally {
      reopened.close();
    }
  });
});
