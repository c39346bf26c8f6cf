/**
 * The index key: the database's secret that every keyed value comes from (blind indexes of user ids
 * and user codes, the two token MAC keys, the cookie and CSRF secrets; context.ts). It is stored
 * encrypted in `meta` and doubles as the key-check row. It is replaced whenever the encryption key
 * changes, so that the old encryption key and an old copy of the database (every backup holds one)
 * give an index key that opens nothing any more (docs/decisions/0010-index-key-rotation.md).
 *
 * The rule: the first time the database is opened with an encryption key that does not open the
 * key-check row (it opens only with a previous key), that opening replaces the index key, in one
 * transaction with everything keyed by it:
 * - blind indexes are recomputed under the new key (schema.ts: INDEX_KEYED_COLUMNS); what cannot be
 *   recomputed goes: pending requests (the user code is not stored) and sessions (their cookies are
 *   signed with the old secret);
 * - live refresh tokens keep working, found by their SHA-256 digest as always; their digests are
 *   also kept as reuse markers in `tokens` (as migration 4 did), so a token live at the rotation and
 *   retired after it is still reuse. Tokens retired before it are no longer told from forgeries;
 * - access tokens issued before it stay good for the rest of their lifetime: the old access-token
 *   MAC key (not the index key) is kept with the time of the rotation, and only tokens issued
 *   before that time open with it (tokens.ts). The lifetime rules bound that to
 *   access_token_ttl_minutes; the key is deleted once the longest lifetime has passed (prune).
 */
import { randomBytes } from 'node:crypto';
import type Database from 'better-sqlite3';
import { ACCESS_TOKEN_TTL_MAX_MINUTES } from '../config/options.js';
import { FernetError } from '../crypto/fernet.js';
import type { KeyRing } from '../crypto/keyring.js';
import { StartupError } from '../errors.js';
import { deriveSecret, openJson, type StoreContext, type Subject, sql, subjectIndex } from './context.js';
import { INDEX_KEYED_COLUMNS } from './schema.js';

export const INDEX_KEY_ROW = 'index_key';
/** {key, replacedAt}: the access-token MAC key of the index key before the last rotation, and when it was replaced. */
const PREVIOUS_ACCESS_KEY_ROW = 'index_key:previous_access_mac';
/** Retired markers never expire; they are deleted with their grant (as migration 4's). */
const NEVER = Number.MAX_SAFE_INTEGER;

/** What replacing the index key did. */
export interface IndexKeyRotation {
  at: number;
  /** Blind indexes recomputed or translated to the new key. */
  recomputed: number;
  /** Audit rows that named a person whom no other row names any more: kept, without a person. */
  unattributed: number;
  /** Rows deleted, by table: pending requests, sessions, notice dismissals of people nothing else names. */
  dropped: Record<string, number>;
  /** Live refresh tokens, whose digests are kept as reuse markers. */
  liveRefreshTokens: number;
}

export interface PreviousAccessKey {
  key: Buffer;
  /** Only tokens issued up to this time open with it. */
  replacedAt: number;
}

/** Opens the key-check row: the index key and which key of the ring opened it; undefined when there is none. Throws FernetError. */
export function openIndexKey(db: Database.Database, keys: KeyRing): { indexKey: Buffer; keyIndex: number } | undefined {
  const row = db.prepare<[string], { value: string }>('SELECT value FROM meta WHERE name = ?').get(INDEX_KEY_ROW);
  if (!row) return undefined;
  const opened = keys.open(row.value);
  return { indexKey: Buffer.from(opened.value, 'base64'), keyIndex: opened.keyIndex };
}

function subjectIdOf(keys: KeyRing, sealed: string): string {
  try {
    return (JSON.parse(keys.decrypt(sealed)) as Subject).id;
  } catch (error) {
    if (!(error instanceof FernetError)) throw error;
    throw new StartupError(
      'The encryption key changed, and replacing the index key needs every stored person, but a stored value opens with none of the configured keys. ' +
        'Put every earlier key back in "previous_encryption_keys" and start again; the index key was left as it was.',
    );
  }
}

/**
 * Replaces the index key if the current encryption key does not open the key-check row (see the
 * module comment). One IMMEDIATE transaction, which reads the row again: of two processes opening
 * the database at once, only the first replaces it. Returns the index key to use.
 */
