/**
 * The backup snapshot. The Supervisor archives `/data` minus `backup_exclude` (the live database
 * files and options.json), and runs `backup_pre` only while the add-on runs. So a consistent copy
 * of the database, `alexa-link-backup.db`, is kept in `/data` at all times: written at start when
 * there is none, by `backup_pre`, and on every clean shutdown; never deleted. A restored backup
 * gives a data folder with the snapshot and no database, and start-up rebuilds the database from it.
 */

import { closeSync, copyFileSync, existsSync, fchmodSync, fsyncSync, openSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { Database } from './commonjs.js';
import { KeyRing } from './crypto/keyring.js';
import type { Logger } from './log/logger.js';
import { checkExisting } from './store/database.js';
import { DATABASE_FILE, SNAPSHOT_TAKEN_AT, type Store } from './store/index.js';

/** Must not match the backup_exclude patterns (bare names match in any folder). */
export const SNAPSHOT_FILE = 'alexa-link-backup.db';
/** Temporary files of a snapshot being written or restored; backup_exclude leaves them out. */
const PARTIAL_SUFFIX = '.partial';

function fsyncPath(path: string): void {
  const fd = openSync(path, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/**
 * An empty file that only the owner can read and write (0600 whatever the umask), for SQLite to
 * fill: `VACUUM INTO` writes into an existing empty file and keeps its mode, where a file it
 * created itself would get the umask's mode (0644: world-readable) until someone changed it.
 */
function createOwnerOnly(file: string): void {
  const fd = openSync(file, 'wx', 0o600);
  try {
    fchmodSync(fd, 0o600);
  } finally {
    closeSync(fd);
  }
}

/**
 * Writes the snapshot atomically: a temporary file (named per process, so the CLI and a stopping
 * server never share one), owner-only like the database from the moment it exists, synced,
 * renamed over the previous snapshot, and the folder synced. A kill at any point leaves the
 * previous snapshot whole.
 */
export function writeSnapshot(store: Store, dataDir: string): string {
  const target = join(dataDir, SNAPSHOT_FILE);
  const partial = `${target}.${process.pid}${PARTIAL_SUFFIX}`;
  rmSync(partial, { force: true });
  try {
    createOwnerOnly(partial);
    store.snapshot(partial);
    fsyncPath(partial);
    renameSync(partial, target);
    fsyncPath(dataDir);
  } catch (error) {
    rmSync(partial, { force: true });
    throw error;
  }
  return target;
}

/** backup_post: removes temporary files only; the snapshot stays for the next backup. */
export function removeSnapshotLeftovers(dataDir: string): number {
  let removed = 0;
  for (const name of readdirSync(dataDir)) {
    if (name.startsWith(`${SNAPSHOT_FILE}.`) && name.endsWith(PARTIAL_SUFFIX)) {
      rmSync(join(dataDir, name), { force: true });
      removed++;
    }
  }
  return removed;
}

const sizeOf = (file: string): number | undefined => (existsSync(file) ? statSync(file).size : undefined);

/**
 * A database file that holds nothing: 0 bytes with no WAL content. It counts as missing (a
 * truncated file from a full disk or a bad copy), rather than being silently given a new schema.
 */
function isEmptyDatabase(database: string): boolean {
  return sizeOf(database) === 0 && !sizeOf(`${database}-wal`);
}

function removeDatabaseFiles(database: string): void {
  for (const suffix of ['', '-wal', '-shm']) rmSync(`${database}${suffix}`, { force: true });
}

/** What the snapshot holds, read without changing it: active links and when it was taken. */
function describeSnapshot(snapshot: string, keys: KeyRing): { links: number; takenAt: Date } {
  const db = new Database(snapshot, { readonly: true, fileMustExist: true });
  try {
    const links = db.prepare<[], { links: number }>('SELECT count(*) AS links FROM grants WHERE revoked_at IS NULL').get()?.links ?? 0;
    const row = db.prepare<[string], { value: string }>('SELECT value FROM meta WHERE name = ?').get(SNAPSHOT_TAKEN_AT);
    // Snapshots from 0.1.0 have no such row; the file's time (kept by the backup archive) stands in.
    const takenAt = row ? new Date(Number(keys.decrypt(row.value))) : statSync(snapshot).mtime;
    return { links, takenAt };
  } finally {
    db.close();
  }
}

/**
 * On start, before the store opens. A live database is never touched. No database (or an empty
 * one) and a snapshot means a restored backup: the snapshot is checked (readable, a known schema,
 * a configured key opens it) before anything changes, then copied into place and synced; the
 * snapshot itself stays. Throws StartupError, with nothing changed, when the snapshot is unusable.
 */
export function restoreFromSnapshot(dataDir: string, encryptionKeys: readonly string[], logger: Logger): boolean {
  const database = join(dataDir, DATABASE_FILE);
  const snapshot = join(dataDir, SNAPSHOT_FILE);
  const empty = isEmptyDatabase(database);
  if (existsSync(database) && !empty) return false;
  if (!existsSync(snapshot)) {
    if (empty) {
      logger.warning(`The database ${database} is empty (0 bytes) and there is no backup snapshot: starting with a new, empty database`);
      removeDatabaseFiles(database);
    }
    return false;
  }
  const keys = new KeyRing(encryptionKeys);
  checkExisting(snapshot, keys, 'backup snapshot');
  const { links, takenAt } = describeSnapshot(snapshot, keys);
  if (empty) logger.warning(`The database ${database} is empty (0 bytes); restoring it from the backup snapshot`);
  const partial = `${database}.restoring${PARTIAL_SUFFIX}`;
  copyFileSync(snapshot, partial);
  fsyncPath(partial);
  removeDatabaseFiles(database);
  renameSync(partial, database);
  fsyncPath(dataDir);
  logger.notice(`Restored ${links} link${links === 1 ? '' : 's'} from the backup snapshot of ${takenAt.toISOString()}`);
  return true;
}

/** At start: a data folder without a snapshot gets one, so a backup taken while stopped is never empty. */
export function ensureSnapshot(store: Store, dataDir: string, logger: Logger): void {
  if (existsSync(join(dataDir, SNAPSHOT_FILE))) return;
  try {
    writeSnapshot(store, dataDir);
  } catch (error) {
    logger.error('Writing the backup snapshot failed', { error });
  }
}
