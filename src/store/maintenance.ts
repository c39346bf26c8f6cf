/**
 * Work on the whole database: pruning expired rows, re-encrypting under the current key, counts.
 */
import { TUNABLES } from '../config/tunables.js';
import { FernetError } from '../crypto/fernet.js';
import { type StoreContext, sql, transaction } from './context.js';
import { revokeGrantRows } from './grants.js';
import { endAccessGrace } from './index-key.js';
import { ENCRYPTED_COLUMNS } from './schema.js';

const DAY_MS = 86_400_000;

export interface PruneResult {
  pendingRequests: number;
  authorizationCodes: number;
  tokens: number;
  grantsEnded: number;
  grants: number;
  sessions: number;
  auditEvents: number;
  /** The access-token key of before a key change, once no token it sealed can be alive (index-key.ts). */
  previousAccessKey: number;
}

/**
 * Deletes expired rows of tokens (access tokens of before migration 4 and their retired refresh
 * tokens; the list of revoked access tokens), and ends every grant whose refresh tokens have
 * expired unused (then it stays for the history). An indexed range, no table scan.
 */
function endIdleGrants(ctx: StoreContext, now: number): { tokens: number; grantsEnded: number } {
  const tokens =
    sql(ctx, 'DELETE FROM tokens WHERE expires_at <= ?').run(now).changes +
    sql(ctx, 'DELETE FROM revoked_access_tokens WHERE expires_at <= ?').run(now).changes;
  const idle = sql<{ id: string }>(ctx, 'SELECT id FROM grants WHERE revoked_at IS NULL AND refresh_expires_at <= ?').all(now);
  let grantsEnded = 0;
  for (const { id } of idle) if (revokeGrantRows(ctx, id, 'expired', now)) grantsEnded++;
  return { tokens, grantsEnded };
}

/** Deletes what has expired; keeps what replay detection and the panel's history still need. */
export function prune(ctx: StoreContext): PruneResult {
  const now = ctx.now();
  const historyCutoff = now - TUNABLES.store.historyRetentionDays * DAY_MS;
  return transaction(ctx, () => ({
    // A pending request whose code expired is kept until its renewal window ends: the waiting page
    // can still get a new code for it (docs/decisions/0007-code-renewal.md).
    pendingRequests: sql(ctx, "DELETE FROM pending_requests WHERE expires_at <= ? AND (status <> 'pending' OR created_at <= ?)").run(
      now,
      now - TUNABLES.oauth.renewalWindowSeconds * 1000,
    ).changes,
    // Consumed codes are kept a while so that a late replay still revokes what they produced.
    authorizationCodes: sql(ctx, 'DELETE FROM authorization_codes WHERE expires_at <= ?').run(now - TUNABLES.oauth.consumedCodeRetentionSeconds * 1000).changes,
    // Retired refresh tokens need no row: their generation tells (store/tokens.ts).
    ...endIdleGrants(ctx, now),
    grants: sql(ctx, 'DELETE FROM grants WHERE revoked_at <= ? OR expires_at <= ?').run(historyCutoff, historyCutoff).changes,
    sessions: sql(ctx, 'DELETE FROM sessions WHERE expires_at <= ?').run(now).changes,
    auditEvents: sql(ctx, 'DELETE FROM audit_events WHERE at <= ?').run(historyCutoff).changes,
    previousAccessKey: endAccessGrace(ctx, now),
  }));
}

export interface ReencryptProgress {
  table: string;
  done: number;
  total: number;
}

export interface ReencryptResult {
  /** Values moved from an older key to the current one. */
  reencrypted: number;
  /** Values already under the current key. */
  current: number;
}

/**
 * Moves every encrypted value to the current key, one batch (one transaction) per step. Values
 * already under the current key are skipped, so an interrupted pass resumes where it stopped, and
 * a row changed concurrently is only overwritten if it still holds the value that was read.
 * A generator, so the server can run it in the background between requests.
 */
