/**
 * Crash durability: the real server process is killed with SIGKILL at random moments while 20
 * Alexa accounts keep refreshing, and restarted each time. Each simulated Alexa keeps the newest
 * refresh token it received (and the one before) and, when a response is lost, goes on with what
 * it has. No Alexa may ever be unlinked, and no grant may be revoked or lost.
 *
 * A lost response, with successor confirmation: the server committed a successor of the token the
 * client presented, then died before the client read the answer. The client still holds the
 * presented token (the successor's parent); it stays valid because the successor was never used.
 * Each cycle makes one such loss for certain (a response that arrived but is discarded unread),
 * and the kills make more at random; after every kill the database shows which losses had
 * committed a successor.
 *
 * The run itself (server lives, clients, check-ins, the database read after each kill) is in
 * helpers/crash-driver.ts; it runs once, and each `it` below checks one property of what it saw.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Store } from '../src/store/index.js';
import { type ClientAfterKill, type CrashRun, driveCrashes } from './helpers/crash-driver.js';
import { sha256 } from './helpers/fault.js';
import { claimsOf } from './helpers/tokens.js';

const CLIENTS = 20;
const KILLS = Number(process.env.FAULT_KILLS ?? 20);
const SEED = Number(process.env.FAULT_SEED ?? 0x5eed2026);

const where = (state: ClientAfterKill): string => `client ${state.client} after kill ${state.kill}`;

describe('SIGKILL at random moments under refresh load', () => {
  let run: CrashRun;
  beforeAll(async () => {
    run = await driveCrashes({ clients: CLIENTS, kills: KILLS, seed: SEED });
    const { stats } = run;
    console.log(
      `fault-crash: seed ${SEED.toString(16)}, ${run.kills.length} kills, ${stats.refreshes} refreshes, ${stats.introspections} introspections after restarts, ` +
        `${stats.heldLost + stats.lostInFlight} lost responses (${stats.heldLost} dropped after arrival, ${stats.lostInFlight} in flight at a kill; ` +
        `${stats.lostCommitted} had committed a successor, ${stats.lostNotCommitted} had not), ${stats.refused} refused while down, ` +
        `${stats.toldToWait} told to wait (429) right after a restart`,
    );
  }, 120_000);

  it(`keeps every one of ${CLIENTS} Alexa links through ${KILLS} kills: newest token always works, lost responses leave the parent valid`, () => {
    const failures = run.clients.filter((c) => c.failed).map((c) => `client ${c.index}: ${c.failed}`);
    expect(failures).toEqual([]);
  });

  it(`kills the server with SIGKILL ${KILLS} times, restarting it each time`, () => {
    expect(run.kills).toHaveLength(KILLS);
    for (const kill of run.kills) {
      expect(kill.exitCode).toBeNull();
      expect(kill.signal).toBe('SIGKILL');
    }
  });

  it("reads every client's tokens from the database after every kill", () => {
    // Guards the checks below, which look at these records: none may pass for want of any.
    expect(run.afterKills).toHaveLength(KILLS * CLIENTS);
  });

  it('after every kill, no grant is revoked and each newest refresh token is on disk, valid; the one before is retired iff the newest was used', () => {
    // Live: a row in refresh_tokens. Retired: no row, and a generation up to the grant's refresh_gen (presenting it is reuse).
    const retired = (token: { live: boolean; gen: number }, refreshGen: number | undefined): boolean => !token.live && token.gen <= refreshGen!;
    for (const state of run.afterKills) {
      expect(state.grant, where(state)).toEqual({ revoked_at: null, revoked_reason: null });
      expect(state.newest.live, `${where(state)}: its newest token is on disk`).toBe(true);
      // Live, of a generation no older than the newest confirmed one: valid.
      expect(state.newest.gen, where(state)).toBeGreaterThanOrEqual(state.refreshGen!);
      if (state.previous !== undefined) {
        // The one before stays valid exactly until the newest is used (by a request that committed).
        const used = state.newest.used_at !== null;
        expect(state.previous.live, `${where(state)}: the token before is on disk iff the newest was not used`).toBe(!used);
        expect(retired(state.previous, state.refreshGen), `${where(state)}: the token before is retired iff the newest was used`).toBe(used);
      }
    }
  });

  it('after every kill, an undelivered successor is untouched, and one appears only for a lost response: exactly one for a dropped answer, at most one in flight', () => {
    for (const state of run.afterKills) {
      for (const successor of state.successors) {
        // On disk (so neither retired nor revoked) and never used.
        expect({ live: successor.live, used: successor.used_at }, `${where(state)}: an undelivered successor is untouched`).toEqual({ live: true, used: null });
        expect(successor.gen, `${where(state)}: a successor is one generation up`).toBe(state.newest.gen + 1);
      }
      if (state.lastRequest === 'held') {
        // The response arrived (so the server had committed) and was dropped unread.
        expect(state.fresh, `${where(state)}: the dropped response's successor was committed`).toBe(1);
      } else if (state.lastRequest === 'lost') {
        expect(state.fresh, `${where(state)}: a lost request committed at most one successor`).toBeLessThanOrEqual(1);
      } else {
        expect(state.fresh, `${where(state)}: no successor appears without a request`).toBe(0);
      }
    }
  });

  it(`loses at least one response with a committed successor per kill (${KILLS} or more)`, () => {
    expect(run.stats.lostCommitted).toBeGreaterThanOrEqual(KILLS);
  });

  describe('after the last life is stopped with SIGTERM', () => {
    let store: Store | undefined;
    beforeAll(() => {
      store = Store.open({ dataDir: run.dataDir, encryptionKeys: [run.encryptionKey] });
    });
    afterAll(() => store?.close());
    /** The live row of a refresh token's digest, undefined when it has none (retired, or never issued). */
    const liveRow = (digest: Buffer): { used_at: number | null } | undefined =>
      store!.db.prepare('SELECT used_at FROM refresh_tokens WHERE digest = ?').get(digest) as { used_at: number | null } | undefined;
    const refreshGen = (grantId: string): number =>
      (store!.db.prepare('SELECT refresh_gen FROM grants WHERE id = ?').get(grantId) as { refresh_gen: number }).refresh_gen;
    /** Retired: no row, and its generation was confirmed or passed (presenting it is reuse). */
    const retired = (token: string): boolean => liveRow(sha256(token)) === undefined && claimsOf(token).gen <= refreshGen(claimsOf(token).grantId);

    it('exits 0, and the database is intact with every grant, none revoked, no reuse seen and no token revoked', () => {
      expect(run.finalExit).toBe(0);
      expect(store!.integrityCheck()).toEqual(['ok']);
      const grants = store!.db.prepare('SELECT id, revoked_at FROM grants').all() as Array<{ id: string; revoked_at: number | null }>;
      expect(grants.map((g) => g.id).sort()).toEqual(run.clients.map((c) => c.grantId).sort());
      expect(grants.filter((g) => g.revoked_at !== null)).toEqual([]);
      expect(store!.db.prepare("SELECT count(*) AS n FROM audit_events WHERE event IN ('refresh_reuse', 'grant_revoked')").get()).toEqual({ n: 0 });
      // No access token was revoked on its own, and every grant still has its live refresh tokens.
      expect(store!.db.prepare('SELECT count(*) AS n FROM revoked_access_tokens').get()).toEqual({ n: 0 });
      expect(store!.db.prepare('SELECT count(DISTINCT grant_id) AS n FROM refresh_tokens').get()).toEqual({ n: run.clients.length });
    });

    it('a lost successor was never used, and is retired with its parent once the sibling the client received was used', () => {
      for (const { client, parentIndex, digest, gen } of run.orphans) {
        const orphan = liveRow(digest);
        const { chain, grantId } = run.clients[client]!;
        // Still on disk: unused. Gone: deleted when a sibling was confirmed; had it been used itself, it
        // would have been the one confirmed and the client's own sibling (same generation) retired, so the
        // client's next refresh would have been reuse and the check above would have failed.
        if (orphan) expect(orphan.used_at, `client ${client}: a lost successor was never used`).toBeNull();
        if (parentIndex <= chain.length - 3) {
          expect(orphan, `client ${client}: lost successor retired (no row)`).toBeUndefined();
          expect(gen, `client ${client}: lost successor retired (its generation confirmed)`).toBeLessThanOrEqual(refreshGen(grantId));
        }
      }
    });

    it("each client's newest refresh token is not retired, and rotation retired the one two steps back", () => {
      for (const { chain } of run.clients) {
        expect(liveRow(sha256(chain.at(-1)!))).toBeDefined();
        expect(retired(chain.at(-1)!)).toBe(false);
        // Rotation really happened: the token two steps back was retired when its successor was used.
        expect(retired(chain.at(-3)!)).toBe(true);
      }
    });
  });
});
