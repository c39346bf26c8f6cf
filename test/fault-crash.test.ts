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
 */
import Database from 'better-sqlite3';
import { Agent } from 'node:http';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { PROTOCOL } from '../src/config/options.js';
import { DATABASE_FILE, Store } from '../src/store/index.js';
import { heldRefresh, introspectToken, prng, refreshToken, seedGrants, sha256, type Outcome } from './helpers/fault.js';
import { freePort, writeOptions } from './helpers/oauth-server.js';
import { startServer, type ServerProcess } from './helpers/server-process.js';
import { tempDir } from './helpers/tmp.js';

const CLIENTS = 20;
const KILLS = Number(process.env.FAULT_KILLS ?? 20);
const SEED = Number(process.env.FAULT_SEED ?? 0x5eed2026);

const running: ServerProcess[] = [];
afterEach(async () => {
  for (const server of running.splice(0)) if (server.child.exitCode === null && server.child.signalCode === null) await server.stop('SIGKILL');
});

interface TokenRow {
  digest: Buffer;
  parent: Buffer | null;
  used_at: number | null;
  retired_at: number | null;
  revoked_at: number | null;
}

interface Client {
  index: number;
  grantId: string;
  /** Every refresh token this client received, oldest first; the last is `current`. */
  chain: string[];
  current: string;
  previous: string | undefined;
  access: string[];
  /** Headers of this Alexa (its own address, through the trusted proxy). */
  headers: Record<string, string>;
  /** Generation of the server its last request went to, and how that request ended. */
  lastRequest: { generation: number; outcome: 'ok' | 'lost' | 'refused' | 'held' } | undefined;
  /** Successors committed for `current` that the client never received. */
  knownOrphans: number;
  /** The last life of the server this client checked in with, and the last it waited after. */
  checkedIn: number;
  parkedIn: number;
  failed: string | undefined;
}

