/**
 * Opening the database: checks first, changes after.
 *
 * An existing file is first opened read-only to check its schema version and that a configured key
 * opens the key-check row. Only when both pass is it opened for writing, switched to WAL and
 * migrated. So a wrong key (or a database from a newer version) stops start-up with the file left
 * byte-for-byte as it was. A key ring whose first key does not open the key-check row means the
 * encryption key changed: then the index key is replaced before anything uses it (index-key.ts).
 */

import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type BetterSqlite3 from 'better-sqlite3';
import { Database } from '../commonjs.js';
import { TUNABLES } from '../config/tunables.js';
import type { KeyRing } from '../crypto/keyring.js';
import { StartupError } from '../errors.js';
import { INDEX_KEY_ROW, type IndexKeyRotation, openIndexKey, rotateIndexKeyIfNeeded } from './index-key.js';
import { MIGRATIONS } from './schema.js';

export type Db = BetterSqlite3.Database;

export const DATABASE_FILE = 'alexa-link.db';
/** In a backup snapshot only: when it was taken (encrypted, like every meta value). */
export const SNAPSHOT_TAKEN_AT = 'snapshot:taken_at';

export interface OpenedDatabase {
  db: Db;
  /** Secret for blind indexes (HMACs of user ids and user codes) and derived keys; stored encrypted, replaced when the encryption key changes. */
  indexKey: Buffer;
  /** Set when this opening replaced the index key, because the encryption key changed (index-key.ts). */
  rotation: IndexKeyRotation | undefined;
}

function wrongKeyMessage(file: string, keys: KeyRing, what: string): string {
  return (
    `None of the ${keys.size} configured encryption key(s) opens the ${what} ${file}. ` +
    'If you changed "encryption_key", put the old key back, or keep it in "previous_encryption_keys" while the new one is first. ' +
    'Nothing was changed on disk.'
  );
}

function readIndexKey(db: Db, file: string, keys: KeyRing, what = 'database'): { indexKey: Buffer; keyIndex: number } | undefined {
  try {
    return openIndexKey(db, keys);
  } catch {
    throw new StartupError(wrongKeyMessage(file, keys, what));
  }
}

/**
 * Read-only look at an existing file: version and key. Throws StartupError; never writes the
 * database. (SQLite may create an empty -wal/-shm beside it; they are not removed, because
 * another process, such as the CLI beside the server, may be using them.) `what` names the file
 * in messages: the live database, or a backup snapshot about to be restored.
 */
export function checkExisting(file: string, keys: KeyRing, what = 'database'): void {
  let db: Db;
  try {
    db = new Database(file, { readonly: true, fileMustExist: true });
  } catch (error) {
    throw new StartupError(`Cannot open the ${what} ${file}: ${(error as Error).message}`);
  }
  try {
    let version: number;
    try {
      version = db.pragma('user_version', { simple: true }) as number;
      // quick_check reads every page: a damaged file is caught here, before anything writes to it.
      // Its first finding is enough to refuse (the full report can run to a hundred lines).
      const check = db.pragma('quick_check(1)', { simple: true }) as string;
      if (check !== 'ok') throw new Error(check);
    } catch (error) {
      // One log line: SQLite's report has line breaks, and the advice must not end up lines below.
      const reason = (error as Error).message.replace(/\s*\n\s*/g, ' ');
      throw new StartupError(
        `The ${what} ${file} is not readable (${reason}); ${what === 'database' ? 'restore it from a backup. ' : ''}It was left as it is.`,
      );
    }
    if (version > MIGRATIONS.length) {
      throw new StartupError(`The ${what} ${file} was written by a newer version of Alexa Link (schema ${version}); update the add-on. Nothing was changed.`);
    }
    if (version > 0 && !readIndexKey(db, file, keys, what)) {
      throw new StartupError(
        `The ${what} ${file} has no key-check row; it is damaged.${what === 'database' ? ' Restore it from a backup.' : ''} It was left as it is.`,
      );
    }
  } finally {
    db.close();
  }
}

/** Runs pending migrations. */
function migrate(db: Db): void {
  const version = db.pragma('user_version', { simple: true }) as number;
  if (version >= MIGRATIONS.length) return;
  db.transaction(() => {
    for (let next = version; next < MIGRATIONS.length; next++) {
      db.exec(MIGRATIONS[next]!);
      db.pragma(`user_version = ${next + 1}`);
    }
  }).immediate();
}

export function openDatabase(file: string, keys: KeyRing, now: () => number = Date.now): OpenedDatabase {
  const created = !existsSync(file);
  if (!created) checkExisting(file, keys);
  else mkdirSync(dirname(file), { recursive: true, mode: 0o700 });

  const db = new Database(file);
  // Owner-only: the contents are encrypted, but nobody else on the host needs to read them.
  chmodSync(file, 0o600);
  try {
    // Small pages for a new file: a refresh dirties a handful of pages, and each goes to the WAL
    // whole, so the page size sets the bytes an SD card takes per refresh (an existing file keeps
    // its size: changing it means rewriting the whole database).
    if (created) db.pragma(`page_size = ${TUNABLES.store.pageSize}`);
    db.pragma('journal_mode = WAL');
    // After a checkpoint the WAL file is cut back to this size, so it does not keep its largest size.
    db.pragma(`journal_size_limit = ${TUNABLES.store.walSizeLimitBytes}`);
    // FULL: a token response is only sent after its row is on disk, so a crash never forgets a
    // refresh token that Alexa already holds.
    db.pragma('synchronous = FULL');
    db.pragma(`busy_timeout = ${TUNABLES.store.busyTimeoutMs}`);
    db.pragma('foreign_keys = ON');
    // Deleted rows are overwritten, not left in free pages.
    db.pragma('secure_delete = ON');
    migrate(db);
    const opened = readIndexKey(db, file, keys);
    let indexKey: Buffer;
    let rotation: IndexKeyRotation | undefined;
    if (!opened) {
      indexKey = randomBytes(32);
      db.prepare('INSERT INTO meta (name, value) VALUES (?, ?)').run(INDEX_KEY_ROW, keys.encrypt(indexKey.toString('base64')));
    } else if (opened.keyIndex > 0) {
      // The encryption key changed: a new index key, before anything uses the old one.
      ({ indexKey, rotation } = rotateIndexKeyIfNeeded(db, keys, now()));
    } else {
      indexKey = opened.indexKey;
    }
    return { db, indexKey, rotation };
  } catch (error) {
    db.close();
    throw error;
  }
}
