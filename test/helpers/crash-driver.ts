/**
 * Drives the crash-durability scenario of fault-crash.test.ts and reports what happened; it asserts
 * nothing. The real server process is killed with SIGKILL at random moments while simulated Alexa
 * accounts keep refreshing, and restarted each time. Each simulated Alexa keeps the newest refresh
 * token it received (and the one before) and, when a response is lost, goes on with what it has.
 *
 * A lost response, with successor confirmation: the server committed a successor of the token the
 * client presented, then died before the client read the answer. Each life of the server makes one
 * such loss for certain (a response that arrived but is discarded unread), and the kills make more
 * at random. After every kill, while the server is dead, the database is read: that record is what
 * the test checks, because the next life changes it.
 */

import { Agent } from 'node:http';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { TUNABLES } from '../../src/config/tunables.js';
import { DATABASE_FILE } from '../../src/store/index.js';
import { heldRefresh, introspectToken, type Outcome, prng, refreshToken, seedGrants, sha256 } from './fault.js';
import { freePort, writeOptions } from './oauth-server.js';
import { type ServerProcess, startServer } from './server-process.js';
import { tempDir } from './tmp.js';
import { claimsOf } from './tokens.js';

export interface CrashRunOptions {
  clients: number;
  kills: number;
  /** Seeds the PRNG that chooses when each kill lands. */
  seed: number;
}

/** How a client's request to one life of the server ended. */
export type RequestEnd = 'ok' | 'lost' | 'refused' | 'held';

/**
 * A refresh token as the database tells it (store/tokens.ts): live while it has a row; without one
 * it is retired when its generation is at most the grant's `refresh_gen` (presenting it is reuse).
 */
export interface TokenState {
  /** It has a row in refresh_tokens. */
  live: boolean;
  gen: number;
  used_at: number | null;
}

/** One client's tokens on disk right after a kill, read while the server was dead. */
export interface ClientAfterKill {
  /** 1 for the first kill. */
  kill: number;
  client: number;
  /** Its grant's row, undefined if the grant is gone. */
  grant: { revoked_at: number | null; revoked_reason: string | null } | undefined;
  /** The grant's newest confirmed generation: tokens of it or older without a row are retired. */
  refreshGen: number | undefined;
  /** The newest refresh token the client received. */
  newest: TokenState;
  /** The token before the newest: undefined while the client has only its seeded token. */
  previous: TokenState | undefined;
  /** Successors of the newest token in the database: responses the client never received. */
  successors: TokenState[];
  /** How many of `successors` appeared since the client last received a token or since the kill before. */
  fresh: number;
  /** How its last request to the life just killed ended; undefined if its last request went to an earlier life. */
  lastRequest: RequestEnd | undefined;
}

export interface CrashRun {
  dataDir: string;
  encryptionKey: string;
  /** How each SIGKILLed life exited (its exit code and signal). */
  kills: Array<{ exitCode: number | null; signal: NodeJS.Signals | null }>;
  /** Every live client's state after every kill, in order. */
  afterKills: ClientAfterKill[];
  clients: Array<{
    index: number;
    grantId: string;
    /** Every refresh token this client received, oldest first; the last is the one it holds. */
    chain: string[];
    /** Why this client gave up (a check-in or refresh that went wrong), undefined if it never did. */
    failed: string | undefined;
  }>;
  /** Successors that were committed but whose response was lost: the client, the index in its chain of the parent, the digest and generation. */
  orphans: Array<{ client: number; parentIndex: number; digest: Buffer; gen: number }>;
  stats: {
    refreshes: number;
    introspections: number;
    lostInFlight: number;
    /** Lost (in flight or dropped unread) responses whose successor the database holds, and those whose it does not. */
    lostCommitted: number;
    lostNotCommitted: number;
    heldLost: number;
    refused: number;
    toldToWait: number;
  };
  /** Exit code of the last life, stopped with SIGTERM; undefined if it was already dead (a client had failed). */
  finalExit: number | null | undefined;
}

