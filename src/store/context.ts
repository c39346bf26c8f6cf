/** What every repository of the store shares: the connection, the keys, the clock. */
import type { KeyRing } from '../crypto/keyring.js';
import { blindIndex } from '../crypto/random.js';
import type { Statement } from 'better-sqlite3';
import type { Db } from './database.js';

export interface StoreContext {
  db: Db;
  keys: KeyRing;
  indexKey: Buffer;
  /** Milliseconds since the epoch; replaceable in tests. */
  now: () => number;
}

/** The Home Assistant user behind a grant, from the ingress X-Remote-User-* headers. */
export interface Subject {
  id: string;
  name?: string | undefined;
  displayName?: string | undefined;
}

const statements = new WeakMap<Db, Map<string, Statement>>();

/**
 * A prepared statement, compiled once per connection: preparing costs more than running the
 * small queries on the request path.
 */
export function sql(ctx: Pick<StoreContext, 'db'>, text: string): Statement {
  let cache = statements.get(ctx.db);
  if (!cache) statements.set(ctx.db, (cache = new Map()));
  let statement = cache.get(text);
  if (!statement) cache.set(text, (statement = ctx.db.prepare(text)));
  return statement;
}

export function sealJson(ctx: StoreContext, value: unknown): string {
  return ctx.keys.encrypt(JSON.stringify(value));
}

export function openJson<T>(ctx: StoreContext, sealed: string): T {
  return JSON.parse(ctx.keys.decrypt(sealed)) as T;
}

export function subjectIndex(ctx: StoreContext, subjectId: string): Buffer {
  return blindIndex(ctx.indexKey, `subject:${subjectId}`);
}