export function* reencryptSteps(ctx: StoreContext, batchSize = 500): Generator<ReencryptProgress, ReencryptResult> {
  const { keys } = ctx;
  const result: ReencryptResult = { reencrypted: 0, current: 0 };
  for (const { table, columns } of ENCRYPTED_COLUMNS) {
    // Through sql() at every use: between steps the token endpoint may have opened a group, and
    // sql() commits it first, so a step reads only committed rows.
    const total = sql<{ n: number }>(ctx, `SELECT count(*) AS n FROM ${table}`).get()!.n;
    const page = `SELECT rowid AS _rowid, ${columns.join(', ')} FROM ${table} WHERE rowid > ? ORDER BY rowid LIMIT ?`;
    let lastRowid = 0;
    let done = 0;
    for (;;) {
      const rows = sql<Record<string, string | number | null>>(ctx, page).all(lastRowid, batchSize);
      if (rows.length === 0) break;
      transaction(ctx, () => {
        for (const row of rows) {
          for (const column of columns) {
            const sealed = row[column];
            if (typeof sealed !== 'string') continue;
            const opened = keys.open(sealed);
            if (opened.keyIndex === 0) {
              result.current++;
              continue;
            }
            sql(ctx, `UPDATE ${table} SET ${column} = ? WHERE rowid = ? AND ${column} = ?`).run(keys.encrypt(opened.value), row._rowid, sealed);
            result.reencrypted++;
          }
        }
      });
      lastRowid = rows[rows.length - 1]!._rowid as number;
      done += rows.length;
      yield { table, done, total };
    }
  }
  return result;
}

export function reencrypt(ctx: StoreContext, options: { batchSize?: number; onProgress?: (progress: ReencryptProgress) => void } = {}): ReencryptResult {
  const steps = reencryptSteps(ctx, options.batchSize);
  for (;;) {
    const step = steps.next();
    if (step.done) return step.value;
    options.onProgress?.(step.value);
  }
}

export interface KeyUsage {
  /** Values each key of the ring opens (index 0: the current key). */
  perKey: number[];
  /** Values no configured key opens. */
  unreadable: number;
}

/** Whether any value still needs one of the previous keys. */
export function previousKeysInUse(usage: KeyUsage): boolean {
  return usage.perKey.slice(1).some((count) => count > 0);
}

/** For each key of the ring, how many encrypted values it opens; values no key opens are counted apart. */
export function keyUsage(ctx: StoreContext): KeyUsage {
  const perKey = new Array<number>(ctx.keys.size).fill(0);
  let unreadable = 0;
  for (const { table, columns } of ENCRYPTED_COLUMNS) {
    for (const column of columns) {
      for (const row of sql<{ v: string }>(ctx, `SELECT ${column} AS v FROM ${table} WHERE ${column} IS NOT NULL`).iterate()) {
        try {
          perKey[ctx.keys.open(row.v).keyIndex]!++;
        } catch (error) {
          if (!(error instanceof FernetError)) throw error;
          unreadable++;
        }
      }
    }
  }
  return { perKey, unreadable };
}

export function counts(ctx: StoreContext): Record<string, number> {
  const count = (text: string): number => sql<{ n: number }>(ctx, text).get(ctx.now())!.n;
  return {
    pendingRequests: count('SELECT count(*) AS n FROM pending_requests WHERE expires_at > ?'),
    activeGrants: count('SELECT count(*) AS n FROM grants WHERE revoked_at IS NULL AND (expires_at IS NULL OR expires_at > ?)'),
    liveRefreshTokens: count('SELECT count(*) AS n FROM refresh_tokens r JOIN grants g ON g.id = r.grant_id WHERE g.refresh_expires_at > ?'),
    sessions: count('SELECT count(*) AS n FROM sessions WHERE expires_at > ?'),
    auditEvents: count('SELECT count(*) AS n FROM audit_events WHERE at <= ?'),
  };
}