export function rotateIndexKeyIfNeeded(db: Database.Database, keys: KeyRing, now: number): { indexKey: Buffer; rotation: IndexKeyRotation | undefined } {
  return db
    .transaction(() => {
      const current = openIndexKey(db, keys);
      if (!current) throw new StartupError('The database has no key-check row; it is damaged. Restore it from a backup.');
      if (current.keyIndex === 0) return { indexKey: current.indexKey, rotation: undefined };
      const before = { indexKey: current.indexKey };
      const after = { indexKey: randomBytes(32) };
      const rotation: IndexKeyRotation = {
        at: now,
        recomputed: 0,
        unattributed: 0,
        dropped: {},
        liveRefreshTokens: 0,
      };

      // The people the database names, by their old index (hex): what the translated columns map.
      const people = new Map<string, Buffer>();
      const learn = (sealed: string): Buffer => {
        const id = subjectIdOf(keys, sealed);
        const next = subjectIndex(after, id);
        people.set(subjectIndex(before, id).toString('hex'), next);
        return next;
      };
      for (const { table, column, onRotation } of INDEX_KEYED_COLUMNS) {
        if (onRotation === 'recompute') {
          const rows = db.prepare<[], { r: number; sealed: string }>(`SELECT rowid AS r, subject_enc AS sealed FROM ${table}`).all();
          const update = db.prepare(`UPDATE ${table} SET ${column} = ? WHERE rowid = ?`);
          for (const row of rows) rotation.recomputed += update.run(learn(row.sealed), row.r).changes;
        } else if (onRotation === 'drop' && column === 'subject_index') {
          // About to go, but who decided them is known: their audit rows keep their person.
          for (const row of db.prepare<[], { sealed: string }>(`SELECT subject_enc AS sealed FROM ${table} WHERE subject_enc IS NOT NULL`).all())
            learn(row.sealed);
        }
      }
      for (const { table, column, onRotation } of INDEX_KEYED_COLUMNS) {
        if (onRotation !== 'translate' && onRotation !== 'translate-or-delete') continue;
        const values = db.prepare<[], { v: Buffer }>(`SELECT DISTINCT ${column} AS v FROM ${table} WHERE ${column} IS NOT NULL`).all();
        const translate = db.prepare(`UPDATE ${table} SET ${column} = ? WHERE ${column} = ?`);
        const clear = db.prepare(`UPDATE ${table} SET ${column} = NULL WHERE ${column} = ?`);
        const remove = db.prepare(`DELETE FROM ${table} WHERE ${column} = ?`);
        for (const { v } of values) {
          const next = people.get(v.toString('hex'));
          if (next) rotation.recomputed += translate.run(next, v).changes;
          else if (onRotation === 'translate') rotation.unattributed += clear.run(v).changes;
          else rotation.dropped[table] = (rotation.dropped[table] ?? 0) + remove.run(v).changes;
        }
      }
      for (const table of new Set(INDEX_KEYED_COLUMNS.filter((c) => c.onRotation === 'drop').map((c) => c.table))) {
        rotation.dropped[table] = db.prepare(`DELETE FROM ${table}`).run().changes;
      }
      // Their cookies are signed with a secret derived from the old key: no browser can name them any more.
      rotation.dropped.sessions = db.prepare('DELETE FROM sessions').run().changes;

      // Live refresh tokens stay rows (found by digest); their digests become reuse markers too.
      rotation.liveRefreshTokens = db
        .prepare(
          `INSERT OR IGNORE INTO tokens (digest, kind, grant_id, created_at, expires_at, used_at, retired_at)
          SELECT digest, 'refresh', grant_id, issued_at, ?, used_at, ? FROM refresh_tokens`,
        )
        .run(NEVER, now).changes;

      const previous = { key: deriveSecret(before, 'access-token-mac').toString('base64'), replacedAt: now };
      db.prepare('INSERT OR REPLACE INTO meta (name, value) VALUES (?, ?)').run(PREVIOUS_ACCESS_KEY_ROW, keys.encrypt(JSON.stringify(previous)));
      db.prepare('UPDATE meta SET value = ? WHERE name = ?').run(keys.encrypt(after.indexKey.toString('base64')), INDEX_KEY_ROW);
      return { indexKey: after.indexKey, rotation };
    })
    .immediate();
}

/** The access-token key before the last rotation, while tokens issued with it may still be alive. */
export function previousAccessKey(ctx: StoreContext): PreviousAccessKey | undefined {
  const row = sql<{ value: string }>(ctx, 'SELECT value FROM meta WHERE name = ?').get(PREVIOUS_ACCESS_KEY_ROW);
  if (!row) return undefined;
  const { key, replacedAt } = openJson<{ key: string; replacedAt: number }>(ctx, row.value);
  return { key: Buffer.from(key, 'base64'), replacedAt };
}

/** Deletes the previous access-token key once no access token issued with it can be alive (prune). */
export function endAccessGrace(ctx: StoreContext, now: number): number {
  const previous = previousAccessKey(ctx);
  if (!previous || previous.replacedAt + ACCESS_TOKEN_TTL_MAX_MINUTES * 60_000 > now) return 0;
  return sql(ctx, 'DELETE FROM meta WHERE name = ?').run(PREVIOUS_ACCESS_KEY_ROW).changes;
}
