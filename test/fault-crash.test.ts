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
    for (const state of run.afterKills) {
      expect(state.grant, where(state)).toEqual({ revoked_at: null, revoked_reason: null });
      expect(state.newest, `${where(state)}: its newest token is on disk`).toBeDefined();
      expect({ retired: state.newest!.retired_at, revoked: state.newest!.revoked_at }, where(state)).toEqual({ retired: null, revoked: null });
      if (state.previous !== undefined) {
        // The one before stays valid exactly until the newest is used (by a request that committed).
        expect(state.previous, `${where(state)}: the token before is on disk`).not.toBeNull();
        expect(state.previous!.retired_at !== null, `${where(state)}: the token before is retired iff the newest was used`).toBe(
          state.newest!.used_at !== null,
        );
      }
    }
  });

  it('after every kill, an undelivered successor is untouched, and one appears only for a lost response: exactly one for a dropped answer, at most one in flight', () => {
    for (const state of run.afterKills) {
      for (const successor of state.successors) {
        expect(
          { used: successor.used_at, retired: successor.retired_at, revoked: successor.revoked_at },
          `${where(state)}: an undelivered successor is untouched`,
        ).toEqual({ used: null, retired: null, revoked: null });
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
    /** The refresh token row of a digest, as the checks below need it. */
    const refreshRow = (digest: Buffer): { used_at: number | null; retired_at: number | null } =>
      store!.db.prepare("SELECT used_at, retired_at FROM tokens WHERE kind = 'refresh' AND digest = ?").get(digest) as {
        used_at: number | null;
        retired_at: number | null;
      };

    it('exits 0, and the database is intact with every grant, none revoked, no reuse seen and no token revoked', () => {
      expect(run.finalExit).toBe(0);
      expect(store!.integrityCheck()).toEqual(['ok']);
      const grants = store!.db.prepare('SELECT id, revoked_at FROM grants').all() as Array<{ id: string; revoked_at: number | null }>;
      expect(grants.map((g) => g.id).sort()).toEqual(run.clients.map((c) => c.grantId).sort());
      expect(grants.filter((g) => g.revoked_at !== null)).toEqual([]);
      expect(store!.db.prepare("SELECT count(*) AS n FROM audit_events WHERE event IN ('refresh_reuse', 'grant_revoked')").get()).toEqual({ n: 0 });
      expect(store!.db.prepare('SELECT count(*) AS n FROM tokens WHERE revoked_at IS NOT NULL').get()).toEqual({ n: 0 });
    });

    it('a lost successor was never used, and is retired with its parent once the sibling the client received was used', () => {
      for (const { client, parentIndex, digest } of run.orphans) {
        const orphan = refreshRow(digest);
        const chain = run.clients[client]!.chain;
        expect(orphan.used_at, `client ${client}: a lost successor was never used`).toBeNull();
        if (parentIndex <= chain.length - 3) expect(orphan.retired_at, `client ${client}: lost successor retired`).not.toBeNull();
      }
    });

    it("each client's newest refresh token is not retired, and rotation retired the one two steps back", () => {
      for (const { chain } of run.clients) {
        expect(refreshRow(sha256(chain.at(-1)!)).retired_at).toBeNull();
        // Rotation really happened: the token two steps back was retired when its successor was used.
        expect(refreshRow(sha256(chain.at(-3)!)).retired_at).not.toBeNull();
      }
    });
  });
});
