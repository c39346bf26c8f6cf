/**
 * Clean shutdown under load: SIGTERM while several Alexa accounts refresh and Music Assistant
 * introspects without pause. Requests in flight finish with 2xx (never 5xx), the process exits 0,
 * no WAL is left that would need recovery, and every token handed out still works after a restart.
 * Requests sent after SIGTERM are answered, refused (listener closed), or, on a kept-alive
 * connection, cut off unread when the server closes it (counted apart; a refresh cut off so was
 * never acted on, the database shows).
 */

import { existsSync, statSync } from 'node:fs';
import { Agent } from 'node:http';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { DATABASE_FILE } from '../src/store/index.js';
import { introspectToken, type Outcome, refreshToken, seedGrants } from './helpers/fault.js';
import { freePort, writeOptions } from './helpers/oauth-server.js';
import { type ServerProcess, startServer } from './helpers/server-process.js';
import { tempDir } from './helpers/tmp.js';
import { successorCount } from './helpers/tokens.js';

const CLIENTS = 10;
/** Refreshes done before SIGTERM is sent. */
const LOAD_BEFORE_TERM = 300;

const running: ServerProcess[] = [];
afterEach(async () => {
  for (const server of running.splice(0)) if (server.child.exitCode === null && server.child.signalCode === null) await server.stop('SIGKILL');
});

interface Client {
  index: number;
  current: string;
  access: string[];
  headers: Record<string, string>;
}