interface Client {
  index: number;
  grantId: string;
  chain: string[];
  current: string;
  previous: string | undefined;
  access: string[];
  /** Headers of this Alexa (its own address, through the trusted proxy). */
  headers: Record<string, string>;
  /** Generation of the server its last request went to, and how that request ended. */
  lastRequest: { generation: number; outcome: RequestEnd } | undefined;
  /** Successors committed for `current` that the client never received. */
  knownOrphans: number;
  /** The last life of the server this client checked in with, and the last it waited after. */
  checkedIn: number;
  parkedIn: number;
  failed: string | undefined;
}

export async function driveCrashes({ clients: count, kills, seed }: CrashRunOptions): Promise<CrashRun> {
  const dataDir = tempDir();
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  // Each simulated Alexa has its own address (through a trusted proxy), as the real ones do, so
  // the per-IP rate limit applies to each on its own.
  const options = await writeOptions(dataDir, port, { log_level: 'info', trusted_proxies: ['127.0.0.1'] });
  const key = options.encryption_key as string;
  const random = prng(seed);

  const clients: Client[] = seedGrants(dataDir, key, count).map((seeded, index) => ({
    index,
    grantId: seeded.grantId,
    chain: [seeded.refreshToken],
    current: seeded.refreshToken,
    previous: undefined,
    access: [seeded.accessToken],
    headers: { 'x-forwarded-for': `203.0.113.${index + 1}` },
    lastRequest: undefined,
    knownOrphans: 0,
    checkedIn: -1,
    parkedIn: -1,
    failed: undefined,
  }));
  const run: CrashRun = {
    dataDir,
    encryptionKey: key,
    kills: [],
    afterKills: [],
    clients: [],
    orphans: [],
    stats: { refreshes: 0, introspections: 0, lostInFlight: 0, lostCommitted: 0, lostNotCommitted: 0, heldLost: 0, refused: 0, toldToWait: 0 },
    finalExit: undefined,
  };
  const { stats } = run;

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
  const everyClient =
    (test: (client: Client) => boolean): (() => boolean) =>
    () =>
      clients.every((client) => client.failed !== undefined || test(client));
  const anyFailed = (): boolean => clients.some((c) => c.failed !== undefined);
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

  const running: ServerProcess[] = [];
  let agent = new Agent({ keepAlive: true });
  try {
    let server = await startServer({ DATA_DIR: dataDir, PUBLIC_PORT: String(port) });
    running.push(server);
    const exited = (): boolean => server.child.exitCode !== null || server.child.signalCode !== null;

    const accept = (client: Client, outcome: Outcome & { kind: 'response' }): void => {
      const refresh = outcome.json?.refresh_token;
      const access = outcome.json?.access_token;
      if (typeof refresh !== 'string' || typeof access !== 'string') {
        fail(client, `200 without tokens: ${outcome.text}`);
        return;
      }
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
        if (!(wait >= 1 && wait <= TUNABLES.oauth.refreshRepeatSeconds)) return outcome;
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
          if (info.status !== 200 || info.json?.active !== true)
            return fail(client, `newest access token not active after restart ${g}: ${info.status} ${info.text}`);
          const outcome = await refreshAfterRestart(client, a);
          if (outcome.kind !== 'response') return fail(client, `refresh after restart ${g} was ${outcome.kind}`);
          if (outcome.status !== 200) return fail(client, `refresh after restart ${g} answered ${outcome.status}: ${outcome.text}`);
          accept(client, outcome);
          client.lastRequest = { generation: g, outcome: 'ok' };
          client.checkedIn = g;
          // The designated client of this life: its next response arrives but is never read.
          const designated = g < kills && g % count === client.index;
          if (designated) heldArrived = heldRefresh(port, client.current, client.headers).arrived;
          changed();
          if (designated) {
            const line = await heldArrived;
            if (line !== undefined && !/^HTTP\/1\.1 200 /.test(line)) return fail(client, `held refresh answered ${line}`);
            // The connection stays open, unread, until the server dies.
            await until(exited);
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
        const byDigest = db.prepare('SELECT used_at FROM refresh_tokens WHERE digest = ?');
        // The successors of a token are its grant's rows one generation up.
        const children = db.prepare('SELECT digest, gen, used_at FROM refresh_tokens WHERE grant_id = ? AND gen = ? ORDER BY issued_at, digest');
        const grant = db.prepare('SELECT revoked_at, revoked_reason, refresh_gen FROM grants WHERE id = ?');
        const state = (token: string): TokenState => {
          const row = byDigest.get(sha256(token)) as { used_at: number | null } | undefined;
          return { live: row !== undefined, gen: claimsOf(token).gen, used_at: row?.used_at ?? null };
        };
        for (const client of clients) {
          if (client.failed) continue;
          const current = claimsOf(client.current);
          const successors = (children.all(current.grantId, current.gen + 1) as Array<{ digest: Buffer; gen: number; used_at: number | null }>).map((row) => ({
            ...row,
            live: true,
          }));
          const grantRow = grant.get(client.grantId) as { revoked_at: number | null; revoked_reason: string | null; refresh_gen: number } | undefined;
          // Any successor of `current` is one whose response the client never got; the fresh ones are
          // those not yet seen at an earlier kill.
          const fresh = successors.length - client.knownOrphans;
          const last = client.lastRequest?.generation === g ? client.lastRequest.outcome : undefined;
          run.afterKills.push({
            kill: g + 1,
            client: client.index,
            grant: grantRow && { revoked_at: grantRow.revoked_at, revoked_reason: grantRow.revoked_reason },
            refreshGen: grantRow?.refresh_gen,
            newest: state(client.current),
            previous: client.previous === undefined ? undefined : state(client.previous),
            successors: successors.map(({ live, gen, used_at }) => ({ live, gen, used_at })),
            fresh,
            lastRequest: last,
          });
          if (last === 'held' || last === 'lost') {
            if (fresh > 0) stats.lostCommitted++;
            else stats.lostNotCommitted++;
          }
          for (const successor of successors.slice(client.knownOrphans))
            run.orphans.push({ client: client.index, parentIndex: client.chain.length - 1, digest: successor.digest, gen: successor.gen });
          client.knownOrphans = successors.length;
        }
      } finally {
        db.close();
      }
    };

    const loops = clients.map((client) => loop(client));
    for (let g = 0; g < kills && !anyFailed(); g++) {
      await until(everyClient((c) => c.checkedIn >= g));
      if (anyFailed()) break;
      await heldArrived;
      // Load for a random moment (not a timing assertion: it only chooses where the kill lands).
      await new Promise((resolve) => setTimeout(resolve, 30 + Math.floor(random() * 270)));
      const exitCode = await server.stop('SIGKILL');
      run.kills.push({ exitCode, signal: server.child.signalCode });
      changed();
      agent.destroy();
      await until(everyClient((c) => c.parkedIn >= g));
      if (anyFailed()) break;
      inspect(g);
      agent = new Agent({ keepAlive: true });
      server = await startServer({ DATA_DIR: dataDir, PUBLIC_PORT: String(port) });
      running.push(server);
      generation = g + 1;
      changed();
    }
    // The last life: every client checks in once more (newest token and access token), then stop.
    if (!anyFailed()) await until(everyClient((c) => c.checkedIn >= generation));
    stopping = true;
    changed();
    if (anyFailed() && !exited()) {
      await server.stop('SIGKILL');
      changed();
    }
    await Promise.all(loops);
    // Idle keep-alive sockets are closed before the clean stop, as a departing Alexa's would be.
    agent.destroy();
    if (!exited()) run.finalExit = await server.stop('SIGTERM');
  } finally {
    agent.destroy();
    // Whatever went wrong, no server outlives the run.
    for (const server of running) if (server.child.exitCode === null && server.child.signalCode === null) await server.stop('SIGKILL');
  }
  run.clients = clients.map(({ index, grantId, chain, failed }) => ({ index, grantId, chain, failed }));
  return run;
}
