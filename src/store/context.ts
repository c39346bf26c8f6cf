/** What every repository of the store shares: the connection, the keys, the clock. */

import type { Statement } from 'better-sqlite3';
import type { KeyRing } from '../crypto/keyring.js';
import { blindIndex } from '../crypto/random.js';
import type { Db } from './database.js';
import type { GroupCommit } from './group-commit.js';

export interface StoreContext {
  db: Db;
  keys: KeyRing;
  indexKey: Buffer;
  /** The token endpoint's shared commits; every other use of `db` settles it first (see group-commit.ts). */
  group: GroupCommit;
  /** Milliseconds since the epoch; replaceable in tests. */
  now: () => number;
  /**
   * A grant was revoked in the transaction that is open: once it commits, `listener` runs (the
   * server rewrites the backup snapshot, so that a restore cannot bring the link back).
   */
  revocation: { pending: boolean; listener: (() => void) | undefined };
}

/** The Home Assistant user behind a grant, from the ingress X-Remote-User-* headers. */
export interface Subject {
  id: string;
  name?: string | undefined;
  displayName?: string | undefined;
}

const statements = new WeakMap<Db, Map<string, Statement<unknown[], unknown>>>();

/**
 * A prepared statement, compiled once per connection: preparing costs more than running the
 * small queries on the request path. Commits an open group first, unless called from inside it.
 * `Row` is the shape of what the statement selects: `get` gives `Row | undefined`, `all` `Row[]`.
 */
export function sql<Row = unknown>(ctx: Pick<StoreContext, 'db' | 'group'>, text: string): Statement<unknown[], Row> {
  ctx.group.settle();
  let cache = statements.get(ctx.db);
  if (!cache) {
    cache = new Map();
    statements.set(ctx.db, cache);
  }
  let statement = cache.get(text);
  if (!statement) {
    statement = ctx.db.prepare(text);
    cache.set(text, statement);
  }
  // The one place a row type is asserted: the SQL text beside each call names its columns.
  return statement as Statement<unknown[], Row>;
}

/**
 * Runs `fn` in one IMMEDIATE transaction, after committing an open group (inside a group's write
 * it is part of that write's savepoint; inside another transaction it nests as a savepoint).
 */
export function transaction<T>(ctx: Pick<StoreContext, 'db' | 'group'> & Partial<Pick<StoreContext, 'revocation'>>, fn: () => T): T {
  // Inside a group's write, that write's savepoint already makes `fn` atomic: one savepoint per operation.
  if (ctx.group.writing) return fn();
  ctx.group.settle();
  let result: T;
  try {
    result = ctx.db.transaction(fn).immediate();
  } catch (error) {
    // Rolled back: a revocation in it did not happen.
    if (ctx.revocation && !ctx.db.inTransaction) ctx.revocation.pending = false;
    throw error;
  }
  if (ctx.revocation) afterCommit(ctx as Pick<StoreContext, 'db' | 'revocation'>);
  return result;
}

/** After a COMMIT (a transaction's or a group's): tells the revocation listener, once. */
export function afterCommit(ctx: Pick<StoreContext, 'db' | 'revocation'>): void {
  if (!ctx.revocation.pending || ctx.db.inTransaction) return;
  ctx.revocation.pending = false;
  ctx.revocation.listener?.();
}

export function sealJson(ctx: StoreContext, value: unknown): string {
  return ctx.keys.encrypt(JSON.stringify(value));
}

export function openJson<T>(ctx: StoreContext, sealed: string): T {
  return JSON.parse(ctx.keys.decrypt(sealed)) as T;
}

/** The blind index of a Home Assistant user id (grants, codes, audit events, notice dismissals). */
export function subjectIndex(ctx: Pick<StoreContext, 'indexKey'>, subjectId: string): Buffer {
  return blindIndex(ctx.indexKey, `subject:${subjectId}`);
}

/**
 * A secret for `label`, derived from the index key: stable for as long as the encryption key stays
 * the same, replaced with the index key when it changes (index-key.ts).
 */
export function deriveSecret(ctx: Pick<StoreContext, 'indexKey'>, label: string): Buffer {
  return blindIndex(ctx.indexKey, `derived:${label}`);
}