describe('SIGTERM under load', () => {
  it('finishes requests in flight with 2xx, exits 0, leaves no WAL, and every token still works after a restart', async () => {
    const dataDir = tempDir();
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    const options = await writeOptions(dataDir, port, { log_level: 'info', trusted_proxies: ['127.0.0.1'] });
    const key = options.encryption_key as string;
    const clients: Client[] = seedGrants(dataDir, key, CLIENTS).map((seeded, index) => ({
      index,
      current: seeded.refreshToken,
      access: [seeded.accessToken],
      headers: { 'x-forwarded-for': `198.51.100.${index + 1}` },
    }));

    const server = await startServer({ DATA_DIR: dataDir, PUBLIC_PORT: String(port) });
    running.push(server);
    const agent = new Agent({ keepAlive: true });
    let termSent = false;
    const before = { refreshes: 0, introspections: 0, inFlightAtTerm: 0, failed: [] as string[] };
    const after = { ok: 0, refused: 0, reset: [] as string[], non2xx: [] as string[] };
    /** Clients whose last refresh was cut off after SIGTERM: the token they presented. */
    const cutOff: Array<{ client: Client; presented: string }> = [];
    let loaded: () => void = () => {};
    const enoughLoad = new Promise<void>((resolve) => (loaded = resolve));

    /** Counts the outcome; true when the request got a 2xx. */
    const record = (client: Client, what: string, sentBeforeTerm: boolean, outcome: Outcome): boolean => {
      const ok = outcome.kind === 'response' && outcome.status >= 200 && outcome.status <= 299;
      const description = outcome.kind === 'response' ? `${outcome.status} ${outcome.text}` : outcome.kind === 'lost' ? outcome.error : 'refused';
      if (sentBeforeTerm) {
        // In flight when SIGTERM was sent (or earlier): must be answered, with 2xx.
        if (!ok) before.failed.push(`client ${client.index} ${what}: ${description}`);
        else if (termSent) before.inFlightAtTerm++;
        return ok;
      }
      if (ok) after.ok++;
      else if (outcome.kind === 'refused') after.refused++;
      // Sent after SIGTERM on a kept-alive connection that the closing server shut: never read.
      else if (outcome.kind === 'lost') after.reset.push(`client ${client.index} ${what}: ${description}`);
      else after.non2xx.push(`client ${client.index} ${what}: ${description}`);
      return ok;
    };

    const loop = async (client: Client): Promise<void> => {
      // Each Alexa refreshes, then Music Assistant introspects its newest access token; again and
      // again until the server is gone (connection refused) or something goes wrong. A request cut
      // off after SIGTERM is followed by another: the agent may first pick other pooled sockets the
      // server has closed (at most one per client), then it must find the listener closed.
      for (let resets = 0; resets <= CLIENTS; ) {
        let sentBeforeTerm = !termSent;
        const presented = client.current;
        const refreshed = await refreshToken(base, presented, client.headers, agent);
        if (!record(client, 'refresh', sentBeforeTerm, refreshed)) {
          if (sentBeforeTerm || refreshed.kind !== 'lost') return;
          cutOff.push({ client, presented });
          resets++;
          continue;
        }
        const json = (refreshed as Outcome & { kind: 'response' }).json!;
        client.current = json.refresh_token as string;
        client.access.push(json.access_token as string);
        if (sentBeforeTerm && ++before.refreshes === LOAD_BEFORE_TERM) loaded();
        sentBeforeTerm = !termSent;
        const info = await introspectToken(base, client.access.at(-1)!, client.headers, agent);
        if (!record(client, 'introspection', sentBeforeTerm, info)) {
          if (sentBeforeTerm || info.kind !== 'lost') return;
          resets++;
          continue;
        }
        if (sentBeforeTerm) before.introspections++;
        if ((info as Outcome & { kind: 'response' }).json?.active !== true) {
          (sentBeforeTerm ? before.failed : after.non2xx).push(`client ${client.index}: its newest access token was not active`);
          return;
        }
      }
    };

    const loops = clients.map((client) => loop(client));
    await enoughLoad;
    const exit = server.stop('SIGTERM');
    termSent = true;
    await Promise.all(loops);
    agent.destroy();
    expect(await exit).toBe(0);
    console.log(
      `fault-shutdown: sent before SIGTERM: ${before.refreshes} refreshes and ${before.introspections} introspections answered, ${before.inFlightAtTerm} of them in flight when it was sent (${before.failed.length} not 2xx); ` +
        `sent after SIGTERM: ${after.ok} answered 2xx, ${after.non2xx.length} other answers, ${after.refused} refused (listener closed), ` +
        `${after.reset.length} on kept-alive connections closed unread (${cutOff.length} of them refreshes)`,
    );
    expect(before.failed).toEqual([]);
    expect(before.inFlightAtTerm).toBeGreaterThan(0);
    expect(after.non2xx).toEqual([]);
    // Every client stopped because the listener was closed, and only then.
    expect(after.refused).toBe(CLIENTS);
    expect(server.output()).toContain('SIGTERM received; finishing requests in flight');
    expect(server.output()).toContain('Stopped; database closed cleanly');

    // Nothing for SQLite to recover: the WAL was checkpointed into the database and truncated.
    const wal = join(dataDir, `${DATABASE_FILE}-wal`);
    if (existsSync(wal)) expect(statSync(wal).size).toBe(0);
    const db = new Database(join(dataDir, DATABASE_FILE), { readonly: true, fileMustExist: true });
    try {
      expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
      expect(db.prepare('SELECT count(*) AS n FROM grants WHERE revoked_at IS NULL').get()).toEqual({ n: CLIENTS });
      // A refresh cut off after SIGTERM was never read, so nothing was issued for it.
      for (const { client, presented } of cutOff) expect(successorCount(db, presented), `client ${client.index}`).toBe(0);
    } finally {
      db.close();
    }

    // After a restart: every access token handed out (before SIGTERM and while draining) is
    // active, and every client's newest refresh token works.
    const again = await startServer({ DATA_DIR: dataDir, PUBLIC_PORT: String(port) });
    running.push(again);
    const verify = new Agent({ keepAlive: true });
    for (const client of clients) {
      // Another address than the load's, so that this check has its own rate-limit budget.
      const headers = { 'x-forwarded-for': `192.0.2.${client.index + 1}` };
      const inactive: string[] = [];
      for (const token of client.access) {
        const info = await introspectToken(base, token, headers, verify);
        if (info.kind !== 'response' || info.status !== 200 || info.json?.active !== true)
          inactive.push(info.kind === 'response' ? `${info.status} ${info.text}` : info.kind);
      }
      expect(inactive, `client ${client.index}: access tokens not active after the restart`).toEqual([]);
      const refreshed = await refreshToken(base, client.current, headers, verify);
      expect(refreshed.kind === 'response' && refreshed.status, `client ${client.index}: newest refresh token after the restart`).toBe(200);
    }
    verify.destroy();
    expect(await again.stop('SIGTERM')).toBe(0);
  });
});
