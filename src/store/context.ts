/** What every repository of the store shares: the connection, the keys, the clock. */
import type { KeyRing } from '../crypto/keyring.js';
import { blindIndex } from '../crypto/random.js';
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

export function sealJson(ctx: StoreContext, value: unknown): string {
  return ctx.keys.encrypt(JSON.stringify(value));
}

export function openJson<T>(ctx: StoreContext, sealed: string): T {
  return JSON.parse(ctx.keys.decrypt(sealed)) as T;
}

export function subjectIndex(ctx: StoreContext, subjectId: string): Buffer {
  return blindIndex(ctx.indexKey, `subject:${subjectId}`);
}
