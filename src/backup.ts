/**
 * Hot backups with the Supervisor. config.yaml runs `backup-snapshot` before a backup and
 * `backup-cleanup` after it, and excludes the live database files, so a backup holds exactly one
 * consistent copy: the snapshot. Restoring a backup gives a data folder with the snapshot and no
 * database; start-up then rebuilds the database from the snapshot.
 */
import { copyFileSync, existsSync, fsyncSync, openSync, closeSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { StartupError } from './errors.js';
import type { Logger } from './log/logger.js';
import { DATABASE_FILE, type Store } from './store/index.js';

/** Must not match the backup_exclude patterns (bare names match in any folder). */
export const SNAPSHOT_FILE = 'alexa-link-backup.db';

function fsyncFile(file: string): void {
  const fd = openSync(file, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Writes the snapshot atomically: to a temporary name, synced, then renamed over the old one. */
export function writeSnapshot(store: Store, dataDir: string): string {
  const target = join(dataDir, SNAPSHOT_FILE);
  const partial = `${target}.partial`;
  rmSync(partial, { force: true });
  store.snapshot(partial);
  fsyncFile(partial);
  renameSync(partial, target);
  return target;
}

export function removeSnapshot(dataDir: string): boolean {
  const target = join(dataDir, SNAPSHOT_FILE);
  const existed = existsSync(target);
  rmSync(target, { force: true });
  rmSync(`${target}.partial`, { force: true });
  return existed;
}

/**
 * On start: no database but a snapshot means a restored backup. The snapshot is checked, copied
 * into place and synced; the snapshot itself is left as it was.
 */
export function restoreFromSnapshot(dataDir: string, logger: Logger): boolean {
  const database = join(dataDir, DATABASE_FILE);
  const snapshot = join(dataDir, SNAPSHOT_FILE);
  if (existsSync(database) || !existsSync(snapshot)) return false;
  const check = new Database(snapshot, { readonly: true, fileMustExist: true });
  let result: string;
  try {
    result = (check.pragma('integrity_check', { simple: true }) as string) ?? 'unknown';
  } catch (error) {
    result = (error as Error).message;
  } finally {
    check.close();
  }
  if (result !== 'ok') throw new StartupError(`The backup snapshot ${snapshot} is damaged (${result}); it was left as it is.`);
  const partial = `${database}.restoring`;
  copyFileSync(snapshot, partial);
  fsyncFile(partial);
  renameSync(partial, database);
  logger.notice(`Restored the database from the backup snapshot ${SNAPSHOT_FILE}`);
  return true;
}
