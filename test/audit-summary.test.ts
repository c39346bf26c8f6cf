/**
 * Routine events are summarised: Alexa's hourly refreshes are one Activity entry per link and day,
 * with a count; security events stay one entry each.
 */
import { describe, expect, it } from 'vitest';
import { Store } from '../src/store/index.js';
import { recentAudit } from './helpers/audit.js';
import { CLIENT_ID } from './helpers/fixtures.js';
import { ingress } from './helpers/ingress.js';
import { startTestServer } from './helpers/oauth-server.js';
import { clock, LIFETIMES, link, openStore } from './helpers/store.js';

const ALICE = { id: 'a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1', name: 'alice', displayName: 'Alice Example' };
const HOUR = 3600_000;

/** Refreshes the lineage `times` times, an hour apart; returns the newest refresh token. */
async function refreshHourly(store: Store, time: ReturnType<typeof clock>, token: string, times: number): Promise<string> {
  let current = token;
  for (let i = 0; i < times; i++) {
    time.advance(HOUR);
    const outcome = await store.ops.refresh({ token: current, clientId: CLIENT_ID, lifetimes: LIFETIMES, origin: { ip: '192.0.2.1' } });
    if (outcome.status !== 'ok') throw new Error(`refresh ${i}: ${outcome.status}`);
    current = outcome.tokens.refreshToken;
  }
  return current;
}

describe('routine events are summarised per link and day', () => {
  it('48 hourly refreshes over two days are two entries, "renewed 24 times" each; a restart continues the day', async () => {
    // Midnight (the test runs with the process's time zone) plus 30 minutes.
    const start = new Date(2026, 10, 23, 0, 0, 0).getTime() - HOUR + 30 * 60_000;
    const time = clock(start);
    const { store, dataDir, keys } = openStore({ clock: time });
    const { tokens } = link(store, ALICE);
    let token = await refreshHourly(store, time, tokens.refreshToken, 12);
    store.close();
    // A restart in the middle of the day: the summary row of the day is found again.
    const again = Store.open({ dataDir, encryptionKeys: keys, now: time.now });
    token = await refreshHourly(again, time, token, 12);
    await refreshHourly(again, time, token, 24);
    const summaries = recentAudit(again, keys, 100).filter((entry) => entry.event === 'token_refreshed');
    expect(summaries.map((entry) => entry.details.count)).toEqual([24, 24]);
    again.close();
  });

  it('the Activity page reads "Alexa renewed its access 24 times"; a reuse stays its own entry', async () => {
    const time = clock(new Date(2026, 10, 23, 0, 30).getTime());
    const server = await startTestServer({ log_level: 'info' }, undefined, {}, time);
    try {
      const { tokens } = link(server.app.store, ALICE);
      await refreshHourly(server.app.store, time, tokens.refreshToken, 23);
      // The first token again, long after its successor was used: reuse, revoked, its own entry.
      expect(
        (await server.app.store.ops.refresh({ token: tokens.refreshToken, clientId: CLIENT_ID, lifetimes: LIFETIMES, origin: { ip: '192.0.2.9' } })).status,
      ).toBe('reuse');
      const page = (await ingress(server.app.ingressUrl, '/activity', { user: ALICE })).body;
      expect(page).toContain('Alexa renewed its access 23 times');
      expect(page).toContain('was revoked automatically: an old Alexa token was used again');
      expect((page.match(/renewed its access/g) ?? []).length).toBe(1);
    } finally {
      await server.close();
    }
  });
});
