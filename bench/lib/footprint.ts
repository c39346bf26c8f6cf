/**
 * What a refresh costs the storage of a small always-on machine: bytes written to storage per
 * refresh (the server's /proc/<pid>/io write_bytes: WAL, checkpoints and everything else it
 * writes) and bytes the database keeps per refresh (its file after a clean stop, before and after).
 */
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

export interface FootprintResult {
  links: number;
  refreshes: number;
  writtenBytes: number;
  keptBytes: number;
  /** The database file after a clean stop, before and after the refreshes. */
  dbBefore: number;
  dbAfter: number;
}

/** Bytes this process caused to be written to storage (counted when pages are dirtied). */
export function writeBytes(pid: number): number {
  const match = /^write_bytes: (\d+)$/m.exec(readFileSync(`/proc/${pid}/io`, 'utf8'));
  if (!match) throw new Error(`no write_bytes for ${pid}`);
  return Number(match[1]);
}

export function databaseBytes(dataDir: string, file: string): number {
  return statSync(join(dataDir, file)).size;
}