describe('SIGKILL at random moments under refresh load', () => {
  it(`keeps every one of ${CLIENTS} Alexa links through ${KILLS} kills: newest token always works, lost responses leave the parent valid`, async () => {
    const dataDir = tempDir();
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    // Each simulated Alexa has its own address (through a trusted proxy), as the real ones do, so
    // the per-IP rate limit applies to each on its own.
    const options = await writeOptions(dataDir, port, { log_level: 'info', trusted_proxies: ['127.0.0.1'] });
    const key = options.encryption_key as string;
    const random = prng(SEED);

    const clients: Client[] = seedGrants(dataDir, key, CLIENTS).map((seeded, index) => ({
      index, grantId: seeded.grantId, chain: [seeded.refreshToken], current: seeded.refreshToken, previous: undefined,
      access: [seeded.accessToken], headers: { 'x-forwarded-for': `203.0.113.${index + 1}` },
      lastRequest: undefined, knownOrphans: 0, checkedIn: -1, parkedIn: -1, failed: undefined,
    }));
    /** Successors that were committed but whose response was lost: [client, index in its chain of the parent, digest]. */
    const orphans: Array<{ client: Client; parentIndex: number; digest: Buffer }> = [];
    const stats = { kills: 0, refreshes: 0, introspections: 0, lostInFlight: 0, lostCommitted: 0, lostNotCommitted: 0, heldLost: 0, refused: 0, toldToWait: 0 };

    // --- coordination: the driver waits on conditions over the clients' states ---------------------
    let generation = 0;
    let stopping = false;
    const waiters: Array<{ test: () => boolean; resolve: () => void }> = [];
    /** Called after every change of state: wakes whoever waits for a condition that now holds. */
    const changed = (): void => {
      for (const waiter of [...waiters]) {
        if (!waiter.test()) continue;
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.resolve();
      }
    };
    const until = (test: () => boolean): Promise<void> =>
      new Promise((resolve) => {
        if (test()) resolve();
        else waiters.push({ test, resolve });
      });
    const everyClient = (test: (client: Client) => boolean): (() => boolean) => () => clients.every((client) => client.failed !== undefined || test(client));
    /** A client whose request went nowhere waits for the next life of the server (or the end). */
    const park = async (client: Client, g: number): Promise<void> => {
      client.parkedIn = g;
      changed();
      await until(() => generation > g || stopping);
    };
    const fail = (client: Client, what: string): void => {
      client.failed ??= what;
      changed();
    };

    let agent = new Agent({ keepAlive: true });
    let server = await startServer({ DATA_DIR: dataDir, PUBLIC_PORT: String(port) });
    running.push(server);

    const accept = (client: Client, outcome: Outcome & { kind: 'response' }): void => {
      const refresh = outcome.json?.refresh_token;
      const access = outcome.json?.access_token;
      if (typeof refresh !== 'string' || typeof access !== 'string') return fail(client, `200 without tokens: ${outcome.text}`);
      client.previous = client.current;
      client.current = refresh;
      client.chain.push(refresh);
      client.access.push(access);
      client.knownOrphans = 0;
      stats.refreshes++;
    };

    let heldArrived: Promise<string | undefined> = Promise.resolve(undefined);

    /**
     * The token a client holds after a lost answer may have been rotated moments before the kill;
     * presented again within the repeat window it gets 429 "try again" (never invalid_grant). The
     * client then does what Alexa does: waits as long as Retry-After says and asks again.
     */
    const refreshAfterRestart = async (client: Client, a: Agent): Promise<Outcome> => {
      for (let attempt = 1; ; attempt++) {
        const outcome = await refreshToken(base, client.current, client.headers, a);
        if (outcome.kind !== 'response' || outcome.status !== 429 || attempt === 3) return outcome;
        const wait = Number(outcome.headers['retry-after']);
        if (!(wait >= 1 && wait <= PROTOCOL.refreshRepeatSeconds)) return outcome;
        stats.toldToWait++;
        await new Promise((resolve) => setTimeout(resolve, wait * 1000));
      }
    };

    const loop = async (client: Client): Promise<void> => {
      while (!stopping && !client.failed) {
        const g = generation;
        const a = agent;
        if (client.checkedIn < g) {
          // First thing against a fresh server: the newest access token is active, and the refresh
          // token it holds (its newest, or the parent of a successor whose response was lost) works.
          const info = await introspectToken(base, client.access.at(-1)!, client.headers, a);
          if (info.kind !== 'response') return fail(client, `introspection after restart ${g} was ${info.kind}`);
          stats.introspections++;
          if (info.status !== 200 || info.json?.active !== true) return fail(client, `newest access token not active after restart ${g}: ${info.status} ${info.text}`);
          const outcome = await refreshAfterRestart(client, a);
          if (outcome.kind !== 'response') return fail(client, `refresh after restart ${g} was ${outcome.kind}`);
          if (outcome.status !== 200) return fail(client, `refresh after restart ${g} answered ${outcome.status}: ${outcome.text}`);
          accept(client, outcome);
          client.lastRequest = { generation: g, outcome: 'ok' };
          client.checkedIn = g;
          // The designated client of this life: its next response arrives but is never read.
          const designated = g < KILLS && g % CLIENTS === client.index;
          if (designated) heldArrived = heldRefresh(port, client.current, client.headers).arrived;
          changed();
          if (designated) {
            const line = await heldArrived;
            if (line !== undefined && !/^HTTP\/1\.1 200 /.test(line)) return fail(client, `held refresh answered ${line}`);
            // The connection stays open, unread, until the server dies.
            await until(() => server.child.exitCode !== null || server.child.signalCode !== null);
            client.lastRequest = { generation: g, outcome: line === undefined ? 'lost' : 'held' };
            if (line !== undefined) stats.heldLost++;
            else stats.lostInFlight++;
            await park(client, g);
          }
          continue;
        }
        // The load starts once every client has checked in with this life of the server; else the
        // first ones would hammer on alone while another waits out a Retry-After, and run into the
        // per-address volume limit that no real Alexa comes near.
        await until(() => stopping || everyClient((c) => c.checkedIn >= g)());
        if (stopping) break;
        const outcome = await refreshToken(base, client.current, client.headers, a);
        if (outcome.kind === 'response') {
          if (outcome.status !== 200) return fail(client, `refresh answered ${outcome.status}: ${outcome.text}`);
          client.lastRequest = { generation: g, outcome: 'ok' };
          accept(client, outcome);
          continue;
        }
        if (outcome.kind === 'refused') stats.refused++;
        else stats.lostInFlight++;
        client.lastRequest = { generation: g, outcome: outcome.kind };
        await park(client, g);
      }
    };

    /** With the server dead: what the database says about every client's tokens. */
    const inspect = (g: number): void => {
      const db = new Database(join(dataDir, DATABASE_FILE), { readonly: true, fileMustExist: true });
      try {
        const byDigest = db.prepare("SELECT digest, parent, used_at, retired_at, revoked_at FROM tokens WHERE kind = 'refresh' AND digest = ?");
        const children = db.prepare("SELECT digest, parent, used_at, retired_at, revoked_at FROM tokens WHERE kind = 'refresh' AND parent = ?");
        const grant = db.prepare('SELECT revoked_at, revoked_reason FROM grants WHERE id = ?');
        for (const client of clients) {
          if (client.failed) continue;
          const where = `client ${client.index} after kill ${g + 1}`;
          expect(grant.get(client.grantId), where).toEqual({ revoked_at: null, revoked_reason: null });
          const current = byDigest.get(sha256(client.current)) as TokenRow | undefined;
          expect(current, `${where}: its newest token is on disk`).toBeDefined();
          expect({ retired: current!.retired_at, revoked: current!.revoked_at }, where).toEqual({ retired: null, revoked: null });
          if (client.previous !== undefined) {
            // The one before stays valid exactly until `current` is used (by a request that committed).
            const previous = byDigest.get(sha256(client.previous)) as TokenRow;
            expect(previous.retired_at !== null, `${where}: the token before is retired iff the newest was used`).toBe(current!.used_at !== null);
          }
          const successors = children.all(sha256(client.current)) as TokenRow[];
          // Any successor of `current` in the database is one whose response the client never got.
          for (const successor of successors) {
            expect({ used: successor.used_at, retired: successor.retired_at, revoked: successor.revoked_at }, `${where}: an undelivered successor is untouched`).toEqual({ used: null, retired: null, revoked: null });
          }
          const fresh = successors.length - client.knownOrphans;
          const last = client.lastRequest;
          if (last?.generation === g && last.outcome === 'held') {
            // The response arrived (so the server had committed) and was dropped unread.
            expect(fresh, `${where}: the dropped response's successor was committed`).toBe(1);
            stats.lostCommitted++;
          } else if (last?.generation === g && last.outcome === 'lost') {
            expect(fresh, `${where}: a lost request committed at most one successor`).toBeLessThanOrEqual(1);
            if (fresh === 1) stats.lostCommitted++;
            else stats.lostNotCommitted++;
          } else {
            expect(fresh, `${where}: no successor appears without a request`).toBe(0);
          }
          for (const successor of successors.slice(client.knownOrphans)) orphans.push({ client, parentIndex: client.chain.length - 1, digest: successor.digest });
          client.knownOrphans = successors.length;
        }
      } finally {
        db.close();
      }
    };

    const loops = clients.map((client) => loop(client));
    const exited = (): boolean => server.child.exitCode !== null || server.child.signalCode !== null;
    for (let g = 0; g < KILLS && !clients.some((c) => c.failed); g++) {
      await until(everyClient((c) => c.checkedIn >= g));
      if (clients.some((c) => c.failed)) break;
      await heldArrived;
      // Load for a random moment (not a timing assertion: it only chooses where the kill lands).
      await new Promise((resolve) => setTimeout(resolve, 30 + Math.floor(random() * 270)));
      expect(await server.stop('SIGKILL')).toBeNull();
      expect(server.child.signalCode).toBe('SIGKILL');
      stats.kills++;
      changed();
      agent.destroy();
      await until(everyClient((c) => c.parkedIn >= g));
      if (clients.some((c) => c.failed)) break;
      inspect(g);
      agent = new Agent({ keepAlive: true });
      server = await startServer({ DATA_DIR: dataDir, PUBLIC_PORT: String(port) });
      running.push(server);
      generation = g + 1;
      changed();
    }
    // The last life: every client checks in once more (newest token and access token), then stop.
    if (!clients.some((c) => c.failed)) await until(everyClient((c) => c.checkedIn >= generation));
    stopping = true;
    changed();
    if (clients.some((c) => c.failed) && !exited()) {
      await server.stop('SIGKILL');
      changed();
    }
    await Promise.all(loops);
    agent.destroy();

    const failures = clients.filter((c) => c.failed).map((c) => `client ${c.index}: ${c.failed}`);
    console.log(`fault-crash: seed ${SEED.toString(16)}, ${stats.kills} kills, ${stats.refreshes} refreshes, ${stats.introspections} introspections after restarts, ` +
      `${stats.heldLost + stats.lostInFlight} lost responses (${stats.heldLost} dropped after arrival, ${stats.lostInFlight} in flight at a kill; ` +
      `${stats.lostCommitted} had committed a successor, ${stats.lostNotCommitted} had not), ${stats.refused} refused while down, ` +
      `${stats.toldToWait} told to wait (429) right after a restart`);
    expect(failures).toEqual([]);
    expect(stats.kills).toBe(KILLS);
    expect(stats.lostCommitted).toBeGreaterThanOrEqual(KILLS);

    expect(await server.stop('SIGTERM')).toBe(0);
    const store = Store.open({ dataDir, encryptionKeys: [key] });
    try {
      expect(store.integrityCheck()).toEqual(['ok']);
      const grants = store.db.prepare('SELECT id, revoked_at FROM grants').all() as Array<{ id: string; revoked_at: number | null }>;
      expect(grants.map((g) => g.id).sort()).toEqual(clients.map((c) => c.grantId).sort());
      expect(grants.filter((g) => g.revoked_at !== null)).toEqual([]);
      expect(store.db.prepare("SELECT count(*) AS n FROM audit_events WHERE event IN ('refresh_reuse', 'grant_revoked')").get()).toEqual({ n: 0 });
      expect(store.db.prepare('SELECT count(*) AS n FROM tokens WHERE revoked_at IS NOT NULL').get()).toEqual({ n: 0 });
      const row = store.db.prepare("SELECT used_at, retired_at FROM tokens WHERE kind = 'refresh' AND digest = ?");
      for (const { client, parentIndex, digest } of orphans) {
        const orphan = row.get(digest) as { used_at: number | null; retired_at: number | null };
        expect(orphan.used_at, `client ${client.index}: a lost successor was never used`).toBeNull();
        // Once the sibling the client did receive has been used, the lost one is retired with its parent.
        if (parentIndex <= client.chain.length - 3) expect(orphan.retired_at, `client ${client.index}: lost successor retired`).not.toBeNull();
      }
      for (const client of clients) {
        const current = row.get(sha256(client.current)) as { used_at: number | null; retired_at: number | null };
        expect(current.retired_at).toBeNull();
        // Rotation really happened: the token two steps back was retired when its successor was used.
        const older = row.get(sha256(client.chain.at(-3)!)) as { retired_at: number | null };
        expect(older.retired_at).not.toBeNull();
      }
    } finally {
      store.close();
    }
  }, 120_000);
});
