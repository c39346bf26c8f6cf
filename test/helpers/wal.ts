/**
 * Commits counted in a WAL file (shared by the tests and the bench; imports nothing of vitest):
 * each commit ends with a frame whose "database size after commit" field is non-zero, and under
 * synchronous=FULL each commit is one fsync of the WAL.
 */
import { existsSync, readFileSync } from 'node:fs';

export interface WalState {
  /** The WAL generation (a checkpoint that restarts the WAL changes it). */
  salt: string;
  commits: number;
}

/** Valid frames of the current WAL generation, and how many of them end a commit. */
export function walCommits(walFile: string): WalState {
  if (!existsSync(walFile)) return { salt: '', commits: 0 };
  const wal = readFileSync(walFile);
  if (wal.length < 32) return { salt: '', commits: 0 };
  const pageSize = wal.readUInt32BE(8);
  const salt1 = wal.readUInt32BE(16);
  const salt2 = wal.readUInt32BE(20);
  let commits = 0;
  for (let offset = 32; offset + 24 + pageSize <= wal.length; offset += 24 + pageSize) {
    if (wal.readUInt32BE(offset + 8) !== salt1 || wal.readUInt32BE(offset + 12) !== salt2) break;
    if (wal.readUInt32BE(offset + 4) !== 0) commits++;
  }
  return { salt: `${salt1}:${salt2}`, commits };
}
